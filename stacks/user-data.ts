// Boot script of the service instances. The AMI carries the service, its
// systemd unit (enabled, not started) and the CloudWatch agent; this script
// supplies what only exists at deploy time, then starts the unit:
//   1. names the cache and the RBAC user the service authenticates as with IAM,
//   2. gets the instance id from IMDSv2, and reads the identity secrets (the
//      token secret, the publish API key) from Secrets Manager, waiting for a
//      value a new environment's deploy has not put yet,
//   3. writes /etc/chat/chat.env (0640 root:chat),
//   4. points the CloudWatch agent at the service's log group and /metrics,
//   5. starts chat.service, its liveness watchdog (stacks/health.ts) and a
//      watcher that drains it before scale-in (service/src/drain.ts).
import { Fn, Token } from './cdktf.js';
import { DEFAULT_DRAIN_SECONDS, DRAIN_POLL_SECONDS } from '../service/src/drain.js';
import { LIVENESS } from './health.js';
import { HISTORY_TTL_SECONDS } from './cache.js';
import { SECRET_WAIT } from './identity.js';
export interface UserDataProps {
  readonly region: string;
  readonly cacheName: string;
  readonly cacheUserId: string;
  readonly cacheHost: string;
  readonly cachePort: number;
  readonly servicePort: number;
  readonly logGroupName: string;
  readonly logLevel: string;
  readonly serviceEnv: Readonly<Record<string, string>>;
  /** Service variables read from Secrets Manager at boot: name → secret ARN (AUTH_JWT_SECRET, PUBLISH_API_KEY). */
  readonly secretEnv?: Readonly<Record<string, string>>;
  readonly autoScalingGroupName: string;
  readonly lifecycleHookName: string;
  /** ALLOWED_ORIGINS of the service: derived from the environment's domain, never configured by hand. */
  readonly allowedOrigins: string[];
  /** TRUSTED_PROXIES: the VPC range, where the load balancer's nodes live; X-Forwarded-For then names the client. */
  readonly trustedProxies: string;
}


/**
 * Tagged template for shell code with Terraform references in it. Literal parts
 * are kept raw (backslashes intact) and wrapped with Fn.rawString, so quotes and
 * any "${" in the shell code reach the instance as written; unresolved values
 * (resource attributes) stay Terraform expressions. The result is one Terraform
 * string expression.
 */
function shell(strings: TemplateStringsArray, ...values: Array<string | number>): string {
  const parts: string[] = [];
  let literal = '';
  strings.raw.forEach((raw, i) => {
    literal += raw;
    if (i >= values.length) return;
    const value = String(values[i]);
    if (!Token.isUnresolved(value)) {
      literal += value;
      return;
    }
    parts.push(Fn.rawString(literal), value);
    literal = '';
  });
  parts.push(Fn.rawString(literal));
  return Fn.join('', parts);
}

/** Extra KEY=value lines from config (validated: one line, no shell metacharacters). */
function extraEnvironmentLines(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
}

/**
 * Reads each secret into a shell variable of the same name (the ARN stays a
 * reference), waiting while it has no value yet (SECRET_WAIT).
 */
function secretReads(secretEnv: Readonly<Record<string, string>>): string {
  return Fn.join('', Object.entries(secretEnv).map(([name, arn]) =>
    shell`until ${name}=$(aws secretsmanager get-secret-value --region "$region" --secret-id '${arn}' --query SecretString --output text); do
  (( SECONDS < ${SECRET_WAIT.timeoutSeconds} )) || { echo "${name}: no value after ${SECRET_WAIT.timeoutSeconds} s (npm run secrets -- init)" >&2; exit 1; }
  sleep ${SECRET_WAIT.pollSeconds}
done
`));
}

