// ElastiCache IAM authentication (REDIS_AUTH=iam): no password exists anywhere.
// The instance role signs a short-lived token (SigV4 presigned "connect" request
// for the cache and its user, valid IAM_TOKEN_TTL_SECONDS) with the AWS SDK's
// signer and credential chain; the token is the AUTH password of the RBAC user.
// ElastiCache drops an IAM connection after 12 hours unless it authenticates
// again, and a token only opens connections while it is fresh, so one timer
// signs a new token every IAM_TOKEN_REFRESH_MS (well inside its lifetime): it
// becomes the password every reconnect uses, and every open connection sends
// AUTH with it, which also extends that connection's 12 hours.
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { IAM_TOKEN_REFRESH_MS, IAM_TOKEN_TTL_SECONDS } from '../constants.js';

export interface IamAuthSettings {
  /** The ElastiCache user id (its user name is the same, as IAM authentication requires). */
  readonly user: string;
  /** Replication group id of the cache (not its endpoint). */
  readonly cacheName: string;
  readonly region: string;
}

export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}
export type CredentialProvider = () => Promise<AwsCredentials>;

/** What the broker's clients (ioredis) offer: options read at every (re)connect, and AUTH. */
export interface AuthenticatedClient {
  readonly options: { username?: string; password?: string };
  readonly status: string;
  /** ioredis' connection state: `subscriber` is set while the connection holds subscriptions. */
  readonly condition?: { subscriber: unknown } | null;
  auth(username: string, password: string): Promise<unknown>;
}

/** Gives the broker's clients their credentials before they connect and keeps them valid. */
export interface RedisCredentialSource {
  attach(clients: readonly AuthenticatedClient[]): Promise<void>;
  stop(): void;
}

// RFC 3986 encoding, as SigV4 canonicalizes query strings.
const encode = (text: string) => encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** The IAM auth token: the presigned URL of `GET http://<cache>/?Action=connect&User=<user>` without its scheme. */
export async function signAuthToken(settings: IamAuthSettings, credentials: CredentialProvider, signingDate = new Date()): Promise<string> {
  const signer = new SignatureV4({ service: 'elasticache', region: settings.region, credentials, sha256: Hash.bind(null, 'sha256') });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'http:',
    hostname: settings.cacheName,
    path: '/',
    query: { Action: 'connect', User: settings.user },
    headers: { host: settings.cacheName },
  });
  const signed = await signer.presign(request, { expiresIn: IAM_TOKEN_TTL_SECONDS, signingDate });
  const query = Object.entries(signed.query ?? {})
    .map(([key, value]) => `${encode(key)}=${encode(String(value))}`)
    .join('&');
  return `${signed.hostname}${signed.path}?${query}`;
}

export interface IamAuthOptions {
  readonly credentials?: CredentialProvider;
  readonly refreshMs?: number;
  readonly now?: () => Date;
  /** A refresh that failed (credentials, network): the current token stays until the next one. */
  readonly onError?: (error: unknown) => void;
}

/** Signs tokens for the broker's clients and renews them before they expire. */
export class IamAuthRotation implements RedisCredentialSource {
  private readonly credentials: CredentialProvider;
  private readonly refreshMs: number;
  private readonly now: () => Date;
  private clients: readonly AuthenticatedClient[] = [];
  private timer: NodeJS.Timeout | undefined;
  private token: { value: string; signedAt: Date } | undefined;

  constructor(private readonly settings: IamAuthSettings, private readonly options: IamAuthOptions = {}) {
    this.credentials = options.credentials ?? defaultProvider();
    this.refreshMs = options.refreshMs ?? IAM_TOKEN_REFRESH_MS;
    this.now = options.now ?? (() => new Date());
  }

  /** When the current token was signed; undefined before attach(). */
  get signedAt(): Date | undefined {
    return this.token?.signedAt;
  }

  async attach(clients: readonly AuthenticatedClient[]): Promise<void> {
    this.clients = clients;
    await this.sign();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.options.onError?.(error));
    }, this.refreshMs);
    this.timer.unref();
  }

  /** Signs a new token, hands it to every reconnect and re-authenticates every open connection. */
  async refresh(): Promise<void> {
    const token = await this.sign();
    // A subscribed connection may send no AUTH (RESP2 allows only subscription
    // commands): it keeps the session it opened and takes the new token when it
    // reconnects (ElastiCache ends an IAM session after 12 hours; the rooms then
    // catch up as after any outage).
    const live = this.clients.filter((c) => c.status === 'ready' && !c.condition?.subscriber);
    const results = await Promise.allSettled(live.map((c) => c.auth(this.settings.user, token)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sign(): Promise<string> {
    const signedAt = this.now();
    const value = await signAuthToken(this.settings, this.credentials, signedAt);
    this.token = { value, signedAt };
    for (const client of this.clients) {
      client.options.username = this.settings.user;
      client.options.password = value;
    }
    return value;
  }
}
