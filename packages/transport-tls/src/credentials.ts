import { readFile } from 'node:fs/promises';
import { InvalidConfigError } from '@sidecar/core';

/** A certificate, key or CA: a file path, or PEM text (string or Buffer). */
export type PemSource = string | Buffer;

/** The PEM material of one side of a mutual-TLS connection. */
export interface Credentials {
  /** CA certificate(s) that sign every peer's certificate. */
  ca: PemSource | PemSource[];
  /** This peer's certificate (it names the peer: `sidecar://<namespace>/<name>`). */
  cert: PemSource;
  /** This peer's private key. */
  key: PemSource;
}

/** Loaded PEM material, ready for `tls.createSecureContext`. */
export interface LoadedCredentials {
  ca: Buffer[];
  cert: Buffer;
  key: Buffer;
}

/** True when `source` holds PEM text rather than naming a file. */
export function isPem(source: PemSource): boolean {
  return Buffer.isBuffer(source) || source.includes('-----BEGIN ');
}

/** The paths among the sources (what a watcher must watch). */
export function filesOf(credentials: Credentials): string[] {
  const all = [...[credentials.ca].flat(), credentials.cert, credentials.key];
  return all.filter((s): s is string => !isPem(s));
}

async function loadOne(source: PemSource, what: string): Promise<Buffer> {
  if (Buffer.isBuffer(source)) return source;
  if (isPem(source)) return Buffer.from(source);
  try {
    return await readFile(source);
  } catch (err) {
    throw new InvalidConfigError(`cannot read the TLS ${what} from ${source}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/** Reads every file among the credentials (PEM text passes through). */
export async function loadCredentials(credentials: Partial<Credentials>): Promise<LoadedCredentials> {
  const { ca, cert, key } = credentials;
  if (!ca || !cert || !key) {
    const missing = (['ca', 'cert', 'key'] as const).filter((k) => !credentials[k]);
    throw new InvalidConfigError(
      `the tls transport needs ca, cert and key (missing: ${missing.join(', ')}); make development ones with: npx sidecar certs --out certs <names...>`,
    );
  }
  const [caBuffers, certBuffer, keyBuffer] = await Promise.all([
    Promise.all([ca].flat().map((s) => loadOne(s, 'CA'))),
    loadOne(cert, 'certificate'),
    loadOne(key, 'key'),
  ]);
  return { ca: caBuffers, cert: certBuffer, key: keyBuffer };
}
