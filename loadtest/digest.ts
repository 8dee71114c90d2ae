// The two figures a reader looks for first, taken from the JSON summary k6
// wrote (loadtest/lib/summary.js): how connections spread over the instances,
// and what share of deliveries crossed from one instance to another.

export interface SummaryFile {
  connectionsPerInstance: Record<string, number>;
  data: {
    metrics: Record<string, { values?: Record<string, number>; thresholds?: Record<string, { ok: boolean }> } | undefined>;
    state?: { testRunDurationMs?: number };
  };
}

export function count(summary: SummaryFile, metric: string): number {
  return summary.data.metrics[metric]?.values?.count ?? 0;
}

/** Percentage of deliveries whose message entered through another instance than the receiver's. */
export function crossInstanceShare(summary: SummaryFile): number {
  const received = count(summary, 'messages_received');
  return received > 0 ? (100 * count(summary, 'cross_instance_deliveries')) / received : 0;
}

export function digest(summary: SummaryFile): string {
  const perInstance = Object.entries(summary.connectionsPerInstance)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([instance, n]) => `${instance} ${n}`)
    .join(', ');
  const received = count(summary, 'messages_received');
  const cross = count(summary, 'cross_instance_deliveries');
  const share = crossInstanceShare(summary).toFixed(1);
  return [
    `connections per instance: ${perInstance || 'none'}`,
    `cross-instance share: ${share}% (${cross} of ${received} deliveries)`,
    `missing ${count(summary, 'messages_missing')}, duplicated ${count(summary, 'messages_duplicated')}`,
  ].join('; ');
}
