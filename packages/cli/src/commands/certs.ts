import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidConfigError, validateName } from '@sidecar/core';
import { createDevCa, issuePeerCertificate, type PemPair, peerUri } from '@sidecar/transport-tls';

/** Where `sidecar certs` writes when no `--out` is given. */
export const DEFAULT_CERTS_DIR = 'certs';
/** How long the certificates of `sidecar certs` are valid, in days. */
export const DEFAULT_CERT_DAYS = 365;

/** Options of `sidecar certs`. */
export interface CertsOptions {
  /** Directory for the files. @default 'certs' */
  out?: string;
  /** Namespace written into each peer certificate. @default SIDECAR_NAMESPACE, else 'default' */
  namespace?: string;
  /** Validity in days. @default 365 */
  days?: number;
}

async function existingCa(dir: string): Promise<PemPair | undefined> {
  try {
    const [cert, key] = await Promise.all([
      readFile(join(dir, 'ca.crt'), 'utf8'),
      readFile(join(dir, 'ca.key'), 'utf8'),
    ]);
    return { cert, key };
  } catch {
    return undefined;
  }
}

/**
 * `sidecar certs [names...]`: a development CA (`DIR/ca.crt`, `DIR/ca.key`, reused when present)
 * and one certificate + key per peer name (`DIR/<name>.crt`, `DIR/<name>.key`, the name
 * percent-encoded in the file name), for `@sidecar/transport-tls`. Keys are written mode 0600.
 */
export async function certs(names: string[], options: CertsOptions): Promise<void> {
  for (const name of names) validateName(name);
  const days = options.days ?? DEFAULT_CERT_DAYS;
  if (!(days > 0)) throw new InvalidConfigError(`--days must be a positive number, got ${days}`);
  const namespace = options.namespace ?? process.env.SIDECAR_NAMESPACE ?? 'default';
  const dir = options.out ?? DEFAULT_CERTS_DIR;
  await mkdir(dir, { recursive: true });
  let ca = await existingCa(dir);
  if (ca) process.stdout.write(`using the CA in ${join(dir, 'ca.crt')}\n`);
  else {
    ca = await createDevCa();
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    process.stdout.write(`created ${join(dir, 'ca.crt')} and ${join(dir, 'ca.key')} (keep ca.key secret)\n`);
  }
  for (const name of names) {
    const pair = await issuePeerCertificate(ca, { name, namespace, days });
    const base = join(dir, encodeURIComponent(name));
    await writeFile(`${base}.crt`, pair.cert);
    await writeFile(`${base}.key`, pair.key, { mode: 0o600 });
    process.stdout.write(`${base}.crt, ${base}.key: ${peerUri({ name, namespace })}\n`);
  }
}
