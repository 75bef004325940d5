/**
 * Makes a development CA and one certificate per peer name, for the TLS transport.
 *
 *   pnpm exec tsx --conditions=@sidecar/source packages/transport-tls/scripts/make-certs.ts \
 *     --out certs [--namespace default] [--days 365] billing ledger
 *
 * Writes DIR/ca.crt and DIR/ca.key (reused if they already exist, so more peers can be added
 * later) and DIR/<name>.crt + DIR/<name>.key per peer (the name percent-encoded in the file name).
 */
import { parseArgs } from 'node:util';
import { writeDevCertFiles } from '../src/index.js';

const USAGE =
  'usage: make-certs.ts --out DIR [--namespace NS] [--days N] NAME...\n' +
  '  writes DIR/ca.crt, DIR/ca.key (kept if present) and DIR/<name>.crt, DIR/<name>.key per name\n' +
  '  (installed packages: npx sidecar certs does the same)';

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
  await writeDevCertFiles(values.out, positionals, { namespace: values.namespace, days, log: console.log });
}

main().catch((err: unknown) => {
  console.error((err as Error).message);
  process.exitCode = 1;
});
