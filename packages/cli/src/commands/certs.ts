import { InvalidConfigError, validateName } from '@sidecar/core';
import { writeDevCertFiles } from '@sidecar/transport-tls';

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

/**
 * `sidecar certs [names...]`: a development CA (`DIR/ca.crt`, `DIR/ca.key`, reused when present)
 * and one certificate + key per peer name (`DIR/<name>.crt`, `DIR/<name>.key`, the name
 * percent-encoded in the file name), for `@sidecar/transport-tls`. Keys are written mode 0600.
 */
export async function certs(names: string[], options: CertsOptions): Promise<void> {
  for (const name of names) validateName(name);
  const days = options.days ?? DEFAULT_CERT_DAYS;
  if (!(days > 0)) throw new InvalidConfigError(`--days must be a positive number, got ${days}`);
  await writeDevCertFiles(options.out ?? DEFAULT_CERTS_DIR, names, {
    namespace: options.namespace ?? process.env.SIDECAR_NAMESPACE ?? 'default',
    days,
    log: (line) => process.stdout.write(`${line}\n`),
  });
}
