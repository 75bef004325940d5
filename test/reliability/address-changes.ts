import { setTimeout as sleep } from 'node:timers/promises';
import type { Figures } from './figures.js';
import type { Host, NetnsLab } from './netns.js';
import type { PeerProcess } from './proc.js';
import { firstAfter, SCRIPTS } from './scenario.js';

/** How the address-change scenarios move a peer while a caller calls it. */
export interface MoveOptions {
  /** The host of the peer called "mover"; its address changes. */
  mover: Host;
  /** Where the caller runs. */
  callerHost: Host;
  /** Registry, namespace and TTL shared by every peer of the scenario. */
  base: object;
  /** How many address changes. */
  changes: number;
  /** The bounded wait for a reply from the new address (a failure, not a measure), in ms. */
  recoveryLimitMs: number;
  /** How long callers run on each new address before the next change, in ms. */
  settleMs: number;
  /** Receives each change's recovery time (change -> first reply from the new address). */
  figures: Figures;
}

/**
 * Starts a caller that calls "mover" by name in a loop, then gives the mover's host a new address
 * `changes` times, waiting each time for a call answered from the new address. Resolves with the
 * caller (still running) and the time of each change.
 */
export async function callWhileMoving(
  lab: NetnsLab,
  options: MoveOptions,
): Promise<{ caller: PeerProcess; changedAt: number[] }> {
  const caller = lab.spawn(options.callerHost, SCRIPTS.caller, {
    ...options.base,
    app: 'caller',
    name: 'caller',
    targets: ['mover'],
    op: 'call',
    loops: 2,
    pauseMs: 20,
    durationMs: 150_000,
    callTimeoutMs: 8000,
  });
  await caller.ready();
  await caller.waitFor((l) => l.t === 'call' && l.ok === true, 20_000, 'a first successful call');
  const changedAt: number[] = [];
  for (let round = 1; round <= options.changes; round++) {
    const address = lab.address(100 + round);
    const at = Date.now();
    await lab.setAddress(options.mover, address);
    changedAt.push(at);
    const back = await firstAfter(
      caller,
      at,
      (c) => c.ok && c.from?.host === address,
      options.recoveryLimitMs,
      `a call answered from the new address ${address}`,
    );
    options.figures.recoveryMs.push(back.end - at);
    await sleep(options.settleMs);
  }
  return { caller, changedAt };
}
