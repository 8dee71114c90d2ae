// Ingress rules in the three styles the AWS provider offers, and which
// security groups belong to a load balancer (by id when known, otherwise by
// the references in the configuration).
import { isObject, type Plan, type ResourceChange } from './plan.js';
import { blocks, strings } from './values.js';
import { WEB_PORTS, WIDEST_PREFIX } from './limits.js';

const LOAD_BALANCERS = new Set(['aws_lb', 'aws_alb']);

/** Prefix length of an IPv4 or IPv6 CIDR, or undefined for anything else. */
export function prefixLength(cidr: string): number | undefined {
  const match = /^([0-9a-fA-F:.]+)\/(\d{1,3})$/.exec(cidr.trim());
  if (!match) return undefined;
  const bits = Number(match[2]);
  const limit = match[1].includes(':') ? 128 : 32;
  return bits <= limit ? bits : undefined;
}

/** Wider than /8: more addresses than a whole class-A network (0.0.0.0/0, 0.0.0.0/1, ::/0, 2000::/3 …). */
export const isWide = (cidr: string) => (prefixLength(cidr) ?? Number.POSITIVE_INFINITY) < WIDEST_PREFIX;

export interface LoadBalancerGroups {
  ids: ReadonlySet<string>;
  addresses: ReadonlySet<string>;
}

/** A reference such as module.net.aws_security_group.alb.id → module.net.aws_security_group.alb */
function groupAddresses(expression: unknown, modulePrefix: string): string[] {
  if (!isObject(expression)) return [];
  const references = strings(expression.references);
  return references.flatMap((ref) => {
    const match = /^((?:module\.[^.]+\.)*aws_security_group\.[^.[]+)/.exec(ref);
    return match ? [modulePrefix + match[1]] : [];
  });
}

const modulePrefixOf = (configAddress: string) => /^((?:module\.[^.]+\.)*)/.exec(configAddress)?.[1] ?? '';

export function loadBalancerGroups(plan: Plan): LoadBalancerGroups {
  const ids = new Set<string>();
  const addresses = new Set<string>();
  for (const change of plan.changes.filter((c) => LOAD_BALANCERS.has(c.type))) {
    for (const side of [change.before, change.after]) for (const id of strings(side?.security_groups)) ids.add(id);
  }
  for (const known of plan.knownValues.filter((v) => LOAD_BALANCERS.has(v.type))) for (const id of strings(known.values.security_groups)) ids.add(id);
  for (const [address, expressions] of plan.expressions) {
    const type = /(?:^|\.)([a-z0-9_]+)\.[^.]+$/.exec(address)?.[1];
    if (type === undefined || !LOAD_BALANCERS.has(type)) continue;
    for (const group of groupAddresses(expressions.security_groups, modulePrefixOf(address))) addresses.add(group);
  }
  return { ids, addresses };
}

/** Does this security group, or the group this rule belongs to, front a load balancer? */
function onLoadBalancer(change: ResourceChange, values: Record<string, unknown>, plan: Plan, groups: LoadBalancerGroups): boolean {
  if (change.type === 'aws_security_group') return groups.addresses.has(change.configAddress) || groups.ids.has(String(values.id));
  if (typeof values.security_group_id === 'string' && groups.ids.has(values.security_group_id)) return true;
  const expressions = plan.expressions.get(change.configAddress);
  return groupAddresses(expressions?.security_group_id, modulePrefixOf(change.configAddress)).some((a) => groups.addresses.has(a));
}

function describe(protocol: unknown, from: unknown, to: unknown, cidrs: string[], webAllowed: boolean): string | undefined {
  const wide = cidrs.filter(isWide);
  if (wide.length === 0) return undefined;
  const all = protocol === '-1' || protocol === 'all' || protocol === -1;
  const start = Number(from);
  const end = Number(to);
  if (!all && webAllowed && String(protocol) === 'tcp' && start === end && WEB_PORTS.includes(start)) return undefined;
  const ports = all ? 'all ports' : start === end ? `port ${start}` : `ports ${start}-${end}`;
  return `ingress from ${wide.join(' and ')} on ${ports}${all ? '' : `/${String(protocol)}`}`;
}

/** The openings wider than /8 one resource state holds (80/443 on a load balancer's group excepted). */
export function wideIngress(change: ResourceChange, values: Record<string, unknown> | null, plan: Plan, groups: LoadBalancerGroups): string[] {
  if (values === null) return [];
  const web = onLoadBalancer(change, values, plan, groups);
  const cidrsOf = (v: Record<string, unknown>) => [...strings(v.cidr_blocks), ...strings(v.ipv6_cidr_blocks)];
  switch (change.type) {
    case 'aws_security_group':
      return blocks(values, 'ingress').flatMap((rule) => describe(rule.protocol, rule.from_port, rule.to_port, cidrsOf(rule), web) ?? []);
    case 'aws_security_group_rule':
      return values.type === 'ingress' ? [describe(values.protocol, values.from_port, values.to_port, cidrsOf(values), web) ?? []].flat() : [];
    case 'aws_vpc_security_group_ingress_rule':
      return [describe(values.ip_protocol, values.from_port, values.to_port, [...strings(values.cidr_ipv4), ...strings(values.cidr_ipv6)], web) ?? []].flat();
    default:
      return [];
  }
}
