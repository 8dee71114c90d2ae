// Types of scenarios.js for the Node wrapper (run.ts), which reads the report period.
export interface Scenario {
  shape: { roomSize: number; messages: number; rate: number; fillTimeoutMs: number; settleMs: number };
  scenarios: Record<string, unknown>;
  /** k6 web dashboard sampling period (K6_WEB_DASHBOARD_PERIOD). */
  reportPeriod: string;
}
export const SCENARIOS: Record<string, Scenario>;
/** The VUs of a scenario (one connection each): the sum over its executors. */
export function scenarioVus(name: string): number;
