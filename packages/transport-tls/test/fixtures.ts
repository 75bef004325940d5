import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDevCa, issuePeerCertificate, type PemPair, type TlsOptions } from '@sidecar/transport-tls';

/** Every CA and certificate the tests need, made once per test file. */
export interface Pki {
  ca: PemPair;
  otherCa: PemPair;
  server: PemPair;
  client: PemPair;
  expiredClient: PemPair;
  expiredServer: PemPair;
  foreignClient: PemPair;
  foreignServer: PemPair;
  impostor: PemPair;
}

const DAY = 86_400_000;

export async function makePki(): Promise<Pki> {
  const [ca, otherCa] = await Promise.all([createDevCa(), createDevCa({ commonName: 'another CA' })]);
  const past = new Date(Date.now() - 10 * DAY);
  const [server, client, expiredClient, expiredServer, foreignClient, foreignServer, impostor] =
    await Promise.all([
      issuePeerCertificate(ca, { name: 'server' }),
      issuePeerCertificate(ca, { name: 'client' }),
      issuePeerCertificate(ca, { name: 'client', notBefore: past, days: 1 }),
      issuePeerCertificate(ca, { name: 'server', notBefore: past, days: 1 }),
      issuePeerCertificate(otherCa, { name: 'client' }),
      issuePeerCertificate(otherCa, { name: 'server' }),
      issuePeerCertificate(ca, { name: 'impostor' }),
    ]);
  return {
    ca,
    otherCa,
    server,
    client,
    expiredClient,
    expiredServer,
    foreignClient,
    foreignServer,
    impostor,
  };
}

/** TLS options for a peer holding `pair`, trusting `ca`. */
export function creds(ca: PemPair, pair: PemPair, extra: TlsOptions = {}): TlsOptions {
  return { ca: ca.cert, cert: pair.cert, key: pair.key, ...extra };
}

/** A fresh temporary directory and its remover. */
export async function tempDir(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'sidecar-tls-'));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** A memory registry URL no other test shares. */
export function uniqueRegistry(): `memory:${string}` {
  return `memory:tls-${process.pid}-${Math.random().toString(36).slice(2)}`;
}
