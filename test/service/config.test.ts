import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { ConfigError, loadConfig } from '../../service/src/config.js';

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const config = loadConfig({ INSTANCE_ID: 'x' });
    assert.deepEqual(
      { ...config, instanceId: undefined, trustedProxies: undefined },
      {
        port: 8080,
        host: '0.0.0.0',
        redisUrl: undefined,
        redisMode: 'single',
        redisIamAuth: undefined,
        instanceId: undefined,
        historyLimit: 1000,
        joinHistory: 50,
        maxTextBytes: 4096,
        maxRoomsPerConnection: 20,
        rateLimit: 20,
        allowedOrigins: [],
        drainSeconds: 10,
        workers: 1,
        logLevel: 'info',
        pingIntervalMs: 25000,
        maxBufferedBytes: 1048576,
        maxConnections: 20000,
        maxConnectionsPerAddress: 0,
        trustedProxies: undefined,
        trustedProxyList: [],
        historyTtlMs: 0,
        auth: { mode: 'none' },
        publishApi: undefined,
      },
    );
    assert.match(loadConfig({}).instanceId, /-\d+$/, 'hostname-pid');
  });

  it('reads every variable', () => {
    const config = loadConfig({
      PORT: '9000',
      HOST: '127.0.0.1',
      REDIS_URL: 'rediss://user:secret@cache.example:6379',
      INSTANCE_ID: 'i-0abc',
      HISTORY_LIMIT: '10',
      JOIN_HISTORY: '5',
      MAX_TEXT_BYTES: '100',
      MAX_ROOMS_PER_CONNECTION: '3',
      RATE_LIMIT: '2.5',
      ALLOWED_ORIGINS: 'https://a.example, http://localhost:8443',
      DRAIN_SECONDS: '0',
      WORKERS: 'auto',
      LOG_LEVEL: 'warn',
      MAX_CONNECTIONS: '500',
      MAX_CONNECTIONS_PER_ADDRESS: '7',
      TRUSTED_PROXIES: '10.0.0.0/16, 192.168.1.5, fd00::/8',
      HISTORY_TTL: '86400',
    });
    assert.equal(config.maxConnections, 500);
    assert.equal(config.maxConnectionsPerAddress, 7);
    assert.deepEqual(config.trustedProxyList, ['10.0.0.0/16', '192.168.1.5', 'fd00::/8']);
    assert.ok(config.trustedProxies.check('10.0.255.1', 'ipv4'));
    assert.ok(!config.trustedProxies.check('10.1.0.1', 'ipv4'));
    assert.ok(config.trustedProxies.check('192.168.1.5', 'ipv4'));
    assert.ok(config.trustedProxies.check('fd00::1', 'ipv6'));
    assert.equal(config.historyTtlMs, 86_400_000);
    assert.equal(config.port, 9000);
    assert.equal(config.redisUrl, 'rediss://user:secret@cache.example:6379');
    assert.deepEqual(config.allowedOrigins, ['https://a.example', 'http://localhost:8443']);
    assert.equal(config.rateLimit, 2.5);
    assert.equal(config.workers, availableParallelism());
    assert.equal(config.drainSeconds, 0);
  });

  const bad: Array<[string, string]> = [
    ['PORT', 'abc'],
    ['PORT', '70000'],
    ['PORT', '1.5'],
    ['REDIS_URL', 'http://x'],
    ['REDIS_URL', 'not a url'],
    ['INSTANCE_ID', 'has space'],
    ['HISTORY_LIMIT', '0'],
    ['JOIN_HISTORY', '2000'],
    ['MAX_TEXT_BYTES', '0'],
    ['MAX_ROOMS_PER_CONNECTION', '-1'],
    ['RATE_LIMIT', '0'],
    ['RATE_LIMIT', 'fast'],
    ['ALLOWED_ORIGINS', 'example.com'],
    ['ALLOWED_ORIGINS', 'https://a.example/path'],
    ['DRAIN_SECONDS', '-5'],
    ['WORKERS', 'many'],
    ['WORKERS', '0'],
    ['LOG_LEVEL', 'loud'],
    ['MAX_CONNECTIONS', '0'],
    ['MAX_CONNECTIONS_PER_ADDRESS', 'lots'],
    ['TRUSTED_PROXIES', '10.0.0.0/33'],
    ['TRUSTED_PROXIES', 'alb.internal'],
    ['TRUSTED_PROXIES', '10.0.0.0/8/1'],
    ['HISTORY_TTL', '-1'],
    ['HISTORY_TTL', '1h'],
  ];
  for (const [variable, value] of bad) {
    it(`refuses ${variable}=${JSON.stringify(value)} naming the variable`, () => {
      assert.throws(
        () => loadConfig({ INSTANCE_ID: 'x', [variable]: value }),
        (error: unknown) => error instanceof ConfigError && error.variable === variable && error.message.startsWith(`${variable} must be`),
      );
    });
  }

  it('never prints a Redis password in the error', () => {
    assert.throws(() => loadConfig({ REDIS_URL: 'http://:hunter2@x' }), (error: Error) => !error.message.includes('hunter2'));
  });

  it('exits non-zero, saying so, when its port is taken', async () => {
    const { createServer } = await import('node:net');
    const blocker = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => blocker.once('listening', resolve));
    try {
      const port = (blocker.address() as { port: number }).port;
      const result = spawnSync(process.execPath, ['service/dist/server.js'], {
        env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'silent', REDIS_URL: '' },
        encoding: 'utf8',
        timeout: 10_000,
      });
      assert.equal(result.status, 1);
      assert.match(result.stderr, new RegExp(`cannot start: port ${port} on 127\\.0\\.0\\.1 is already in use`));
    } finally {
      blocker.close();
    }
  });

  it('makes the server exit non-zero with one line naming the variable', () => {
    const result = spawnSync(process.execPath, ['service/dist/server.js'], {
      env: { ...process.env, PORT: 'eighty' },
      encoding: 'utf8',
      timeout: 10_000,
    });
    assert.notEqual(result.status, 0);
    assert.equal(result.stderr, 'invalid configuration: PORT must be an integer from 0 to 65535 (got "eighty")\n');
  });
});
