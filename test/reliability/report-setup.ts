import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname } from 'node:path';
import { FIGURES_DIR, type Figures, percentile, REPORT_FILE, readAllFigures } from './figures.js';
import { cleanupLabs } from './netns.js';

/**
 * Vitest global setup of the reliability suite: clears the figures of an earlier run and any lab
 * a crashed run left behind; at the end, writes reports/reliability.md from every scenario's
 * figures.
 */
export default function setup(): () => void {
  const started = Date.now();
  rmSync(FIGURES_DIR, { recursive: true, force: true });
  try {
    cleanupLabs();
  } catch {
    // No `ip` here: the netns scenarios themselves fail with a clear message.
  }
  return () => {
    const figures = readAllFigures().sort((a, b) => a.scenario.localeCompare(b.scenario));
    mkdirSync(dirname(REPORT_FILE), { recursive: true });
    writeFileSync(REPORT_FILE, renderReport(figures, Date.now() - started));
  };
}

const ms = (v: number) => (Number.isFinite(v) ? `${Math.round(v)} ms` : '-');
const mib = (memory: Figures['memoryMiB']) =>
  Object.entries(memory)
    .map(([role, v]) => `${role} ${v}`)
    .join(', ') || '-';
const bytes = (n: number) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : `${n} B`);

/** The report's markdown: totals, one row per scenario, then the notes. */
export function renderReport(figures: Figures[], wallMs: number): string {
  const sum = (
    key:
      | 'peers'
      | 'processes'
      | 'streams'
      | 'calls'
      | 'bytesChecked'
      | 'faults'
      | 'dataLost'
      | 'failedInFlight',
  ) => figures.reduce((total, f) => total + f[key], 0);
  const recovery = figures.flatMap((f) => f.recoveryMs);
  const peakOf = (role: string) => Math.max(0, ...figures.map((f) => f.memoryMiB[role] ?? 0));
  const roles = [...new Set(figures.flatMap((f) => Object.keys(f.memoryMiB)))].sort();
  const lines = [
    '# sidecar reliability report',
    '',
    `Written by \`pnpm test:reliability\` on ${new Date().toISOString()} (Node ${process.version}, ` +
      `${cpus().length} cores); suite wall time ${(wallMs / 1000).toFixed(0)} s; ${figures.length} scenario runs recorded.`,
    '',
    '## Totals',
    '',
    '| figure | value |',
    '|---|---|',
    `| peers (sidecar instances serving) | ${sum('peers')} |`,
    `| peer processes | ${sum('processes')} |`,
    `| streams opened by name | ${sum('streams')} |`,
    `| calls by name | ${sum('calls')} |`,
    `| bytes checked end to end | ${bytes(sum('bytesChecked'))} |`,
    `| faults injected | ${sum('faults')} |`,
    `| recovery time p50 / max | ${ms(percentile(recovery, 0.5))} / ${ms(Math.max(...recovery))} (${recovery.length} recoveries) |`,
    `| data lost | ${sum('dataLost')} |`,
    `| requests failed in flight (explained: on a dead or leaving peer) | ${sum('failedInFlight')} |`,
    `| memory high-water (peak RSS, MiB) | ${roles.map((r) => `${r} ${peakOf(r)}`).join(', ') || '-'} |`,
    '',
    '## By scenario',
    '',
    '| scenario | registry | peers | procs | streams | calls | bytes checked | faults | recovery p50 / max | lost | failed in flight | peak RSS MiB | time |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...figures.map(
      (f) =>
        `| ${f.scenario} | ${f.registry} | ${f.peers} | ${f.processes} | ${f.streams} | ${f.calls} | ` +
        `${bytes(f.bytesChecked)} | ${f.faults} | ${ms(percentile(f.recoveryMs, 0.5))} / ` +
        `${ms(f.recoveryMs.length ? Math.max(...f.recoveryMs) : Number.NaN)} | ${f.dataLost} | ${f.failedInFlight} | ` +
        `${mib(f.memoryMiB)} | ${(f.durationMs / 1000).toFixed(1)} s |`,
    ),
    ...hostileSection(figures),
    '',
    '## Notes',
    '',
    ...figures.flatMap((f) => f.notes.map((n) => `- ${f.scenario} (${f.registry}): ${n}`)),
    '',
  ];
  return lines.join('\n');
}

/** The hostile-input table: one row per scenario that recorded `hostile` figures. */
function hostileSection(figures: Figures[]): string[] {
  const hostile = figures.filter((f) => f.hostile);
  if (hostile.length === 0) return [];
  return [
    '',
    '## Hostile input',
    '',
    '| scenario | hostile connections opened | held at once / at the end | closed by the peer | bytes sent | peer descriptors max | legit calls ok | peak RSS MiB | crashes |',
    '|---|---|---|---|---|---|---|---|---|',
    ...hostile.map((f) => {
      const h = f.hostile as NonNullable<Figures['hostile']>;
      return (
        `| ${f.scenario} | ${h.connectionsOpened} | ${h.heldAtOnce} / ${h.heldAtEnd} | ${h.closedByPeer} | ` +
        `${bytes(h.bytesSent)} | ${h.peerFdsMax || '-'} | ${f.calls}/${f.streams} | ${mib(f.memoryMiB)} | ${h.crashes} |`
      );
    }),
  ];
}