/** The boot script as one Terraform string expression (resource references resolved at apply). */
export function renderUserData(props: UserDataProps): string {
  const secretEnv = props.secretEnv ?? {};
  const secretNames = Object.keys(secretEnv);
  return shell`#!/bin/bash
# Written by stacks/user-data.ts; runs once at first boot (cloud-init).
set -euo pipefail
umask 027
region='${props.region}'
imds=http://169.254.169.254/latest

imds_token=$(curl -sSf --retry 10 --retry-connrefused -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 300')
instance_id=$(curl -sSf --retry 10 -H "X-aws-ec2-metadata-token: $imds_token" "$imds/meta-data/instance-id")
${secretReads(secretEnv)}
install -d -m 0750 -o root -g chat /etc/chat
env_file=$(mktemp /etc/chat/.chat.env.XXXXXX)
cat > "$env_file" <<ENV
PORT=${props.servicePort}
REDIS_URL=rediss://${props.cacheUserId}@${props.cacheHost}:${props.cachePort}
REDIS_AUTH=iam
REDIS_IAM_USER=${props.cacheUserId}
REDIS_IAM_CACHE=${props.cacheName}
AWS_REGION=$region
INSTANCE_ID=$instance_id
WORKERS=auto
LOG_LEVEL=${props.logLevel}
ALLOWED_ORIGINS=${props.allowedOrigins.join(',')}
DRAIN_SECONDS=${DEFAULT_DRAIN_SECONDS}
HISTORY_TTL=${HISTORY_TTL_SECONDS}
TRUSTED_PROXIES=${props.trustedProxies}
${extraEnvironmentLines(props.serviceEnv)}${secretNames.map((name) => `${name}=$${name}\n`).join('')}ENV
chown root:chat "$env_file"
chmod 0640 "$env_file"
mv "$env_file" /etc/chat/chat.env
${secretNames.length > 0 ? `unset ${secretNames.join(' ')}\n` : ''}
# The liveness watchdog (packer/files/chat-liveness) reports this instance
# Unhealthy only when /healthz, which needs no Redis, stays unanswered.
cat > /etc/chat/liveness.env <<ENV
AWS_REGION=$region
INSTANCE_ID=$instance_id
LIVENESS_URL=http://127.0.0.1:${props.servicePort}${LIVENESS.path}
LIVENESS_INTERVAL_SECONDS=${LIVENESS.intervalSeconds}
LIVENESS_TIMEOUT_SECONDS=${LIVENESS.timeoutSeconds}
LIVENESS_FAILURES=${LIVENESS.failures}
ENV
chmod 0644 /etc/chat/liveness.env

/opt/chat/bin/chat-configure-logs '${props.logGroupName}' '${props.autoScalingGroupName}'
systemctl start chat.service
systemctl enable --now chat-liveness.service

# Scale-in and instance refresh: the Auto Scaling group marks the instance
# Terminated in IMDS while the load balancer starts deregistering it. Stopping
# the unit sends SIGTERM, so the service reports not-ready, drains and closes its
# WebSockets itself (clients reconnect elsewhere) before the deregistration
# delay ends; then the termination lifecycle hook is released.
cat > /usr/local/bin/chat-drain-watcher <<'WATCHER'
#!/bin/bash
set -uo pipefail
region='${props.region}'
imds=http://169.254.169.254/latest
metadata() {
  local token
  token=$(curl -sSf -X PUT "$imds/api/token" -H 'X-aws-ec2-metadata-token-ttl-seconds: 60') || return 1
  curl -sSf -H "X-aws-ec2-metadata-token: $token" "$imds/meta-data/$1"
}
until [ "$(metadata autoscaling/target-lifecycle-state)" = Terminated ]; do sleep ${DRAIN_POLL_SECONDS}; done
# A stopping service is not a dead one: the watchdog goes first.
systemctl stop chat-liveness.service
systemctl stop chat.service
instance_id=$(metadata instance-id)
# The hook's wait state may begin only after deregistration; retry until it exists.
for _ in $(seq 1 30); do
  aws autoscaling complete-lifecycle-action --region "$region" \
    --auto-scaling-group-name '${props.autoScalingGroupName}' --lifecycle-hook-name '${props.lifecycleHookName}' \
    --instance-id "$instance_id" --lifecycle-action-result CONTINUE && exit 0
  sleep ${DRAIN_POLL_SECONDS}
done
WATCHER
chmod 0755 /usr/local/bin/chat-drain-watcher
cat > /etc/systemd/system/chat-drain-watcher.service <<'UNIT'
[Unit]
Description=Drain chat.service when the Auto Scaling group terminates this instance
After=chat.service

[Service]
ExecStart=/usr/local/bin/chat-drain-watcher
Restart=on-failure

[Install]
WantedBy=multi-user.target
UNIT
systemctl daemon-reload
systemctl enable --now chat-drain-watcher.service
`;
}
