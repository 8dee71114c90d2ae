// Development tokens: HS256, every room, for one user. Signed here for the
// local development endpoint and for the local tools (k6, fault harness,
// benchmark); a real deployment's tokens come from its own issuer.
import { SignJWT } from 'jose';

export interface DevTokenSigner {
  secret: string;
  issuer: string;
  audience: string;
}

export function signDevToken(signer: DevTokenSigner, sub: string, name: string, ttlSeconds: number): Promise<string> {
  return new SignJWT({ name, rooms: ['*'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setIssuer(signer.issuer)
    .setAudience(signer.audience)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`)
    .sign(new TextEncoder().encode(signer.secret));
}
