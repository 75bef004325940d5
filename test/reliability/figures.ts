import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './proc.js';

/** Where each scenario leaves its figures for the report (test files run in separate processes). */
export const FIGURES_DIR = join(REPO_ROOT, 'reports', '.reliability-figures');
/** The report `pnpm test:reliability` writes. */
export const REPORT_FILE = join(REPO_ROOT, 'reports', 'reliability.md');

/** What one scenario measured. Counts are totals over the scenario; absent means not applicable. */
export interface Figures {
  /** Short scenario name, e.g. `netns: address change`. */
  scenario: string;
  /** Registry the scenario ran on (`sqlite`, `redis`, `postgres`). */
  registry: string;
  /** Sidecar instances that served (across processes). */
  peers: number;
  /** Peer processes started. */
  processes: number;
  /** Streams opened by name. */
  streams: number;
  /** Request/reply calls made by name (plain streams and pillion RPC). */
  calls: number;
  /** Bytes compared end to end (sha256 or byte for byte). */
  bytesChecked: number;
  /** Faults injected (address changes, kills, link cuts, restarts, ...). */
  faults: number;
  /** Times from a fault to the first success after it, in ms. */
  recoveryMs: number[];
  /** Replies or bytes lost without an error (must be 0). */
  dataLost: number;
  /** Requests that failed with an error, all of them explained (in flight on a dead or leaving peer). */
  failedInFlight: number;
  /** Peak resident memory of the processes, in MiB, by role. */
  memoryMiB: { [role: string]: number };
  /** Free-form facts worth a line in the report. */
  notes: string[];
  /** Wall time of the scenario, in ms. */
  durationMs: number;
  /** Hostile-input scenarios only: what the attacker did and what it cost the peer. */
  hostile?: HostileFigures;
}

/** What a hostile-input scenario measured (test/reliability/hostile-*.test.ts). */
export interface HostileFigures {
  /** Hostile connections opened in all (reconnections included). */
  connectionsOpened: number;
  /** Most hostile connections open at once, as the attacker saw them. */
  heldAtOnce: number;
  /** Hostile connections still open when the legitimate callers had finished. */
  heldAtEnd: number;
  /** Hostile connections the peer closed. */
  closedByPeer: number;
  /** Bytes the attacker sent. */
  bytesSent: number;
  /** Most descriptors the attacked peer had open at once (sampled). */
  peerFdsMax: number;
  /** Crashes of any process (must be 0). */
  crashes: number;
}

/** Saves a scenario's figures for the report (one file per scenario). */
export function recordFigures(figures: Figures): void {
  mkdirSync(FIGURES_DIR, { recursive: true });
  const file = `${figures.scenario.replace(/[^a-z0-9]+/gi, '-')}-${figures.registry}.json`;
  writeFileSync(join(FIGURES_DIR, file), `${JSON.stringify(figures, null, 2)}\n`);
}

/** Every scenario's figures saved so far. */
export function readAllFigures(): Figures[] {
  let files: string[] = [];
  try {
    files = readdirSync(FIGURES_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.map((f) => JSON.parse(readFileSync(join(FIGURES_DIR, f), 'utf8')) as Figures);
}

/** The value at quantile `q` (0..1) of some numbers (nearest rank). */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** Peak resident set size (VmHWM) of a live process, in MiB, or 0 if it is gone. */
export function peakRssMiB(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
    return Math.round((kb / 1024) * 10) / 10;
  } catch {
    return 0;
  }
}

/** An empty figures record to fill in. */
export function newFigures(scenario: string, registry: string): Figures {
  return {
    scenario,
    registry,
    peers: 0,
    processes: 0,
    streams: 0,
    calls: 0,
    bytesChecked: 0,
    faults: 0,
    recoveryMs: [],
    dataLost: 0,
    failedInFlight: 0,
    memoryMiB: {},
    notes: [],
    durationMs: 0,
  };
}

/** Keeps the larger of the two memory figures for `role`. */
export function noteMemory(figures: Figures, role: string, mib: number): void {
  figures.memoryMiB[role] = Math.max(figures.memoryMiB[role] ?? 0, mib);
}
