import { appendFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** How a set of samples is spread: quartiles, extremes and count. */
export interface Spread {
  /** 25th percentile. */
  p25: number;
  /** 75th percentile. */
  p75: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
  /** Number of samples. */
  n: number;
}

/** One line of a benchmark report: sidecar's figure next to a reference measured in the same run. */
export interface Comparison {
  /** What was measured, e.g. `connect-by-name latency`. */
  what: string;
  /** Unit of both figures, e.g. `us` or `MB/s`. */
  unit: string;
  /** sidecar's figure. */
  ours: number;
  /** The reference figure (raw socket, raw driver, peer library). */
  reference: number;
  /** What the reference is, e.g. `raw net.connect`. */
  referenceLabel: string;
  /** `lower` if smaller is better (latency), `higher` if bigger is better (throughput). */
  better: 'lower' | 'higher';
  /** The goal for ours/reference, e.g. `<= 1.2` or `>= 0.98` (printed, not enforced). */
  goal?: string;
  /** Spread of the samples behind `ours` (optional: older benches give none). */
  oursSpread?: Spread;
  /** Spread of the samples behind `reference`. */
  referenceSpread?: Spread;
  /**
   * The ratio, when measured as the median of paired (interleaved) runs rather than
   * `ours / reference` of the two medians. @default ours / reference
   */
  ratio?: number;
  /** Spread of the per-pair ratios behind `ratio`. */
  ratioSpread?: Spread;
}

/** One row as written to the file named by {@link BENCH_JSON_ENV}, one JSON object a line. */
export interface ComparisonRecord extends Comparison {
  /** The bench that printed it (from {@link BENCH_NAME_ENV}, else the script's file name). */
  bench: string;
  /** The title given to printComparisons. */
  title: string;
  /** ours / reference, or the paired ratio. */
  ratio: number;
  /** When the row was printed, ISO 8601. */
  at: string;
}

/** Environment variable naming a file that printComparisons appends JSON rows to. */
export const BENCH_JSON_ENV = 'SIDECAR_BENCH_JSON';
/** Environment variable naming the bench in those rows (set by scripts/bench.mjs). */
export const BENCH_NAME_ENV = 'SIDECAR_BENCH_NAME';

/** Runs `fn` `iterations` times after `warmup` runs and returns per-run times in microseconds. */
export async function timeEach(
  fn: () => Promise<unknown>,
  iterations: number,
  warmup = Math.min(50, iterations),
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    times.push((performance.now() - t0) * 1000);
  }
  return times;
}

/**
 * Runs every subject once per round, A B C A B C ..., in a new shuffled order each round (seeded,
 * so runs are alike), so that no subject always follows the same one and inherits its leftovers
 * (GC, sockets closing); `between` runs before each sample (e.g. a forced GC and a pause). Returns
 * each subject's results in round order: result i of two subjects come from the same round and
 * can be paired. Load from elsewhere on the machine then hits all subjects alike.
 */
export async function interleave<K extends string>(
  subjects: Record<K, () => Promise<number>>,
  rounds: number,
  between?: () => Promise<void>,
): Promise<Record<K, number[]>> {
  const keys = Object.keys(subjects) as K[];
  const results = Object.fromEntries(keys.map((k) => [k, [] as number[]])) as Record<K, number[]>;
  const random = seeded(rounds * 7919 + keys.length);
  for (let round = 0; round < rounds; round++) {
    const order = [...keys];
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j] as K, order[i] as K];
    }
    for (const key of order) {
      await between?.();
      results[key].push(await subjects[key]());
    }
  }
  return results;
}

