import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDevCa, issuePeerCertificate, type PemPair } from './dev-certs.js';
import { peerUri } from './identity.js';

/** Options of `writeDevCertFiles()`. */
export interface DevCertFilesOptions {
  /** Namespace written into each peer certificate. @default 'default' */
  namespace?: string;
  /** Validity in days. @default 365 */
  days?: number;
  /** Called with one line per file group written (for a command's output). */
  log?: (line: string) => void;
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
 * Writes a development CA (`dir/ca.crt`, `dir/ca.key`, reused when both exist, so a later call
 * adds peers) and one certificate + key per name (`dir/<name>.crt`, `dir/<name>.key`, the name
 * percent-encoded in the file name). Keys are written mode 0600. Used by `sidecar certs`.
 *
 * @example
 * ```ts
 * await writeDevCertFiles('certs', ['billing', 'ledger']);
 * tls({ ca: 'certs/ca.crt', cert: 'certs/billing.crt', key: 'certs/billing.key' });
 * ```
 */
export async function writeDevCertFiles(
  dir: string,
  names: readonly string[],
  options: DevCertFilesOptions = {},
): Promise<void> {
  const namespace = options.namespace ?? 'default';
  const log = options.log ?? (() => {});
  await mkdir(dir, { recursive: true });
  let ca = await existingCa(dir);
  if (ca) log(`using the CA in ${join(dir, 'ca.crt')}`);
  else {
    ca = await createDevCa();
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    log(`created ${join(dir, 'ca.crt')} and ${join(dir, 'ca.key')} (keep ca.key secret)`);
  }
  for (const name of names) {
    const pair = await issuePeerCertificate(ca, {
      name,
      namespace,
      ...(options.days === undefined ? {} : { days: options.days }),
    });
    const base = join(dir, encodeURIComponent(name));
    await writeFile(`${base}.crt`, pair.cert);
    await writeFile(`${base}.key`, pair.key, { mode: 0o600 });
    log(`${base}.crt, ${base}.key: ${peerUri({ name, namespace })}`);
  }
}
