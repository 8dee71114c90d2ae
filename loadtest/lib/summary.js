// The end of a run: the raw summary as JSON, and a readable report (stdout and
// a Markdown file) with the figures that matter for chat: delivery, loss,
// latency, connections per instance and the cross-instance share.

const CONNECTED = /^connected to (.+)$/;

function count(data, name) {
  return data.metrics[name]?.values?.count ?? 0;
}

function trend(data, name, stat) {
  const value = data.metrics[name]?.values?.[stat];
  return value === undefined ? 'n/a' : `${value.toFixed(1)} ms`;
}

/** "passes of total" of the per-member cross-instance rate. */
function crossedMembers(data) {
  const values = data.metrics.cross_instance_members?.values;
  return values === undefined ? 'n/a' : `${values.passes} of ${values.passes + values.fails}`;
}

/** "passes of total" of the per-member distinct-users rate, when it was sampled. */
function distinctUsersMembers(data) {
  const values = data.metrics.presence_distinct_users?.values;
  return values === undefined ? undefined : `${values.passes} of ${values.passes + values.fails}`;
}

/** Connections per instance, from the `connected to <instance>` checks. */
export function connectionsPerInstance(data) {
  const result = {};
  for (const check of data.root_group?.checks ?? []) {
    const match = CONNECTED.exec(check.name);
    if (match) result[match[1]] = check.passes;
  }
  return result;
}

/** The thresholds a run crossed, as `metric: expression`. */
export function failedThresholds(data) {
  // Sorted: k6 hands metrics over in no fixed order, and the report should read the same every run.
  return Object.entries(data.metrics)
    .flatMap(([name, metric]) => Object.entries(metric?.thresholds ?? {}).filter(([, t]) => !t.ok).map(([expr]) => `${name}: ${expr}`))
    .sort();
}

export function report(data, run) {
  const received = count(data, 'messages_received');
  const cross = count(data, 'cross_instance_deliveries');
  const perInstance = connectionsPerInstance(data);
  const seconds = (data.state?.testRunDurationMs ?? 0) / 1000;
  const failed = failedThresholds(data);
  const lines = [
    `# k6 chat run: ${run.scenario}`,
    '',
    `target ${run.target}; rooms of ${run.shape.roomSize}, ${run.shape.messages} messages per member at ${run.shape.rate}/s; ${seconds.toFixed(1)} s`,
    '',
    '| figure | value |',
    '|---|---|',
    `| connections | ${Object.values(perInstance).reduce((a, b) => a + b, 0)} |`,
    `| messages sent | ${count(data, 'messages_sent')} |`,
    `| messages received | ${received} (${seconds > 0 ? (received / seconds).toFixed(0) : 'n/a'}/s over the run) |`,
    `| missing / duplicated / out of order | ${count(data, 'messages_missing')} / ${count(data, 'messages_duplicated')} / ${count(data, 'messages_out_of_order')} |`,
    `| cross-instance deliveries | ${cross} (${received > 0 ? ((100 * cross) / received).toFixed(1) : '0.0'}% of received) |`,
    `| members that received from another instance | ${crossedMembers(data)} |`,
    ...(distinctUsersMembers(data) === undefined ? [] : [`| members whose full room counted each member as its own user | ${distinctUsersMembers(data)} |`]),
    `| delivery latency p50 / p95 / p99 / max | ${trend(data, 'delivery_latency', 'med')} / ${trend(data, 'delivery_latency', 'p(95)')} / ${trend(data, 'delivery_latency', 'p(99)')} / ${trend(data, 'delivery_latency', 'max')} |`,
    `| connect time p95 | ${trend(data, 'ws_connect_time', 'p(95)')} |`,
    `| server error frames | ${count(data, 'server_errors')} |`,
    '',
    'connections per instance:',
    ...Object.entries(perInstance)
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([instance, n]) => `- ${instance}: ${n}`),
    '',
    failed.length === 0 ? 'all thresholds passed' : `FAILED thresholds:\n${failed.map((f) => `- ${f}`).join('\n')}`,
    '',
  ];
  return lines.join('\n');
}

export function summarize(data, run) {
  const text = report(data, run);
  const out = { stdout: text };
  if (__ENV.SUMMARY_JSON) out[__ENV.SUMMARY_JSON] = JSON.stringify({ run, connectionsPerInstance: connectionsPerInstance(data), data }, null, 2);
  if (__ENV.REPORT_MD) out[__ENV.REPORT_MD] = text;
  return out;
}
