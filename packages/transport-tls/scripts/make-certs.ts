/**
 * Makes a development CA and one certificate per peer name, for the TLS transport.
 *
 *   pnpm exec tsx --conditions=@sidecar/source packages/transport-tls/scripts/make-certs.ts \
 *     --out certs [--namespace default] [--days 365] billing ledger
 *
 * Writes DIR/ca.crt and DIR/ca.key (reused if they already exist, so more peers can be added
 * later) and DIR/<name>.crt + DIR/<name>.key per peer (the name percent-encoded in the file name).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createDevCa, issuePeerCertificate, type PemPair, peerUri } from '../src/index.js';

const USAGE =
  'usage: make-certs.ts --out DIR [--namespace NS] [--days N] NAME...\n' +
  '  writes DIR/ca.crt, DIR/ca.key (kept if present) and DIR/<name>.crt, DIR/<name>.key per name';

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

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      out: { type: 'string', short: 'o' },
      namespace: { type: 'string', short: 'n', default: 'default' },
      days: { type: 'string', default: '365' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const days = Number(values.days);
  if (values.help || !values.out || positionals.length === 0 || !(days > 0)) {
    console.error(USAGE);
    process.exitCode = values.help ? 0 : 2;
    return;
  }
  const dir = values.out;
  await mkdir(dir, { recursive: true });
  let ca = await existingCa(dir);
  if (ca) console.log(`using the CA in ${join(dir, 'ca.crt')}`);
  else {
    ca = await createDevCa();
    await writeFile(join(dir, 'ca.crt'), ca.cert);
    await writeFile(join(dir, 'ca.key'), ca.key, { mode: 0o600 });
    console.log(`created ${join(dir, 'ca.crt')} and ${join(dir, 'ca.key')} (keep ca.key secret)`);
  }
  for (const name of positionals) {
    const pair = await issuePeerCertificate(ca, { name, namespace: values.namespace, days });
    const base = join(dir, encodeURIComponent(name));
    await writeFile(`${base}.crt`, pair.cert);
    await writeFile(`${base}.key`, pair.key, { mode: 0o600 });
    console.log(`${base}.crt, ${base}.key: ${peerUri({ name, namespace: values.namespace })}`);
  }
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
