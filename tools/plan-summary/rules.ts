// What a reviewer must not miss in a plan, one rule per concern. Each rule
// reads one resource change and returns what it found, one line per finding;
// the summary puts warnings before the list of changes and notices after them.
// Rules about a state ("this policy grants *") report only what the change
// introduces, so a policy that already granted it is not flagged again on
// every unrelated update. test/plan-summary/rules.test.ts holds, for every
// rule, a plan that must warn and a near miss that must not.
import type { Plan, ResourceChange } from './plan.js';
import { openPrincipals, wildcardGrants } from './policy.js';
import { wideIngress, type LoadBalancerGroups } from './network.js';
import { compare, DEFAULT_POLICY, grade } from './tls-policy.js';
import { blocks, isBlank, isOff, isOn, leaves, same, show, unknownAt, type Leaf } from './values.js';

export type Severity = 'warning' | 'notice';

export interface RuleContext {
  plan: Plan;
  /** Accounts a trust or resource policy may name without a warning. */
  knownAccounts: ReadonlySet<string>;
  loadBalancerGroups: LoadBalancerGroups;
}

export interface Rule {
  id: string;
  severity: Severity;
  /** One line for the docs: what the rule catches. */
  concern: string;
  check(change: ResourceChange, context: RuleContext): string[];
}

/** The object in the account goes away (a replacement that forgets the old object keeps it running). */
const destroys = (c: ResourceChange) => (c.action === 'replace' && !c.forgetsPrior) || c.action === 'delete';
const changes = (c: ResourceChange) => c.action === 'update' || c.action === 'replace';
const writes = (c: ResourceChange) => c.action === 'create' || changes(c);
const sideBySide = (c: ResourceChange): Leaf[] => (changes(c) ? leaves(c.before, c.after, c.afterUnknown) : []);
/** A transition rule: judges each attribute whose new value is known, one finding at most per attribute. */
const judgeLeaves = (judge: (leaf: Leaf) => string | undefined) => (c: ResourceChange) =>
  sideBySide(c)
    .filter((leaf) => !leaf.unknown)
    .flatMap((leaf) => judge(leaf) ?? []);
/** Findings of the new state that the old state did not already have. */
const introduced = (before: string[], after: string[]) => after.filter((finding) => !before.includes(finding));

