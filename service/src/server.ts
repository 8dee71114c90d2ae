// Entry point: `node service/dist/server.js`. Reads the configuration from the
// environment, then runs one member, or with WORKERS > 1 a node:cluster
// primary whose workers each run a member with its own instance id.
import cluster from 'node:cluster';
import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger } from './log.js';
import { drainDeadlineMs, startMember } from './server/app.js';
import { serveClusterMetrics, workerInstanceId } from './metrics.js';

function readConfig(): Config {
  try {
    return loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`invalid configuration: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function runMember(config: Config): Promise<void> {
  const logger = createLogger(config.instanceId, config.logLevel);
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection'));
  let member: Awaited<ReturnType<typeof startMember>>;
  try {
    member = await startMember(config, logger);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'EADDRINUSE' ? `port ${config.port} on ${config.host} is already in use`
      : code === 'EACCES' ? `no permission to listen on port ${config.port}`
      : (error as Error).message;
    // Non-zero, so a supervisor (systemd Restart=on-failure) notices.
    logger.fatal({ err: error }, `cannot start: ${reason}`);
    process.stderr.write(`cannot start: ${reason}\n`);
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    // A second signal (systemd signals the whole group, the primary forwards too) must not cut the drain short.
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    // Whatever happens during the drain, the process is gone by the deadline.
    setTimeout(() => {
      logger.warn('drain deadline reached; exiting');
      process.exit(0);
    }, drainDeadlineMs(config) - 500).unref();
    member.drain().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'drain failed');
        process.exit(0);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function runPrimary(config: Config): void {
  const logger = createLogger(config.instanceId, config.logLevel);
  let stopping = false;
  const fork = (index: number) => {
    const worker = cluster.fork({ INSTANCE_ID: workerInstanceId(config.instanceId, index), WORKERS: '1' });
    worker.on('exit', (code, signal) => {
      if (stopping) return;
      logger.error({ worker: index, code, signal }, 'worker died; starting another');
      setTimeout(() => fork(index), 1000);
    });
  };
  // A scrape of any worker answers for the whole instance.
  serveClusterMetrics();
  for (let index = 1; index <= config.workers; index++) fork(index);
  logger.info({ workers: config.workers }, 'started workers');
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill(signal);
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    }, 100);
    setTimeout(() => process.exit(0), drainDeadlineMs(config)).unref();
    void check;
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

const config = readConfig();
if (config.workers > 1 && cluster.isPrimary) runPrimary(config);
else void runMember(config);
