// docs/performance.md ends with the sharded-Redis section generated from the
// committed bench/results/shards.json (npm run bench:shards); the section's
// figures are what that file says.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { shardsSection, type ShardsResults } from '../../bench/shardsDoc.js';

const results = JSON.parse(readFileSync('bench/results/shards.json', 'utf8')) as ShardsResults;

it('docs/performance.md ends with the section made from bench/results/shards.json', () => {
  const doc = readFileSync('docs/performance.md', 'utf8');
  assert.ok(doc.endsWith(`\n${shardsSection(results)}`), 'the sharded-Redis section is stale: regenerate it (npm run docs:figures)');
});

it('the section states the medians and ratios of the runs it lists', () => {
  const section = shardsSection(results);
  const { one, three } = results.summary;
  assert.ok(section.includes(`| busiest primary, µs CPU per delivery | ${one.busiestShardCpuUsPerDelivery} | ${three.busiestShardCpuUsPerDelivery} | ${results.summary.busiestShardRatio} |`));
  assert.equal(results.runs.map((run) => run.shards).join(','), results.workload.order.join(','));
  // Each median is the mean of its two runs.
  const busiest = (shards: number) => results.runs.filter((run) => run.shards === shards).map((run) => run.busiestShardCpuUsPerDelivery);
  const [a, b] = busiest(3);
  assert.equal(three.busiestShardCpuUsPerDelivery, Math.round(((a + b) / 2) * 100) / 100);
  assert.equal(one.busiestShardCpuUsPerDelivery, Math.round(((busiest(1)[0] + busiest(1)[1]) / 2) * 100) / 100);
});