/** Why Terraform replaces or deletes, in the reviewer's words. */
function because(c: ResourceChange): string {
  if (c.action === 'replace' && c.replacePaths.length > 0) return ` (forced by ${c.replacePaths.map((p) => `\`${p.join('.')}\``).join(', ')})`;
  const reasons: Record<string, string> = {
    replace_because_tainted: ' (tainted)',
    replace_by_request: ' (-replace requested)',
    replace_by_triggers: ' (replace_triggered_by)',
    delete_because_no_resource_config: ' (removed from the configuration)',
    delete_because_no_module: ' (its module was removed)',
    delete_because_count_index: ' (count lowered)',
    delete_because_each_key: ' (for_each key removed)',
  };
  return reasons[c.actionReason ?? ''] ?? '';
}
const verb = (c: ResourceChange) => (c.action === 'replace' ? 'replaces' : 'deletes');

/** Policy documents per resource type: identity policies, trust policies, resource policies. */
const IDENTITY_POLICIES: Record<string, string> = {
  aws_iam_policy: 'policy',
  aws_iam_role_policy: 'policy',
  aws_iam_user_policy: 'policy',
  aws_iam_group_policy: 'policy',
  aws_iam_role: 'inline_policy.policy',
};
const TRUST_POLICIES: Record<string, string> = { aws_iam_role: 'assume_role_policy' };
const RESOURCE_POLICIES: Record<string, string> = {
  aws_kms_key: 'policy',
  aws_kms_key_policy: 'policy',
  aws_s3_bucket_policy: 'policy',
  aws_secretsmanager_secret: 'policy',
  aws_secretsmanager_secret_policy: 'policy',
  aws_sqs_queue_policy: 'policy',
  aws_sns_topic_policy: 'policy',
  aws_ecr_repository_policy: 'policy',
};

/** The documents at `attribute` ("policy", or "inline_policy.policy" for a nested block) on one side. */
function documents(values: Record<string, unknown> | null, attribute: string | undefined): unknown[] {
  if (values === null || attribute === undefined) return [];
  const [block, nested] = attribute.split('.');
  return nested === undefined ? [values[block]] : blocks(values, block).map((b) => b[nested]);
}

function policyRule(table: Record<string, string>, find: (doc: unknown, context: RuleContext) => string[]) {
  return (c: ResourceChange, context: RuleContext) => {
    if (!writes(c)) return [];
    const attribute = table[c.type];
    const before = documents(c.before, attribute).flatMap((d) => find(d, context));
    const after = documents(c.after, attribute).flatMap((d) => find(d, context));
    return introduced(before, after);
  };
}

/** Replacing or deleting these loses data: [what it is, what is lost]. KMS keys, secrets and generated secrets have rules of their own. */
const STATEFUL: Record<string, [string, string]> = {
  aws_elasticache_replication_group: ['the cache', 'history and presence are lost, every instance reconnects'],
  aws_elasticache_cluster: ['a cache cluster', 'its data is lost'],
  aws_elasticache_serverless_cache: ['a serverless cache', 'its data is lost'],
  aws_elasticache_global_replication_group: ['a global cache', 'its data is lost'],
  aws_s3_bucket: ['an S3 bucket', 'every object in it is lost'],
  aws_dynamodb_table: ['a DynamoDB table', 'its items are lost'],
  aws_db_instance: ['a database instance', 'its data is lost without a final snapshot'],
  aws_rds_cluster: ['a database cluster', 'its data is lost without a final snapshot'],
  aws_efs_file_system: ['a file system', 'its files are lost'],
  aws_ebs_volume: ['a volume', 'its data is lost'],
  aws_backup_vault: ['a backup vault', 'its recovery points are lost'],
  aws_ecr_repository: ['an image repository', 'its images are lost'],
  aws_cloudwatch_log_group: ['a log group', 'the logs in it are lost'],
  aws_route53_zone: ['a DNS zone', 'its records are lost and its name servers change'],
  aws_ssm_parameter: ['a parameter', 'its value is lost'],
};

/** Replacing or deleting these cuts users off or changes the name they reach: [what it is, what users see]. */
const USER_FACING: Record<string, [string, string]> = {
  aws_lb: ['the load balancer', 'every client disconnects, its DNS name changes'],
  aws_alb: ['the load balancer', 'every client disconnects, its DNS name changes'],
  aws_elb: ['a classic load balancer', 'every client disconnects, its DNS name changes'],
  aws_lb_listener: ['a load balancer listener', 'its port refuses connections in between'],
  aws_alb_listener: ['a load balancer listener', 'its port refuses connections in between'],
  aws_autoscaling_group: ['the Auto Scaling group', 'every instance is replaced at once'],
  aws_acm_certificate: ['the TLS certificate', 'listeners must move to the new one'],
  aws_acm_certificate_validation: ['the certificate validation', 'listeners wait for the new validation'],
  aws_route53_record: ['a DNS record', 'clients resolving it fail until it is back'],
};
/** "replaces the cache (forced by `x`): history and presence are lost…" */
const lost = (c: ResourceChange, [what, consequence]: [string, string]) => `${verb(c)} ${what}${because(c)}: ${consequence}`;

const KMS_KEYS = new Set(['aws_kms_key', 'aws_kms_replica_key', 'aws_kms_external_key', 'aws_kms_replica_external_key']);
const GENERATED_SECRETS: Record<string, string> = {
  random_password: 'a generated password',
  random_string: 'a generated string',
  random_bytes: 'generated random bytes',
  tls_private_key: 'a private key',
  aws_iam_access_key: 'an IAM access key',
  aws_elasticache_user: 'a cache user and its credentials',
  aws_elasticache_user_group: 'the cache user group (clients are refused until it is back)',
};
const CACHES = new Set(['aws_elasticache_replication_group', 'aws_elasticache_cluster']);
const LOAD_BALANCERS = new Set(['aws_lb', 'aws_alb']);
const LISTENERS = new Set(['aws_lb_listener', 'aws_alb_listener']);
const WAF_ASSOCIATIONS = new Set(['aws_wafv2_web_acl_association', 'aws_wafregional_web_acl_association', 'aws_waf_web_acl_association']);

const ENCRYPTION_FLAG = /(^|_)encrypt(ed|ion)?(_enabled)?$/;
const KEY_REFERENCE = /^kms_(master_)?key_(id|arn)$/;
/** Ordered settings, weakest first: a step down is a downgrade. */
const ORDERED: Record<string, string[]> = {
  transit_encryption_mode: ['preferred', 'required'],
  sse_algorithm: ['AES256', 'aws:kms', 'aws:kms:dsse'],
};

/** The keys of a block whose value is a non-empty list: the chosen option of a WAF action. */
const chosen = (block: Record<string, unknown> | undefined) =>
  Object.entries(block ?? {})
    .filter(([, v]) => Array.isArray(v) && v.length > 0)
    .map(([k]) => k);

/** Names of the rules of a WAF web ACL, with what each does to matching requests (block, count, none …). */
function wafRules(values: Record<string, unknown> | null): Map<string, string> {
  const rules = new Map<string, string>();
  for (const rule of blocks(values, 'rule')) {
    const mode = [...chosen(blocks(rule, 'action')[0]), ...chosen(blocks(rule, 'override_action')[0])];
    rules.set(String(rule.name), mode.join('+') || 'none');
  }
  return rules;
}
const wafDefault = (values: Record<string, unknown> | null) => chosen(blocks(values, 'default_action')[0])[0];

/** Anything under this attribute known only after apply. */
const unknownUnder = (c: ResourceChange, key: string) => JSON.stringify(unknownAt(c.afterUnknown, key) ?? false).includes('true');

export const RULES: readonly Rule[] = [
  {
    id: 'iam-wildcard',
    severity: 'warning',
    concern: 'an IAM policy that allows wildcard actions (or NotAction) or wildcard resources (or NotResource)',
    check: policyRule(IDENTITY_POLICIES, (doc) => wildcardGrants(doc)),
  },
  {
    id: 'trust-open',
    severity: 'warning',
    concern: 'a role trust policy open to "*", to an unknown account, or to GitHub OIDC tokens of any repository',
    check: policyRule(TRUST_POLICIES, (doc, context) => openPrincipals(doc, context.knownAccounts).map((f) => `trust policy: ${f}`)),
  },
  {
    id: 'resource-policy-open',
    severity: 'warning',
    concern: 'a resource policy (key, bucket, secret, queue, topic) open to "*" or to an unknown account',
    check: policyRule(RESOURCE_POLICIES, (doc, context) => openPrincipals(doc, context.knownAccounts).map((f) => `resource policy: ${f}`)),
  },
  {
    id: 'policy-unknown',
    severity: 'notice',
    concern: 'a policy document known only after apply, which this summary cannot read',
    check: (c, context) => {
      if (!writes(c)) return [];
      const attributes = [IDENTITY_POLICIES[c.type], TRUST_POLICIES[c.type], RESOURCE_POLICIES[c.type]].filter((a): a is string => a !== undefined);
      const configured = context.plan.expressions.get(c.configAddress) ?? {};
      return attributes.flatMap((attribute) => {
        const [block, nested] = attribute.split('.');
        // Only a document the configuration sets: an optional policy left out is computed, not hidden.
        if (!(block in configured)) return [];
        const unknown = unknownAt(c.afterUnknown, block);
        // A nested block computed as a whole (inline_policy left out of the configuration) holds no document to read.
        const hidden = nested === undefined ? unknown === true : Array.isArray(unknown) && unknown.some((u) => unknownAt(u, nested) === true);
        return hidden ? [`\`${attribute.replace('.', '[].')}\` is known only after apply: review it in the code`] : [];
      });
    },
  },
  {
    id: 'kms-key-loss',
    severity: 'warning',
    concern: 'a KMS key scheduled for deletion (deleted or replaced), disabled, or its rotation turned off',
    check: (c) => {
      if (!KMS_KEYS.has(c.type)) return [];
      if (destroys(c)) {
        const window = c.before?.deletion_window_in_days;
        return [`${verb(c)} a KMS key${because(c)}: it is scheduled for deletion${window ? ` in ${window} days` : ''} and everything encrypted with it becomes unreadable`];
      }
      return judgeLeaves((leaf) => {
        if (leaf.key === 'is_enabled' && isOn(leaf.before) && isOff(leaf.after)) return 'disables the KMS key: nothing encrypted with it can be read until it is enabled';
        if (leaf.key === 'enable_key_rotation' && isOn(leaf.before) && isOff(leaf.after)) return 'turns the KMS key rotation off';
        return undefined;
      })(c);
    },
  },
  {
    id: 'secret-deletion',
    severity: 'warning',
    concern: 'a secret deleted or replaced, its value deleted, or its recovery window set to 0 (deleted at once)',
    check: (c) => {
      if (c.type === 'aws_secretsmanager_secret') {
        if (destroys(c)) {
          const window = Number(c.before?.recovery_window_in_days ?? 30);
          return [`${verb(c)} a secret${because(c)}${window === 0 ? ' with no recovery window: it cannot be restored' : ` (restorable for ${window} days)`}`];
        }
        const leaf = sideBySide(c).find((l) => l.key === 'recovery_window_in_days');
        return leaf && !leaf.unknown && Number(leaf.before ?? 30) > 0 && Number(leaf.after) === 0 ? ['sets the recovery window to 0: a later deletion cannot be undone'] : [];
      }
      if (c.type === 'aws_secretsmanager_secret_version' && c.action === 'delete') return [`deletes a secret value${because(c)}`];
      return [];
    },
  },
  {
    id: 'deletion-protection-off',
    severity: 'warning',
    concern: 'deletion or termination protection turned off (deletion_protection, enable_deletion_protection, disable_api_termination) or force_destroy turned on',
    check: judgeLeaves((leaf) => {
      if (/^(enable_)?deletion_protection(_enabled)?$|^disable_api_termination$/.test(leaf.key)) {
        const off = (isOn(leaf.before) && !isOn(leaf.after)) || (leaf.before === 'ACTIVE' && leaf.after !== 'ACTIVE');
        return off ? `turns deletion protection off (${leaf.path}: ${show(leaf.before)} → ${show(leaf.after)})` : undefined;
      }
      if (leaf.key === 'force_destroy' && !isOn(leaf.before) && isOn(leaf.after)) return `turns force_destroy on: a destroy also deletes everything in it (${leaf.path})`;
      return undefined;
    }),
  },
  {
    id: 'snapshot-removed',
    severity: 'warning',
    concern: 'a final snapshot dropped (final_snapshot_identifier removed, skip_final_snapshot true) or automatic backups turned off',
    check: judgeLeaves((leaf) => {
      if (/final_snapshot_(identifier|name)$/.test(leaf.key) && !isBlank(leaf.before) && isBlank(leaf.after)) return `drops the final snapshot (${leaf.path}: ${show(leaf.before)} → null): deleting it keeps no copy`;
      if (leaf.key === 'skip_final_snapshot' && !isOn(leaf.before) && isOn(leaf.after)) return 'sets skip_final_snapshot: deleting it keeps no copy';
      if (/^(snapshot_retention_limit|backup_retention_period)$/.test(leaf.key) && Number(leaf.before) > 0 && Number(leaf.after) === 0) return `turns automatic backups off (${leaf.path}: ${show(leaf.before)} → 0)`;
      return undefined;
    }),
  },
  {
    id: 'imds-tokens-optional',
    severity: 'warning',
    concern: 'instance metadata tokens made optional (metadata_options.http_tokens = "optional": IMDSv1 allowed)',
    check: (c) => {
      if (!writes(c)) return [];
      const optional = (values: Record<string, unknown> | null) =>
        blocks(values, 'metadata_options').flatMap((m, i) => (m.http_tokens === 'optional' ? [`makes IMDS tokens optional (metadata_options.${i}.http_tokens = "optional"): IMDSv1 answers without a token`] : []));
      return introduced(optional(c.before), optional(c.after));
    },
  },
  {
    id: 'tls-policy-downgrade',
    severity: 'warning',
    concern: 'a listener moved to a weaker ELBSecurityPolicy, to a policy this summary cannot rank, or from HTTPS/TLS to plain HTTP/TCP',
    check: (c) => {
      if (!LISTENERS.has(c.type) || !changes(c) || c.before === null || c.after === null) return [];
      const found: string[] = [];
      const secure = (p: unknown) => p === 'HTTPS' || p === 'TLS';
      if (secure(c.before.protocol) && !secure(c.after.protocol) && unknownAt(c.afterUnknown, 'protocol') !== true) {
        found.push(`stops encrypting: protocol ${show(c.before.protocol)} → ${show(c.after.protocol)}`);
      }
      if (secure(c.before.protocol) && secure(c.after.protocol) && unknownAt(c.afterUnknown, 'ssl_policy') !== true) {
        const was = String(c.before.ssl_policy || DEFAULT_POLICY);
        const now = String(c.after.ssl_policy || DEFAULT_POLICY);
        if (was !== now) {
          const [a, b] = [grade(was), grade(now)];
          if (b === undefined) found.push(`changes the TLS policy to ${now}, which this summary cannot rank (was ${was})`);
          else if (a !== undefined && compare(b, a) < 0) found.push(`downgrades the TLS policy: ${was} → ${now}`);
        }
      }
      return found;
    },
  },
  {
    id: 'waf-removed',
    severity: 'warning',
    concern: 'a WAF web ACL association or web ACL removed, a rule removed or switched to count, or the default action turned to allow',
    check: (c) => {
      if (WAF_ASSOCIATIONS.has(c.type)) {
        if (!destroys(c)) return [];
        const target = String(c.before?.resource_arn ?? 'its resource');
        return [c.action === 'delete' ? `removes the WAF from ${target}${because(c)}` : `re-creates the WAF association of ${target}: the resource is unprotected in between${because(c)}`];
      }
      if (c.type !== 'aws_wafv2_web_acl') return [];
      if (destroys(c)) return [`${verb(c)} the WAF web ACL${because(c)}`];
      if (c.action !== 'update' || unknownAt(c.afterUnknown, 'rule') === true) return [];
      const found: string[] = [];
      const [before, after] = [wafRules(c.before), wafRules(c.after)];
      for (const [name, mode] of before) {
        const now = after.get(name);
        if (now === undefined) found.push(`removes WAF rule ${name}`);
        else if (mode !== now && /count/.test(now) && !/count/.test(mode)) found.push(`switches WAF rule ${name} to count only (was ${mode})`);
      }
      if (wafDefault(c.before) === 'block' && wafDefault(c.after) === 'allow') found.push('turns the web ACL default action from block to allow');
      return found;
    },
  },
  {
    id: 'ingress-wide',
    severity: 'warning',
    concern: 'ingress from a range wider than /8 (IPv4 or IPv6), on any port but 80/443 of the load balancer\'s own group',
    check: (c, context) =>
      writes(c) ? introduced(wideIngress(c, c.before, context.plan, context.loadBalancerGroups), wideIngress(c, c.after, context.plan, context.loadBalancerGroups)) : [],
  },
  {
    id: 'encryption-downgrade',
    severity: 'warning',
    concern: 'encryption at rest or in transit turned off, its KMS key removed, or downgraded (transit_encryption_mode required → preferred, SSE-KMS → SSE-S3)',
    check: judgeLeaves((leaf) => {
      if (ENCRYPTION_FLAG.test(leaf.key) && isOn(leaf.before) && !isOn(leaf.after)) return `turns encryption off (${leaf.path}: ${show(leaf.before)} → ${show(leaf.after)})`;
      if (KEY_REFERENCE.test(leaf.key) && !isBlank(leaf.before) && isBlank(leaf.after)) return `turns encryption off (${leaf.path}: removed)`;
      const order = ORDERED[leaf.key];
      if (order && order.indexOf(String(leaf.before)) > order.indexOf(String(leaf.after))) return `downgrades encryption (${leaf.path}: ${show(leaf.before)} → ${show(leaf.after)})`;
      return undefined;
    }),
  },
  {
    id: 'stateful-destroyed',
    severity: 'warning',
    concern: 'a stateful resource replaced or deleted: cache, bucket, table, database, volume, log group, DNS zone, parameter',
    check: (c) => (destroys(c) && c.type in STATEFUL ? [lost(c, STATEFUL[c.type])] : []),
  },
  {
    id: 'user-facing-destroyed',
    severity: 'warning',
    concern: 'the load balancer, a listener, the Auto Scaling group, the certificate or a DNS record replaced or deleted',
    check: (c) => (destroys(c) && c.type in USER_FACING ? [lost(c, USER_FACING[c.type])] : []),
  },
  {
    id: 'forget',
    severity: 'warning',
    concern: 'a resource forgotten (removed from state, left running and billed, no longer managed)',
    check: (c) => {
      if (c.action === 'forget') return ['is forgotten: removed from state but left running, no longer managed (and still billed)'];
      return c.forgetsPrior ? ['is replaced and the old object forgotten: it keeps running, unmanaged'] : [];
    },
  },
  {
    id: 'lb-scheme-flip',
    severity: 'warning',
    concern: 'a load balancer switching between internal and internet-facing',
    check: (c) => {
      if (!LOAD_BALANCERS.has(c.type) || !changes(c) || unknownAt(c.afterUnknown, 'internal') === true) return [];
      const [was, now] = [c.before?.internal, c.after?.internal];
      if (typeof was !== 'boolean' || typeof now !== 'boolean' || was === now) return [];
      return [now ? 'turns internet-facing → internal: clients on the internet can no longer reach it' : 'turns internal → internet-facing: it becomes reachable from the internet'];
    },
  },
  {
    id: 'credential-replaced',
    severity: 'warning',
    concern: 'a generated secret (random_password, private key, access key, cache user) replaced or deleted, or the cache AUTH token changed',
    check: (c) => {
      if (c.type in GENERATED_SECRETS && destroys(c)) return [`${verb(c)} ${GENERATED_SECRETS[c.type]}${because(c)}: everything holding the old value must pick up the new one`];
      if (CACHES.has(c.type) && c.action === 'update' && !isBlank(c.before?.auth_token)) {
        const unknown = unknownAt(c.afterUnknown, 'auth_token') === true;
        if (unknown || !same(c.before?.auth_token, c.after?.auth_token)) {
          return [`changes the cache AUTH token (auth_token_update_strategy ${show(c.after?.auth_token_update_strategy ?? null)}): clients with the old token are refused once it is dropped`];
        }
      }
      return [];
    },
  },
  {
    id: 'instance-refresh',
    severity: 'notice',
    concern: 'an Auto Scaling group change that starts an instance refresh (launch template, mixed instances policy or a listed trigger)',
    check: (c) => {
      if (c.type !== 'aws_autoscaling_group' || c.action !== 'update') return [];
      const refresh = blocks(c.after, 'instance_refresh')[0];
      if (refresh === undefined) return [];
      const triggers = ['launch_configuration', 'launch_template', 'mixed_instances_policy', ...((refresh.triggers as string[] | undefined) ?? [])];
      const moved = triggers.filter((t) => unknownUnder(c, t) || !same(c.before?.[t], c.after?.[t]));
      if (moved.length === 0) return [];
      const healthy = blocks(refresh, 'preferences')[0]?.min_healthy_percentage;
      return [`starts an instance refresh (${moved.join(', ')} changed): every instance is replaced${healthy !== undefined ? `, keeping ${healthy}% healthy` : ''}`];
    },
  },
];
