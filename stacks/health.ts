// The health model of the fleet, in one place.
//
// Two questions, two signals:
//   - Should this instance get new connections? The load balancer's target
//     health check on /readyz (503 without Redis, or while draining). It only
//     routes; it never replaces an instance.
//   - Should this instance be replaced? EC2 status checks, plus the liveness
//     watchdog on the instance (packer/files/chat-liveness): it asks /healthz,
//     which answers without Redis, and only when the process has been dead or
//     wedged for LIVENESS_FAILURES probes in a row does it mark the instance
//     Unhealthy (autoscaling:SetInstanceHealth). A Redis outage of any length
//     turns readiness off and leaves every instance in place.
import { PATHS } from '../service/src/defaults.js';

/** The Auto Scaling group's own health check: EC2 only, never the load balancer's readiness. */
export const GROUP_HEALTH_CHECK_TYPE = 'EC2';

/** Target group health check (routing only). */
export const READINESS = {
  path: PATHS.ready,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
} as const;

/** The watchdog's probe of /healthz on loopback. */
export const LIVENESS = {
  path: PATHS.health,
  intervalSeconds: 10,
  timeoutSeconds: 5,
  /** Probes failed in a row before the instance is reported: a minute dead or wedged, far past a crash-restart (2 s). */
  failures: 6,
} as const;
