// /opt/chat/bin/chat-configure-logs, which user data calls with the stack's
// log group: the CloudWatch agent cannot run here, so its control command is
// replaced by a script that records how it was called; the template and the
// configuration written are the real ones.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLOUDWATCH_TEMPLATE_PATH, CONFIGURE_LOGS_PATH } from './imageFiles.js';

interface AgentConfig {
  logs: { logs_collected: { files: { collect_list: Array<{ file_path: string; log_group_name: string; log_stream_name: string }> } } };
}

function setup(t: { after(fn: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'chat-cwlogs-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const calls = join(dir, 'agent-calls');
  const agentCtl = join(dir, 'amazon-cloudwatch-agent-ctl');
  writeFileSync(agentCtl, `#!/usr/bin/env bash\nprintf '%s\\n' "$*" >> '${calls}'\n`, { mode: 0o755 });
  const config = join(dir, 'etc', 'chat.json');
  const run = (...args: string[]) =>
    spawnSync('bash', [CONFIGURE_LOGS_PATH, ...args], {
      env: { PATH: process.env.PATH, CHAT_CW_TEMPLATE: CLOUDWATCH_TEMPLATE_PATH, CHAT_CW_CONFIG: config, CHAT_CW_AGENT_CTL: agentCtl },
      encoding: 'utf8',
    });
  return { run, config, calls };
}

test('the template ships the service log under a log group placeholder', () => {
  const template = JSON.parse(readFileSync(CLOUDWATCH_TEMPLATE_PATH, 'utf8')) as AgentConfig;
  const files = template.logs.logs_collected.files.collect_list;
  const service = files.find((entry) => entry.file_path === '/var/log/chat/service.log');
  assert.ok(service, 'service.log is collected');
  assert.equal(service.log_group_name, '__LOG_GROUP__');
  assert.match(service.log_stream_name, /\{instance_id\}/);
});

test('chat-configure-logs fills in the log group and restarts the agent with the result', (t) => {
  const { run, config, calls } = setup(t);
  const result = run('/chat/prod/service');
  assert.equal(result.status, 0, result.stderr);
  const written = JSON.parse(readFileSync(config, 'utf8')) as AgentConfig;
  const groups = written.logs.logs_collected.files.collect_list.map((entry) => entry.log_group_name);
  assert.ok(groups.length > 0);
  assert.deepEqual([...new Set(groups)], ['/chat/prod/service']);
  assert.equal(readFileSync(config, 'utf8').includes('__LOG_GROUP__'), false);
  assert.equal(readFileSync(calls, 'utf8'), `-a fetch-config -m ec2 -s -c file:${config}\n`);
});

test('chat-configure-logs refuses names CloudWatch would refuse, before touching anything', (t) => {
  const { run, config, calls } = setup(t);
  for (const bad of ['', 'group"with"quotes', 'spaces are not allowed', 'x'.repeat(513)]) {
    const result = run(bad);
    assert.equal(result.status, 2, `accepted ${JSON.stringify(bad)}`);
  }
  assert.equal(run().status, 2, 'no argument is a usage error');
  assert.equal(existsSync(config), false);
  assert.equal(existsSync(calls), false);
});
