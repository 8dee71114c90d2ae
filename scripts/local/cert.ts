// A self-signed certificate for the local load balancer, made at start with
// openssl, valid for localhost and 127.0.0.1. HAProxy wants the certificate and
// key in one PEM file.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function makeSelfSignedCert(dir: string): string {
  const key = join(dir, 'tls.key');
  const cert = join(dir, 'tls.crt');
  const pem = join(dir, 'tls.pem');
  execFileSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '30',
      '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', key, '-out', cert,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  writeFileSync(pem, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'), { mode: 0o600 });
  return pem;
}
