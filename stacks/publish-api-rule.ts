// The publish API on the public HTTPS listener: refused with 404 at the load
// balancer, except from the source ranges the environment allows (its backend
// networks), so the internet never reaches it even with a leaked key. Rules
// of their own, beside the listener's default action.
import { Construct } from './cdktf.js';
import { LbListenerRule } from './providers.js';
import { AUTH_PATHS } from '../service/src/defaults.js';
import { NOT_FOUND_BODY } from './load-balancer.js';

export interface PublishApiRuleProps {
  readonly listenerArn: string;
  readonly targetGroupArn: string;
  /** CIDR ranges allowed through; empty refuses everyone. */
  readonly allowedCidrs: readonly string[];
}

/** Rule priorities: after the listener's own rules (internal paths: 1). */
export const PUBLISH_API_RULE_PRIORITIES = { allow: 10, refuse: 11 } as const;

export class PublishApiRule extends Construct {
  constructor(scope: Construct, id: string, props: PublishApiRuleProps) {
    super(scope, id);
    const paths = { pathPattern: { values: [`${AUTH_PATHS.api}*`] } };
    if (props.allowedCidrs.length > 0) {
      new LbListenerRule(this, 'allow', {
        listenerArn: props.listenerArn,
        priority: PUBLISH_API_RULE_PRIORITIES.allow,
        condition: [paths, { sourceIp: { values: [...props.allowedCidrs] } }],
        action: [{ type: 'forward', targetGroupArn: props.targetGroupArn }],
      });
    }
    new LbListenerRule(this, 'refuse', {
      listenerArn: props.listenerArn,
      priority: PUBLISH_API_RULE_PRIORITIES.refuse,
      condition: [paths],
      action: [{ type: 'fixed-response', fixedResponse: { statusCode: '404', contentType: 'application/json', messageBody: NOT_FOUND_BODY } }],
    });
  }
}