/** A small seeded pseudo-random generator (mulberry32) giving numbers in [0, 1). */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Collects garbage now, if the process can (see `exposeGc`). */
export function collectGarbage(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

/** Makes `collectGarbage` work without `node --expose-gc` (benches only). */
export function exposeGc(): void {
  setFlagsFromString('--expose-gc');
  (globalThis as { gc?: unknown }).gc ??= runInNewContext('gc');
}

/** The p-th percentile (0-100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

/** Median of a list of numbers. */
export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Quartiles, extremes and count of a list of numbers. */
export function spreadOf(values: number[]): Spread {
  return {
    p25: percentile(values, 25),
    p75: percentile(values, 75),
    min: Math.min(...values),
    max: Math.max(...values),
    n: values.length,
  };
}

/** ours[i] / reference[i] for each pair of interleaved samples. */
export function pairedRatios(ours: number[], reference: number[]): number[] {
  return ours.slice(0, reference.length).map((v, i) => v / (reference[i] as number));
}

/**
 * A comparison from raw samples: medians, their spreads, and (when the samples were taken
 * interleaved and pair up) the median of the per-pair ratios with its spread.
 */
export function compareSamples(
  row: Omit<Comparison, 'ours' | 'reference' | 'oursSpread' | 'referenceSpread' | 'ratio' | 'ratioSpread'>,
  ours: number[],
  reference: number[],
  paired = ours.length === reference.length,
): Comparison {
  const ratios = paired ? pairedRatios(ours, reference) : undefined;
  return {
    ...row,
    ours: median(ours),
    reference: median(reference),
    oursSpread: spreadOf(ours),
    referenceSpread: spreadOf(reference),
    ...(ratios ? { ratio: median(ratios), ratioSpread: spreadOf(ratios) } : {}),
  };
}

/** The ratio of a row: the paired ratio if there is one, else ours / reference. */
export function ratioOf(row: Comparison): number {
  return row.ratio ?? row.ours / row.reference;
}

/**
 * Prints comparisons as a table with the ratio ours/reference (and the spreads, where given).
 * When `SIDECAR_BENCH_JSON` names a file, each row is also appended to it as one JSON line, for
 * scripts/bench.mjs to render reports/bench.md.
 */
/** The description of a latency row (microseconds, lower is better), for compareSamples. */
export function latencyRow(what: string, referenceLabel: string, goal?: string) {
  return { what, unit: 'us', referenceLabel, better: 'lower' as const, ...(goal ? { goal } : {}) };
}

/** The description of a throughput row (MB/s, higher is better), for compareSamples. */
export function throughputRow(what: string, referenceLabel: string, goal?: string) {
  return { what, unit: 'MB/s', referenceLabel, better: 'higher' as const, ...(goal ? { goal } : {}) };
}

export function printComparisons(title: string, rows: Comparison[]): void {
  console.log(`\n== ${title} ==`);
  const lines = rows.map((r) => ({
    measure: r.what,
    sidecar: `${fmt(r.ours)} ${r.unit}${range(r.oursSpread)}`,
    reference: `${fmt(r.reference)} ${r.unit}${range(r.referenceSpread)} (${r.referenceLabel})`,
    ratio: `${ratioOf(r).toFixed(3)}${r.ratioSpread ? ` [${r.ratioSpread.p25.toFixed(3)}-${r.ratioSpread.p75.toFixed(3)}]` : ''}`,
    goal: r.goal ?? '',
  }));
  console.table(lines);
  const file = process.env[BENCH_JSON_ENV];
  if (!file) return;
  const bench = process.env[BENCH_NAME_ENV] ?? (process.argv[1] ?? 'bench').replace(/^.*\/|\.[^.]*$/g, '');
  const at = new Date().toISOString();
  const json = rows.map((r) =>
    JSON.stringify({ bench, title, ...r, ratio: ratioOf(r), at } satisfies ComparisonRecord),
  );
  appendFileSync(file, `${json.join('\n')}\n`);
}

/** ` [p25-p75]` of a spread, or nothing. */
function range(spread: Spread | undefined): string {
  return spread ? ` [${fmt(spread.p25)}-${fmt(spread.p75)}]` : '';
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

/** The machine's load averages over 1, 5 and 15 minutes, e.g. `1.52 1.20 0.98`. */
export function loadNow(): string {
  return loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
}
