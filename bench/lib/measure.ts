import { performance } from 'node:perf_hooks';

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
}

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

/** Prints comparisons as a table with the ratio ours/reference. */
export function printComparisons(title: string, rows: Comparison[]): void {
  console.log(`\n== ${title} ==`);
  const lines = rows.map((r) => ({
    measure: r.what,
    sidecar: `${fmt(r.ours)} ${r.unit}`,
    reference: `${fmt(r.reference)} ${r.unit} (${r.referenceLabel})`,
    ratio: (r.ours / r.reference).toFixed(3),
    goal: r.goal ?? '',
  }));
  console.table(lines);
}

function fmt(n: number): string {
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}
