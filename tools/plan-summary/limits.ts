// The thresholds of the plan review, in one place.

/** Ingress from a range with a shorter prefix than this (wider than a /8) is a warning. */
export const WIDEST_PREFIX = 8;

/** Ports a load balancer's own security group may open to the world. */
export const WEB_PORTS: readonly number[] = [80, 443];
