// /opt/chat/bin/chat-configure-logs, which user data calls with the stack's
// log group and Auto Scaling group: the CloudWatch agent cannot run here, so
// its control command is replaced by a script that records how it was called;
// the templates and the configuration written are the real ones. The metrics
// half checks the agent's Prometheus pipeline against stacks/metrics.ts, the
// contract the scaling policy and the alarms read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOUDWATCH_TEMPLATE_PATH, CONFIGURE_LOGS_PATH, SCRAPE_TEMPLATE_PATH } from './imageFiles.js';
import { PUBLISHED_METRICS, SCRAPE_PATH, SCRAPE_TARGET, SERVICE_METRICS_DIMENSION, SERVICE_METRICS_NAMESPACE } from '../../stacks/metrics.js';
import { Metrics } from '../../service/src/metrics.js';

interface AgentConfig {
  logs: {
    logs_collected: { files: { collect_list: Array<{ file_path: string; log_group_name: string; log_stream_name: string }> } };
    metrics_collected: {
      prometheus: {
        log_group_name: string;
        prometheus_config_path: string;
        emf_processor: {
          metric_namespace: string;
          metric_declaration: Array<{ source_labels: string[]; label_matcher: string; dimensions: string[][]; metric_selectors: string[] }>;
        };
      };
    };
  };
}

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'chat-cwlogs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const calls = join(dir, 'agent-calls');
  const agentCtl = join(dir, 'amazon-cloudwatch-agent-ctl');
  writeFileSync(agentCtl, `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> '${calls}'\n`, { mode: 0o755 });
  const config = join(dir, 'etc', 'chat.json');
  const scrape = join(dir, 'etc', 'chat-prometheus.yaml');
  const run = (...args: string[]) =>
    spawnSync('bash', [CONFIGURE_LOGS_PATH, ...args], {
      env: {
        PATH: process.env.PATH,
        CHAT_CW_TEMPLATE: CLOUDWATCH_TEMPLATE_PATH,
        CHAT_CW_CONFIG: config,
        CHAT_PROMETHEUS_TEMPLATE: SCRAPE_TEMPLATE_PATH,
        CHAT_PROMETHEUS_CONFIG: scrape,
        CHAT_CW_AGENT_CTL: agentCtl,
      },
      encoding: 'utf8',
    });
  return { run, config, scrape, calls };
}

const readTemplate = () => JSON.parse(readFileSync(CLOUDWATCH_TEMPLATE_PATH, 'utf8')) as AgentConfig;

test('the template ships the service log under a log group placeholder', () => {
  const files = readTemplate().logs.logs_collected.files.collect_list;
  const service = files.find((entry) => entry.file_path === '/var/log/chat/service.log');
  assert.ok(service, 'service.log is collected');
  assert.equal(service.log_group_name, '__LOG_GROUP__');
  assert.match(service.log_stream_name, /\{instance_id\}/);
});

test('chat-configure-logs fills in the log group and the group name, then restarts the agent with the result', (t) => {
  const { run, config, scrape, calls } = setup(t);
  const result = run('/chat/prod/service', 'chat-prod');
  assert.equal(result.status, 0, result.stderr);
  const written = JSON.parse(readFileSync(config, 'utf8')) as AgentConfig;
  const groups = written.logs.logs_collected.files.collect_list.map((entry) => entry.log_group_name);
  assert.ok(groups.length > 0);
  assert.deepEqual([...new Set(groups)], ['/chat/prod/service']);
  assert.equal(written.logs.metrics_collected.prometheus.log_group_name, '/chat/prod/service');
  assert.equal(readFileSync(config, 'utf8').includes('__LOG_GROUP__'), false);
  const scrapeText = readFileSync(scrape, 'utf8');
  assert.match(scrapeText, new RegExp(`^ +${SERVICE_METRICS_DIMENSION}: chat-prod$`, 'm'));
  assert.equal(scrapeText.includes('__AUTO_SCALING_GROUP__'), false);
  assert.equal(readFileSync(calls, 'utf8'), `-a fetch-config -m ec2 -s -c file:${config}\n`);
});

test('chat-configure-logs refuses names CloudWatch would refuse, before touching anything', (t) => {
  const { run, config, scrape, calls } = setup(t);
  for (const bad of ['', 'group"with"quotes', 'spaces are not allowed', 'x'.repeat(513)]) {
    const result = run(bad, 'chat-prod');
    assert.equal(result.status, 2, `accepted ${JSON.stringify(bad)}`);
  }
  for (const bad of ['', 'a b', 'x: y', 'chat-prod\nnext: 1']) {
    assert.equal(run('/chat/prod/service', bad).status, 2, `accepted group ${JSON.stringify(bad)}`);
  }
  assert.equal(run().status, 2, 'no argument is a usage error');
  assert.equal(run('/chat/prod/service').status, 2, 'one argument is a usage error');
  assert.equal(existsSync(config), false);
  assert.equal(existsSync(scrape), false);
  assert.equal(existsSync(calls), false);
});

test('the agent scrapes /metrics on loopback and reads the scrape file chat-configure-logs writes', () => {
  const prometheus = readTemplate().logs.metrics_collected.prometheus;
  const script = readFileSync(CONFIGURE_LOGS_PATH, 'utf8');
  assert.ok(script.includes(`CHAT_PROMETHEUS_CONFIG:-${prometheus.prometheus_config_path}}`), 'the agent reads the file the script writes');
  const scrape = readFileSync(SCRAPE_TEMPLATE_PATH, 'utf8');
  assert.match(scrape, /^ {2}- job_name: chat$/m);
  assert.match(scrape, new RegExp(`^ +metrics_path: ${SCRAPE_PATH}$`, 'm'));
  assert.match(scrape, new RegExp(`^ +- targets: \\['${SCRAPE_TARGET}'\\]$`, 'm'));
});

test('the agent publishes exactly the contract of stacks/metrics.ts, and the service exposes each metric', async () => {
  const emf = readTemplate().logs.metrics_collected.prometheus.emf_processor;
  assert.equal(emf.metric_namespace, SERVICE_METRICS_NAMESPACE);
  assert.equal(emf.metric_declaration.length, 1);
  const [declaration] = emf.metric_declaration;
  assert.deepEqual(declaration.source_labels, ['job']);
  assert.ok(new RegExp(declaration.label_matcher).test('chat'));
  assert.deepEqual(declaration.dimensions, [[SERVICE_METRICS_DIMENSION]]);
  assert.deepEqual(
    declaration.metric_selectors.slice().sort(),
    Object.values(PUBLISHED_METRICS).map((name) => `^${name}$`).sort(),
  );
  // Every selector matches a sample of the service's real /metrics text.
  const text = await new Metrics('i-0abc', { connections: () => 7, rooms: () => 1, busReady: () => true, draining: () => false }).render();
  const sampled = new Set(text.split('\n').filter((line) => line && !line.startsWith('#')).map((line) => line.split(/[{ ]/, 1)[0]));
  for (const selector of declaration.metric_selectors) {
    assert.ok([...sampled].some((name) => new RegExp(selector).test(name)), `${selector} matches nothing the service exposes`);
  }
  assert.match(text, /^chat_connections\{instance="i-0abc"\} 7$/m);
});
