// What a reviewer must not miss in a plan: stateful or user-facing resources
// replaced or deleted, the network opened to the world beyond 80/443, and
// encryption turned off.
import type { ResourceChange } from './plan.js';

export interface Risk {
  address: string;
  kind: 'destroys' | 'opens' | 'decrypts';
  detail: string;
}

/** Replacing or deleting these loses data, drops every connection or breaks the name users reach. */
const CRITICAL: Record<string, string> = {
  aws_elasticache_replication_group: 'the cache (history and presence, every instance reconnects)',
  aws_elasticache_cluster: 'a cache cluster',
  aws_elasticache_serverless_cache: 'a serverless cache',
  aws_lb: 'the load balancer (every client disconnects, DNS name changes)',
  aws_alb: 'the load balancer (every client disconnects, DNS name changes)',
  aws_elb: 'a classic load balancer',
  aws_lb_listener: 'a load balancer listener',
  aws_alb_listener: 'a load balancer listener',
  aws_autoscaling_group: 'the Auto Scaling group (every instance is replaced at once)',
  aws_acm_certificate: 'the TLS certificate',
  aws_acm_certificate_validation: 'the certificate validation',
  aws_route53_record: 'a DNS record',
  aws_route53_zone: 'the DNS zone',
};

const WORLD = new Set(['0.0.0.0/0', '::/0']);
const WEB_PORTS = new Set([80, 443]);

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** A human description of an ingress opened to the world on ports beyond 80/443, or undefined. */
function worldBeyondWeb(protocol: unknown, from: unknown, to: unknown, cidrs: string[]): string | undefined {
  const open = cidrs.filter((cidr) => WORLD.has(cidr));
  if (open.length === 0) return undefined;
  const all = protocol === '-1' || protocol === 'all' || protocol === -1;
  const start = Number(from);
  const end = Number(to);
  if (!all && Number.isFinite(start) && Number.isFinite(end) && start === end && WEB_PORTS.has(start)) return undefined;
  const ports = all ? 'all ports' : start === end ? `port ${start}` : `ports ${start}-${end}`;
  return `ingress from ${open.join(' and ')} on ${ports}`;
}

function openings(change: ResourceChange): string[] {
  const after = change.after;
  if (!after) return [];
  switch (change.type) {
    case 'aws_security_group':
      return (Array.isArray(after.ingress) ? after.ingress : []).flatMap((rule: Record<string, unknown>) => {
        const found = worldBeyondWeb(rule.protocol, rule.from_port, rule.to_port, [...list(rule.cidr_blocks), ...list(rule.ipv6_cidr_blocks)]);
        return found ? [found] : [];
      });
    case 'aws_security_group_rule': {
      if (after.type !== 'ingress') return [];
      const found = worldBeyondWeb(after.protocol, after.from_port, after.to_port, [...list(after.cidr_blocks), ...list(after.ipv6_cidr_blocks)]);
      return found ? [found] : [];
    }
    case 'aws_vpc_security_group_ingress_rule': {
      const cidrs = [after.cidr_ipv4, after.cidr_ipv6].filter((v): v is string => typeof v === 'string');
      const found = worldBeyondWeb(after.ip_protocol, after.from_port, after.to_port, cidrs);
      return found ? [found] : [];
    }
    default:
      return [];
  }
}

const ENCRYPTION_FLAG = /(^|_)encrypt(ed|ion)?(_enabled)?$|^at_rest_encryption_enabled$|^transit_encryption_enabled$/;
const KEY_REFERENCE = /^kms_key_(id|arn)$/;

/** The part of an after_unknown tree under one key or index (true means the whole value is unknown). */
function unknownAt(unknown: unknown, key: string | number): unknown {
  if (unknown === true) return true;
  if (typeof unknown !== 'object' || unknown === null) return undefined;
  return (unknown as Record<string | number, unknown>)[key];
}

/**
 * Paths where encryption was on before and is off (or gone) after. A value
 * known only after apply (a new KMS key's ARN, say) is absent from `after` and
 * true in `after_unknown`: that is a change, not a removal.
 */
function encryptionTurnedOff(before: unknown, after: unknown, unknown: unknown, path: string[] = []): string[] {
  const found: string[] = [];
  if (unknown === true) return found;
  if (Array.isArray(before)) {
    const items = Array.isArray(after) ? after : [];
    before.forEach((item, i) => found.push(...encryptionTurnedOff(item, items[i], unknownAt(unknown, i), [...path, String(i)])));
    return found;
  }
  if (typeof before !== 'object' || before === null) return found;
  const next = (typeof after === 'object' && after !== null ? after : {}) as Record<string, unknown>;
  for (const [key, was] of Object.entries(before as Record<string, unknown>)) {
    const now = next[key];
    const nowUnknown = unknownAt(unknown, key);
    const here = [...path, key].join('.');
    if (nowUnknown === true) continue;
    if (ENCRYPTION_FLAG.test(key) && was === true && now !== true) found.push(`${here}: true → ${JSON.stringify(now ?? null)}`);
    else if (KEY_REFERENCE.test(key) && typeof was === 'string' && was !== '' && (now === null || now === '' || now === undefined)) {
      found.push(`${here}: removed`);
    } else if (typeof was === 'object' && was !== null) found.push(...encryptionTurnedOff(was, now, nowUnknown, [...path, key]));
  }
  return found;
}

export function findRisks(changes: ResourceChange[]): Risk[] {
  const risks: Risk[] = [];
  for (const change of changes) {
    if ((change.action === 'replace' || change.action === 'delete') && change.type in CRITICAL) {
      risks.push({ address: change.address, kind: 'destroys', detail: `${change.action === 'replace' ? 'replaces' : 'deletes'} ${CRITICAL[change.type]}` });
    }
    if (change.action === 'create' || change.action === 'update' || change.action === 'replace') {
      for (const opening of openings(change)) risks.push({ address: change.address, kind: 'opens', detail: opening });
    }
    if (change.action === 'update' || change.action === 'replace') {
      for (const path of encryptionTurnedOff(change.before, change.after, change.afterUnknown)) {
        risks.push({ address: change.address, kind: 'decrypts', detail: `turns encryption off (${path})` });
      }
    }
  }
  return risks;
}
