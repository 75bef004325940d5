import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type KillableServer, startPostgres, startRedis } from '../setup/servers/index.js';
import { callWhileMoving } from './address-changes.js';
import { newFigures, recordFigures } from './figures.js';
import { type Host, NetnsLab } from './netns.js';
import { describePeers, killAllPeers, type Line, type PeerProcess } from './proc.js';
import { callsOf, finishCaller, SCRIPTS, sampleMemory, uniqueNamespace } from './scenario.js';

const CHANGES = 3;
const TTL_MS = 3000;
/** The bounded wait for callers to reach the moved peer again (a failure, not a measure). */
const RECOVERY_LIMIT_MS = 20_000;

type Event = Line & { type: string; instanceId: string };

/**
 * The DHCP scenario with a NETWORK registry: the moved host's registry connection goes out from
 * the vanished address, so unless the registry client notices and reconnects, its heartbeats and
 * the record update (the new address) never arrive and the peer is lost for good.
 */
describe.each([
  ['redis', (host: string) => startRedis({ host })],
  ['postgres', (host: string) => startPostgres({ host })],
] as const)('netns: a peer host gets a new address, with a %s registry', (kind, startServer) => {
  let lab: NetnsLab | undefined;
  let server: KillableServer | undefined;
  afterAll(async () => {
    await killAllPeers();
    await server?.stop();
    await lab?.destroy();
  });

  it('callers reach it again at its new address, its record never times out', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('registry: address change', kind);
    const began = Date.now();
    lab = await NetnsLab.create(2);
    const [moverHost, callerHost] = lab.hosts as [Host, Host];
    server = await startServer(lab.bridgeAddress);
    const base = { registry: server.url, namespace: uniqueNamespace(`move-${kind}`), ttl: TTL_MS };
    const mover = lab.spawn(moverHost, SCRIPTS.server, {
      ...base,
      app: 'mover',
      names: ['mover'],
      tcp: { host: '0.0.0.0', advertiseHost: 'auto', addressCheckInterval: 100 },
    });
    const moverId = ((await mover.ready()).instances as Array<{ instanceId: string }>)[0]?.instanceId;
    const observer: PeerProcess = lab.spawn(callerHost, SCRIPTS.observer, {
      ...base,
      app: 'observer',
      name: 'observer',
    });
    await observer.ready();
    const { caller, changedAt: changes } = await callWhileMoving(lab, {
      mover: moverHost,
      callerHost,
      base,
      changes: CHANGES,
      recoveryLimitMs: RECOVERY_LIMIT_MS,
      // Longer than a TTL on the new address: a record left unrenewed would time out meanwhile.
      settleMs: TTL_MS + 1000,
      figures,
    });
    sampleMemory(figures, 'peer', [mover, caller, observer]);
    const done = await finishCaller(caller);
    const calls = callsOf(caller);
    const failed = calls.filter((c) => !c.ok);
    const spurious = (observer.of('event') as Event[]).filter(
      (e) => e.instanceId === moverId && (e.type === 'timeout' || e.type === 'leave'),
    );

    expect(calls.filter((c) => c.ok && c.from?.app !== 'mover')).toEqual([]);
    expect(done.ok + done.failed).toBe(done.calls);
    expect(mover.of('misdelivered')).toEqual([]);
    // The peer was never lost: no watcher saw it time out.
    expect(spurious).toEqual([]);
    // Only requests in flight while an address changed may fail (their connection was cut).
    const inFlight = (c: (typeof calls)[number]) => changes.some((t) => c.start <= t + 250 && c.end >= t);
    expect(failed.filter((c) => !inFlight(c))).toEqual([]);
    expect(figures.recoveryMs.length).toBe(CHANGES);

    const reconnects = (mover.of('warning') as Array<Line & { error?: { message?: string } }>).filter((w) =>
      /reconnecting to the registry/.test(w.error?.message ?? ''),
    ).length;
    figures.peers = 1;
    figures.processes = 3;
    figures.streams = done.calls;
    figures.calls = done.calls;
    figures.faults = CHANGES;
    figures.failedInFlight = failed.length;
    figures.notes.push(
      `${kind} registry on the lab bridge; ${CHANGES} address changes of the peer host; recovery = change -> first reply from the new address: ${figures.recoveryMs.map((ms) => (ms / 1000).toFixed(1)).join(', ')} s`,
      `calls failed: ${failed.length} of ${done.calls} (all in flight at a change); spurious timeout events at the observer: ${spurious.length}; registry reconnects the peer reported: ${reconnects}`,
      'the registry client notices that its source address is gone (host address watcher, 1 s) and reconnects; the record with the new address is written on reconnect',
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await Promise.all([mover.stop(), observer.stop()]);
  });
});
