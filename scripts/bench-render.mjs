/**
 * Renders the JSON rows that bench/lib/measure.ts's printComparisons appends (one object a line)
 * as reports/bench.md: one table per printed title, grouped by bench, with every figure, its
 * spread, the reference, the ratio and whether the goal is met.
 *
 *   node scripts/bench-render.mjs rows.jsonl [meta.json] > reports/bench.md
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** `n` with 3 significant-ish digits, as the console tables print it. */
function fmt(n) {
  if (!Number.isFinite(n)) return String(n);
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function figure(value, unit, spread) {
  const base = `${fmt(value)} ${unit}`;
  return spread ? `${base} [${fmt(spread.p25)}-${fmt(spread.p75)}] n=${spread.n}` : base;
}

/** `yes`, `no` or `-` (a goal that is not a plain bound on the ratio). */
export function goalMet(goal, ratio) {
  if (!goal) return '';
  const bound = /^\s*(<=|>=|<|>)\s*([0-9.]+)\s*$/.exec(goal);
  if (bound) {
    const limit = Number(bound[2]);
    const ok = { '<=': ratio <= limit, '>=': ratio >= limit, '<': ratio < limit, '>': ratio > limit }[
      bound[1]
    ];
    return ok ? 'yes' : 'no';
  }
  const range = /^\s*([0-9.]+)\s*-\s*([0-9.]+)\s*$/.exec(goal);
  if (range) return ratio >= Number(range[1]) && ratio <= Number(range[2]) ? 'yes' : 'no';
  return '-';
}

const cell = (text) => String(text).replaceAll('|', '\\|');

/** The markdown of `rows` (ComparisonRecord objects) and `meta` (see scripts/bench.mjs). */
export function render(rows, meta = {}) {
  const out = ['# Benchmark report', ''];
  out.push(
    `Written by \`pnpm bench\` (scripts/bench.mjs); how to run and read it: [docs/performance.md](../docs/performance.md).`,
    '',
  );
  const facts = [
    ['date', meta.date],
    ['commit', meta.commit],
    ['node', meta.node],
    ['machine', meta.machine],
    ['load average (1/5/15 min) at start', meta.loadStart],
    ['load average at end', meta.loadEnd],
    ['scheduling priority (nice)', meta.nice],
  ].filter(([, v]) => v !== undefined);
  if (facts.length > 0) {
    out.push('| | |', '|---|---|', ...facts.map(([k, v]) => `| ${k} | ${cell(v)} |`), '');
  }
  out.push(
    'Figures are medians; `[a-b] n=N` is the 25th-75th percentile of the N samples. A ratio with a',
    'range is the median of per-round ratios of interleaved runs (with its quartiles); otherwise it is',
    'the ratio of the two medians. Ratios are sidecar / reference: below 1 is better for latency and',
    'CPU, above 1 is better for throughput and rates.',
    '',
  );
  const benches = [...new Set([...(meta.benches ?? []).map((b) => b.name), ...rows.map((r) => r.bench)])];
  for (const bench of benches) {
    const run = (meta.benches ?? []).find((b) => b.name === bench);
    out.push(`## ${bench}`, '');
    if (run) {
      out.push(
        `\`${run.command}\`: exit ${run.exitCode}, ${run.seconds.toFixed(0)} s, load ${run.loadBefore} -> ${run.loadAfter}.`,
        '',
      );
    }
    const mine = rows.filter((r) => r.bench === bench);
    if (mine.length === 0) out.push('No figures: the bench printed none (see its exit code above).', '');
    for (const title of [...new Set(mine.map((r) => r.title))]) {
      out.push(`### ${title}`, '');
      out.push('| figure | sidecar | reference | ratio | goal | met |', '|---|---|---|---|---|---|');
      for (const r of mine.filter((row) => row.title === title)) {
        const ratio = r.ratioSpread
          ? `${r.ratio.toFixed(3)} [${r.ratioSpread.p25.toFixed(3)}-${r.ratioSpread.p75.toFixed(3)}]`
          : r.ratio.toFixed(3);
        out.push(
          `| ${cell(r.what)} | ${figure(r.ours, r.unit, r.oursSpread)} | ${cell(r.referenceLabel)}: ${figure(r.reference, r.unit, r.referenceSpread)} | ${ratio} | ${cell(r.goal ?? '')} | ${goalMet(r.goal, r.ratio)} |`,
        );
      }
      out.push('');
    }
  }
  return `${out.join('\n')}\n`;
}

/** Parses a JSON-lines file of rows, skipping blank lines. */
export function readRows(file) {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line));
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [rowsFile, metaFile] = process.argv.slice(2);
  if (!rowsFile) {
    console.error('usage: node scripts/bench-render.mjs rows.jsonl [meta.json]');
    process.exit(2);
  }
  const meta = metaFile ? JSON.parse(readFileSync(metaFile, 'utf8')) : {};
  process.stdout.write(render(readRows(rowsFile), meta));
}
