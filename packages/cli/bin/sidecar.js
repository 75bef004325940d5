#!/usr/bin/env node
// The `sidecar` command. Runs the compiled CLI; inside the repository, `pnpm build` makes it.
import { existsSync } from 'node:fs';

const entry = new URL('../dist/bin.js', import.meta.url);
if (!existsSync(entry)) {
  console.error('sidecar: the CLI is not built yet; run: pnpm build   (or: bash scripts/setup.sh)');
  process.exit(1);
}
await import(entry.href);
