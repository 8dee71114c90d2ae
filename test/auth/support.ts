// What the identity tests share: tokens signed the way an issuer signs them,
// an upgrade that is expected to be refused, and a JWKS endpoint on loopback
// whose keys a test can rotate.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';
import { WebSocket } from 'ws';

export const ISSUER = 'https://issuer.test';
export const AUDIENCE = 'chat-test';
export const SECRET = 'test-secret-of-at-least-thirty-two-characters';

export interface Claims extends JWTPayload {
  name?: string;
  rooms?: string[];
}

/** A token with the test issuer and audience, an hour of validity, overridable claim by claim (undefined drops one). */
export async function hsToken(claims: Claims, secret = SECRET): Promise<string> {
  return sign(claims, { alg: 'HS256' }, new TextEncoder().encode(secret));
}

export async function sign(claims: Claims, header: { alg: string; kid?: string }, key: CryptoKey | Uint8Array): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: Claims = { iss: ISSUER, aud: AUDIENCE, iat: now, exp: now + 3600, sub: 'u-ann', name: 'Ann', rooms: ['*'], ...claims };
  for (const key of Object.keys(payload)) if (payload[key] === undefined) delete payload[key];
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

/** Opens /ws?token=… and resolves with the refusal's status and body; fails if the WebSocket opens. */
export function refusal(baseWsUrl: string, token?: string): Promise<{ status: number; body: string }> {
  const url = token === undefined ? baseWsUrl : `${baseWsUrl}?token=${encodeURIComponent(token)}`;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { rejectUnauthorized: false });
    ws.once('open', () => {
      ws.terminate();
      reject(new Error('the upgrade was accepted'));
    });
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => (body += chunk.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (error) => reject(error));
  });
}

export interface KeyPair {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicPem: string;
}

export async function rsaKey(kid: string): Promise<KeyPair> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  return { kid, privateKey, publicJwk, publicPem: await exportSPKI(publicKey) };
}

/** A JWKS endpoint on loopback serving `keys`, counting fetches. */
export interface JwksServer {
  url: string;
  keys: JWK[];
  fetches: number;
  close(): Promise<void>;
}

export async function startJwks(keys: JWK[]): Promise<JwksServer> {
  const state = { keys, fetches: 0 };
  const server: Server = createServer((req, res) => {
    state.fetches++;
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: state.keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}/jwks.json`,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  }) as JwksServer;
}
