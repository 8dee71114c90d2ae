// Identity of the deployed service: AUTH_MODE=jwt always. The HS256 secret
// (unless the environment names a JWKS URL of its identity provider) and the
// publish API key live in Secrets Manager, encrypted with the stack's key, and
// are read by the instances at boot; neither is ever in the launch template.
// Terraform creates only the empty secrets: their values are put and rotated
// by `npm run secrets` (scripts/infra/secrets.sh), so no value is ever in the
// Terraform state or the plan, which the pull request's plan role reads.
// The development token endpoint is never on.
import { Construct } from './cdktf.js';
import { SecretsmanagerSecret } from './providers.js';
import type { IdentityConfig } from '../config/types.js';

export interface IdentityProps extends IdentityConfig {
  readonly namePrefix: string;
  readonly kmsKeyArn: string;
}

/** The secrets `npm run secrets` fills, by the name it takes (also their name in Secrets Manager). */
export const IDENTITY_SECRETS = {
  'jwt-secret': { variable: 'AUTH_JWT_SECRET', description: 'HS256 secret that signs connection tokens; the token issuer reads it too' },
  'publish-api-key': { variable: 'PUBLISH_API_KEY', description: 'Bearer key of the publish API (POST /api/rooms/{room}/messages)' },
} as const;
export type IdentitySecretName = keyof typeof IDENTITY_SECRETS;

/**
 * How long a booting instance waits for a secret's value. On a new environment
 * the instances start during the first apply, before the deploy workflow's
 * `npm run secrets -- init` has put the values; the group's health check is EC2
 * only, so an instance that gave up would never be replaced.
 */
export const SECRET_WAIT = { timeoutSeconds: 1800, pollSeconds: 10 } as const;

export class Identity extends Construct {
  /** Plain service variables: AUTH_MODE, AUTH_ISSUER, AUTH_AUDIENCE and AUTH_JWKS_URL when used. */
  readonly serviceEnv: Readonly<Record<string, string>>;
  /** Service variables read from Secrets Manager at boot: variable name → secret ARN. */
  readonly secretEnv: Readonly<Record<string, string>>;
  /** Secret name (IDENTITY_SECRETS) → ARN: the stack output `npm run secrets` reads. */
  readonly secretArns: Readonly<Partial<Record<IdentitySecretName, string>>>;

  constructor(scope: Construct, id: string, props: IdentityProps) {
    super(scope, id);
    this.serviceEnv = {
      AUTH_MODE: 'jwt',
      AUTH_ISSUER: props.issuer,
      AUTH_AUDIENCE: props.audience,
      ...(props.jwksUrl ? { AUTH_JWKS_URL: props.jwksUrl } : {}),
    };
    // With jwksUrl there is no token secret at all; leaving out publishApi leaves no key.
    const names: IdentitySecretName[] = [...(props.jwksUrl ? [] : ['jwt-secret' as const]), ...(props.publishApi ? ['publish-api-key' as const] : [])];
    const secretArns: Partial<Record<IdentitySecretName, string>> = {};
    const secretEnv: Record<string, string> = {};
    for (const name of names) {
      const secret = new SecretsmanagerSecret(this, name, {
        namePrefix: `${props.namePrefix}/${name}-`,
        description: `${IDENTITY_SECRETS[name].description} (${props.namePrefix}); value set by npm run secrets`,
        kmsKeyId: props.kmsKeyArn,
        recoveryWindowInDays: 7,
      });
      secretArns[name] = secret.arn;
      secretEnv[IDENTITY_SECRETS[name].variable] = secret.arn;
    }
    this.secretArns = secretArns;
    this.secretEnv = secretEnv;
  }
}
