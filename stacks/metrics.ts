// What the instances publish to CloudWatch and what the stacks read back: one
// contract for the CloudWatch agent's Prometheus scrape (packer/files/
// cloudwatch-agent.json, test/packer checks it against this module), the
// connections target-tracking policy and the alarms.
import { DEFAULT_PORT, PATHS } from '../service/src/defaults.js';

/** Namespace the CloudWatch agent writes the service's Prometheus metrics to. */
export const SERVICE_METRICS_NAMESPACE = 'ChatService';

/** The one dimension every published metric carries (a scrape-config label the agent turns into a dimension). */
export const SERVICE_METRICS_DIMENSION = 'AutoScalingGroupName';

/** Service metrics (names as /metrics exposes them) the agent publishes. */
export const PUBLISHED_METRICS = {
  /** Open WebSockets of the whole instance: the scaling signal. */
  connections: 'chat_connections',
  /** Message frames written to clients (a counter; the agent publishes per-interval deltas). */
  deliveries: 'chat_messages_delivered_total',
  /** Errors the Redis connections report (a counter; published as deltas). */
  redisErrors: 'chat_redis_errors_total',
  /** Reconnections to Redis: each one follows a Redis error or cut. */
  redisReconnects: 'chat_redis_reconnects_total',
  /** 0 while the instance has no Redis connection. */
  redisConnected: 'chat_bus_connected',
  /** p99 of the event-loop delay (prom-client default metric). */
  eventLoopLag: 'nodejs_eventloop_lag_p99_seconds',
} as const;

/** Where the agent scrapes: the service's own port, on loopback. */
export const SCRAPE_TARGET = `127.0.0.1:${DEFAULT_PORT}`;
export const SCRAPE_PATH = PATHS.metrics;
