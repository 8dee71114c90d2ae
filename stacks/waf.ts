// AWS WAF web ACL in front of the load balancer: the per-source limit the service
// cannot enforce itself. The service rate-limits each WebSocket, but a client that
// reconnects in a loop gets a fresh budget per connection; capping requests per
// client IP at the edge caps the reconnects (an upgrade is one HTTP request).
// WAF sees only HTTP requests, never the WebSocket frames after the upgrade.
import { Construct } from './cdktf.js';
import { Wafv2WebAcl, Wafv2WebAclAssociation, Wafv2WebAclLoggingConfiguration } from './providers.js';
import type { Wafv2WebAclRule } from './providers.js';
import { EncryptedLogGroup } from './observability.js';

/** What the AWS managed rule groups do with a match: block it, or only count it (to try them out). */
export type ManagedRulesMode = 'block' | 'count';

/** Defaults of the optional settings (environments may override them in `waf`). */
export const WAF_DEFAULTS = {
  /** ~6.7 requests/s per client IP sustained: far above a browser session, far below a reconnect loop. */
  rateLimitPer5Minutes: 2000,
  managedRules: 'block' as ManagedRulesMode,
} as const;

/** The rate-based rule counts over this window; AWS allows 60, 120, 300 or 600 s. */
export const RATE_WINDOW_SECONDS = 300;

/** HTTP status of requests over the limit (WAF's default 403 would read as a permissions error). */
export const RATE_LIMITED_STATUS = 429;

/** AWS managed rule groups, in evaluation order after the rate rule; no fee beyond the per-rule charge. */
export const MANAGED_RULE_GROUPS: readonly { id: string; name: string; countOnly: readonly string[] }[] = [
  // Log4j, Java deserialization, localhost Host headers and other known exploit payloads.
  { id: 'known-bad-inputs', name: 'AWSManagedRulesKnownBadInputsRuleSet', countOnly: [] },
  // OWASP-style checks on headers, URI and query. Its body rules have nothing to inspect:
  // the service only answers GET and HEAD, and WAF never sees WebSocket frames.
  // NoUserAgent_HEADER only counts: WebSocket clients outside browsers (Node's `ws`, as
  // in the load test's instance probe) send no User-Agent, and the header proves nothing.
  { id: 'common', name: 'AWSManagedRulesCommonRuleSet', countOnly: ['NoUserAgent_HEADER'] },
];

export interface WebAclProps {
  readonly namePrefix: string;
  /** ARN of the Application Load Balancer to protect. */
  readonly loadBalancerArn: string;
  /** Requests one client IP may send in 5 minutes before further requests are blocked (10 or more). */
  readonly rateLimitPer5Minutes?: number;
  readonly managedRules?: ManagedRulesMode;
  /** Retention of the log group that keeps the blocked and counted requests. */
  readonly logRetentionDays: number;
  readonly kmsKeyArn: string;
}

const visibility = (metricName: string) => ({ cloudwatchMetricsEnabled: true, sampledRequestsEnabled: true, metricName });

export class WebAcl extends Construct {
  readonly acl: Wafv2WebAcl;
  readonly association: Wafv2WebAclAssociation;
  readonly logs: EncryptedLogGroup;

  constructor(scope: Construct, id: string, props: WebAclProps) {
    super(scope, id);
    const limit = props.rateLimitPer5Minutes ?? WAF_DEFAULTS.rateLimitPer5Minutes;
    const mode = props.managedRules ?? WAF_DEFAULTS.managedRules;
    const metric = (name: string) => `${props.namePrefix}-${name}`;

    // Statements are untyped in the bindings (they nest recursively) and pass through
    // as written, hence Terraform's snake_case inside `statement`.
    const rules: Wafv2WebAclRule[] = [
      {
        name: 'rate-per-ip',
        priority: 0,
        action: { block: { customResponse: { responseCode: RATE_LIMITED_STATUS } } },
        statement: [
          {
            rate_based_statement: [
              // The ALB is the first hop, so WAF sees the client's own address (no X-Forwarded-For to trust).
              { aggregate_key_type: 'IP', limit, evaluation_window_sec: RATE_WINDOW_SECONDS },
            ],
          },
        ],
        visibilityConfig: visibility(metric('rate-per-ip')),
      },
      ...MANAGED_RULE_GROUPS.map(
        (group, index): Wafv2WebAclRule => ({
          name: `aws-${group.id}`,
          priority: index + 1,
          overrideAction: mode === 'block' ? { none: {} } : { count: {} },
          statement: [
            {
              managed_rule_group_statement: [
                {
                  vendor_name: 'AWS',
                  name: group.name,
                  ...(group.countOnly.length > 0 && {
                    rule_action_override: group.countOnly.map((rule) => ({ name: rule, action_to_use: [{ count: [{}] }] })),
                  }),
                },
              ],
            },
          ],
          visibilityConfig: visibility(metric(group.id)),
        }),
      ),
    ];

    this.acl = new Wafv2WebAcl(this, 'acl', {
      name: props.namePrefix,
      description: `${props.namePrefix}: requests per client IP, AWS managed rules (${mode})`,
      scope: 'REGIONAL',
      defaultAction: { allow: {} },
      rule: rules,
      visibilityConfig: visibility(metric('waf')),
    });

    this.association = new Wafv2WebAclAssociation(this, 'association', {
      resourceArn: props.loadBalancerArn,
      webAclArn: this.acl.arn,
    });

    // WAF only logs to log groups whose name starts with aws-waf-logs-. Allowed requests
    // are dropped: the log is the record of what the ACL blocked or counted.
    this.logs = new EncryptedLogGroup(this, 'logs', {
      name: `aws-waf-logs-${props.namePrefix}`,
      retentionDays: props.logRetentionDays,
      kmsKeyArn: props.kmsKeyArn,
    });
    new Wafv2WebAclLoggingConfiguration(this, 'logging', {
      resourceArn: this.acl.arn,
      logDestinationConfigs: [this.logs.group.arn],
      loggingFilter: {
        defaultBehavior: 'DROP',
        filter: [
          {
            behavior: 'KEEP',
            requirement: 'MEETS_ANY',
            // EXCLUDED_AS_COUNT covers managed rules whose action is overridden to count.
            condition: ['BLOCK', 'COUNT', 'EXCLUDED_AS_COUNT'].map((action) => ({ actionCondition: { action } })),
          },
        ],
      },
    });
  }
}
