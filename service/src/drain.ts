// The timings of taking an instance out of service, in one place. The service
// reads its defaults here, the stacks derive the target group's deregistration
// delay and the termination hook's timeout from them, and a test holds the
// AMI's systemd unit (TimeoutStopSec) to STOP_TIMEOUT_SECONDS.
//
// The sequence on scale-in or instance refresh (AWS: an instance leaving a group
// behind a load balancer is deregistered first; only once deregistration has
// completed does the termination hook hold it in Terminating:Wait):
//   t0            the group starts terminating: the target turns "draining" (no
//                 new connections) and IMDS reports target-lifecycle-state Terminated
//   t0 + poll     the drain watcher sees it and stops chat.service (SIGTERM):
//                 /readyz answers 503, upgrades are refused
//   + drain       the service closes every WebSocket with 1001 over the close window
//   + close       the process has exited; the watcher completes the hook
//   deregistration delay = poll + drain + close + margin: the balancer never
//                 cuts a socket the service has not closed itself
//   hook timeout  = poll + systemd stop timeout + margin: if the watcher is gone
//                 the instance is still let go, but never before a clean stop

/** The watcher asks IMDS for the target lifecycle state this often. */
export const DRAIN_POLL_SECONDS = 5;
/** After SIGTERM the service keeps its sockets this long (DRAIN_SECONDS default). */
export const DEFAULT_DRAIN_SECONDS = 10;
/** Then it closes them with 1001 over this window, and the process exits by its end. */
export const DRAIN_EXIT_GRACE_SECONDS = 10;
/** Slack on every bound that another component enforces. */
export const DRAIN_MARGIN_SECONDS = 10;

/** systemd's TimeoutStopSec: SIGKILL only after a clean stop had its full time. */
export const STOP_TIMEOUT_SECONDS = DEFAULT_DRAIN_SECONDS + DRAIN_EXIT_GRACE_SECONDS + DRAIN_MARGIN_SECONDS;

/** Target group deregistration delay: longer than noticing plus the whole clean stop. */
export const DEREGISTRATION_DELAY_SECONDS = DRAIN_POLL_SECONDS + DEFAULT_DRAIN_SECONDS + DRAIN_EXIT_GRACE_SECONDS + DRAIN_MARGIN_SECONDS;

/** Termination lifecycle hook timeout: the most a watcher needs to release it (30 s is AWS's minimum). */
export const LIFECYCLE_HOOK_TIMEOUT_SECONDS = Math.max(30, DRAIN_POLL_SECONDS + STOP_TIMEOUT_SECONDS + DRAIN_MARGIN_SECONDS);
