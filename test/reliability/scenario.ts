import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Figures, noteMemory, peakRssMiB } from './figures.js';
import type { ErrorInfo } from './peers/lib/io.js';
import type { Identity } from './peers/lib/wire.js';
import type { Line, PeerProcess } from './proc.js';

/** Peer scripts, relative to the repository root. */
export const SCRIPTS = {
  server: 'test/reliability/peers/server.ts',
  caller: 'test/reliability/peers/caller.ts',
  holder: 'test/reliability/peers/holder.ts',
  observer: 'test/reliability/peers/observer.ts',
  churner: 'test/reliability/peers/churner.ts',
  flooder: 'test/reliability/peers/flooder.ts',
  hostile: 'test/reliability/peers/hostile.ts',
  prober: 'test/reliability/peers/prober.ts',
} as const;

/** One request a caller made (a `t:'call'` line). */
export interface CallLine extends Line {
  ok: boolean;
  target: string;
  id: string;
  start: number;
  end: number;
  from?: Identity;
  bytes?: number;
  wrong?: boolean;
  connected?: string;
  error?: ErrorInfo;
}

/** The summary a caller prints when it stops (a `t:'done'` line). */
export interface DoneLine extends Line {
  calls: number;
  ok: number;
  failed: number;
  bytes: number;
  mismatches: number;
  wrongApp: number;
}

/** A registry namespace of its own for one scenario. */
export function uniqueNamespace(scenario: string): string {
  return `rel-${scenario}-${randomBytes(4).toString('hex')}`;
}

/** A temporary directory (world-writable, for SQLite files shared across namespaces) and its removal. */
export function workdir(): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-rel-'));
  chmodSync(dir, 0o777);
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A caller's request lines. */
export function callsOf(peer: PeerProcess): CallLine[] {
  return peer.of('call') as CallLine[];
}

/** Asks a caller to stop and returns its summary. */
export async function finishCaller(peer: PeerProcess, timeoutMs = 30_000): Promise<DoneLine> {
  peer.send({ cmd: 'stop' });
  return (await peer.waitFor((l) => l.t === 'done', timeoutMs, 'the done summary')) as DoneLine;
}

/** Records the peak RSS of each process under `role` (read from /proc while it still runs). */
export function sampleMemory(figures: Figures, role: string, peers: PeerProcess[]): void {
  for (const peer of peers) if (peer.running) noteMemory(figures, role, peakRssMiB(peer.pid));
}

/** Waits until `predicate` holds for some line of `peer`, and returns when it did (ms since epoch). */
export async function firstAfter(
  peer: PeerProcess,
  since: number,
  match: (call: CallLine) => boolean,
  timeoutMs: number,
  what: string,
): Promise<CallLine> {
  return (await peer.waitFor(
    (l) => l.t === 'call' && (l as CallLine).start >= since && match(l as CallLine),
    timeoutMs,
    what,
  )) as CallLine;
}
