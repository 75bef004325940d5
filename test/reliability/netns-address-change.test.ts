import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { callWhileMoving } from './address-changes.js';
import { newFigures, recordFigures } from './figures.js';
import { NetnsLab } from './netns.js';
import { describePeers, killAllPeers } from './proc.js';
import { callsOf, finishCaller, SCRIPTS, sampleMemory, uniqueNamespace, workdir } from './scenario.js';

const CHANGES = 3;
/** The bounded wait for callers to reach the moved peer again. */
const RECOVERY_LIMIT_MS = 20_000;

describe('netns: a peer host gets a new address (DHCP)', () => {
  const work = workdir();
  let lab: NetnsLab | undefined;
  afterAll(async () => {
    await killAllPeers();
    await lab?.destroy();
    work.remove();
  });

  it('callers keep calling by name and reach it again, with no manual step', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('netns: address change', 'sqlite');
    const began = Date.now();
    lab = await NetnsLab.create(2);
    const [serverHost, callerHost] = lab.hosts as [NetnsLab['hosts'][0], NetnsLab['hosts'][0]];
    const base = {
      registry: `sqlite:${work.dir}/registry.db`,
      namespace: uniqueNamespace('move'),
      ttl: 3000,
    };
    const server = lab.spawn(serverHost, SCRIPTS.server, {
      ...base,
      app: 'mover',
      names: ['mover'],
      // No app code follows the address: the TCP transport tracks the machine's address itself.
      tcp: { host: '0.0.0.0', advertiseHost: 'auto', addressCheckInterval: 100 },
    });
    await server.ready();
    const { caller, changedAt: changes } = await callWhileMoving(lab, {
      mover: serverHost,
      callerHost,
      base,
      changes: CHANGES,
      recoveryLimitMs: RECOVERY_LIMIT_MS,
      // Let the callers run on the new address for a moment before the next change.
      settleMs: 1000,
      figures,
    });
    sampleMemory(figures, 'peer', [server, caller]);
    const done = await finishCaller(caller);
    const calls = callsOf(caller);

    // Every reply came from the app that was asked for, and every request is accounted for.
    expect(calls.filter((c) => c.ok && (c.from?.app !== 'mover' || c.from?.name !== 'mover'))).toEqual([]);
    expect(done.ok + done.failed).toBe(done.calls);
    expect(calls.length).toBe(done.calls);
    // Only requests in flight while an address changed may fail (their connection was cut).
    const inFlight = (c: (typeof calls)[number]) => changes.some((t) => c.start <= t + 250 && c.end >= t);
    const failed = calls.filter((c) => !c.ok);
    expect(failed.filter((c) => !inFlight(c))).toEqual([]);
    expect(server.of('misdelivered')).toEqual([]);
    // (A reply from the new address proves the record was updated: the peer app does nothing itself.)

    figures.peers = 1;
    figures.processes = 2;
    figures.streams = done.calls;
    figures.calls = done.calls;
    figures.faults = CHANGES;
    figures.failedInFlight = failed.length;
    figures.notes.push(
      `${CHANGES} address changes; recovery = change -> first reply from the new address: ${figures.recoveryMs.join(', ')} ms`,
      'a recovery takes about one dialTimeout (core default 2000 ms): the dial already under way to the vanished address runs into it before the caller tries the fresh record',
      "the peer app does nothing: the TCP transport follows the host's address (advertiseHost 'auto', checked every 100 ms) and core updates the record",
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await server.stop();
  });
});
