/**
 * `pnpm bench`: runs every bench (or the ones named), one after the other, and writes
 * reports/bench.md from the rows each printed through printComparisons (bench/lib/measure.ts
 * appends them to the file named by SIDECAR_BENCH_JSON). A bench that fails is reported with its
 * exit code; the others still run. Exits non-zero if any failed.
 *
 *   pnpm bench                 # tcp tls sql redis pillion metrics scale
 *   pnpm bench tcp tls         # just these
 *   SIDECAR_BENCH_NICE=-10 pnpm bench   # raise the benches' priority (root), on a shared machine
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readRows, render } from './bench-render.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
/** The benches `pnpm bench` runs, by their `bench:NAME` script. */
const ALL = ['tcp', 'tls', 'sql', 'redis', 'pillion', 'metrics', 'scale'];
const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : ALL;
const out = process.env.SIDECAR_BENCH_REPORT ?? join(root, 'reports', 'bench.md');

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');

const nice = process.env.SIDECAR_BENCH_NICE;
if (nice) {
  try {
    setPriority(Number(nice)); // the benches and their child processes inherit it
  } catch (err) {
    console.error(`cannot set priority ${nice}: ${err.message}; running at the default`);
  }
}

function run(name, env) {
  return new Promise((resolve) => {
    const child = spawn('pnpm', ['-s', `bench:${name}`], { cwd: root, env, stdio: 'inherit' });
    child.once('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.once('error', () => resolve(127));
  });
}

const dir = mkdtempSync(join(tmpdir(), 'sidecar-bench-rows-'));
const rowsFile = join(dir, 'rows.jsonl');
writeFileSync(rowsFile, '');
const meta = {
  date: new Date().toISOString(),
  commit: gitCommit(),
  node: process.version,
  machine: `${cpus()[0]?.model ?? 'unknown CPU'}, ${cpus().length} cores, ${process.platform} ${process.arch}`,
  loadStart: load(),
  nice: nice ?? '0 (default)',
  benches: [],
};
let failed = 0;
for (const name of names) {
  const loadBefore = load();
  const t0 = performance.now();
  console.log(`\n##### bench:${name} (load ${loadBefore})`);
  const exitCode = await run(name, {
    ...process.env,
    SIDECAR_BENCH_JSON: rowsFile,
    SIDECAR_BENCH_NAME: name,
  });
  if (exitCode !== 0) failed++;
  meta.benches.push({
    name,
    command: `pnpm bench:${name}`,
    exitCode,
    seconds: (performance.now() - t0) / 1000,
    loadBefore,
    loadAfter: load(),
  });
}
meta.loadEnd = load();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, render(readRows(rowsFile), meta));
rmSync(dir, { recursive: true, force: true });
console.log(`\nwrote ${out}${failed ? ` (${failed} bench(es) failed)` : ''}`);
process.exitCode = failed ? 1 : 0;

function gitCommit() {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
