import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type KillableServer, startRedis } from '../setup/servers/index.js';
import { newFigures, recordFigures } from './figures.js';
import { type Host, NetnsLab } from './netns.js';
import { describePeers, killAllPeers, type Line, type PeerProcess } from './proc.js';
import { SCRIPTS, sampleMemory, uniqueNamespace } from './scenario.js';

const ROUNDS = 2;
const TTL_MS = 2000;
/** Bounded waits for the timeout after a cut and the join after the link is back. */
const EVENT_LIMIT_MS = 30_000;

type Event = Line & { type: string; name: string; instanceId: string };

describe('netns: a host is cut off (link down) and comes back', () => {
  let lab: NetnsLab | undefined;
  let redis: KillableServer | undefined;
  afterAll(async () => {
    await killAllPeers();
    await redis?.stop();
    await lab?.destroy();
  });

  it('fires timeout exactly once, then join, on every observer', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('netns: link down and up', 'redis');
    const began = Date.now();
    lab = await NetnsLab.create(3);
    const [cutHost, hostB, hostC] = lab.hosts as [Host, Host, Host];
    // The registry must be reached over the lab network (a SQLite file would not notice a cut).
    redis = await startRedis({ host: lab.bridgeAddress });
    const base = { registry: redis.url, namespace: uniqueNamespace('cut'), ttl: TTL_MS };
    const cut = lab.spawn(cutHost, SCRIPTS.server, { ...base, app: 'cut', names: ['cut'] });
    const steady = lab.spawn(hostB, SCRIPTS.server, { ...base, app: 'steady', names: ['steady'] });
    const cutId = ((await cut.ready()).instances as Array<{ instanceId: string }>)[0]?.instanceId;
    const steadyId = ((await steady.ready()).instances as Array<{ instanceId: string }>)[0]?.instanceId;
    const observers: PeerProcess[] = [
      lab.spawn(hostB, SCRIPTS.observer, { ...base, app: 'observer', name: 'observer-b' }),
      lab.spawn(hostC, SCRIPTS.observer, { ...base, app: 'observer', name: 'observer-c' }),
    ];
    await Promise.all(observers.map((o) => o.ready()));
    const eventsOf = (o: PeerProcess, id: string | undefined) =>
      (o.of('event') as Event[]).filter((e) => e.instanceId === id);

    const detection: number[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const downAt = Date.now();
      await lab.linkDown(cutHost);
      for (const o of observers) {
        const e = await o.waitFor(
          (l) => l.t === 'event' && l.type === 'timeout' && l.instanceId === cutId && Number(l.at) >= downAt,
          EVENT_LIMIT_MS,
          `timeout #${round} of the cut peer`,
        );
        detection.push(Number(e.at) - downAt);
      }
      await sleep(TTL_MS); // more sweeps while it is still cut: none may report it again
      const upAt = Date.now();
      await lab.linkUp(cutHost);
      for (const o of observers) {
        const e = await o.waitFor(
          (l) => l.t === 'event' && l.type === 'join' && l.instanceId === cutId && Number(l.at) >= upAt,
          EVENT_LIMIT_MS,
          `join #${round} of the cut peer`,
        );
        figures.recoveryMs.push(Number(e.at) - upAt);
      }
      await sleep(TTL_MS);
    }
    sampleMemory(figures, 'peer', [cut, steady, ...observers]);

    for (const o of observers) {
      // Exactly once each time: timeout, join, timeout, join... and never a leave.
      const sequence = eventsOf(o, cutId).map((e) => e.type);
      expect(sequence).toEqual(Array.from({ length: ROUNDS }, () => ['timeout', 'join']).flat());
      expect(eventsOf(o, steadyId).filter((e) => e.type !== 'update')).toEqual([]);
    }
    expect(cut.running).toBe(true);
    expect([...cut.of('crash'), ...steady.of('crash')]).toEqual([]);

    figures.peers = 2;
    figures.processes = 4;
    figures.faults = ROUNDS;
    figures.notes.push(
      `${ROUNDS} cuts of ${TTL_MS} ms-TTL peer; timeout seen ${detection.join(', ')} ms after the cut; join seen ${figures.recoveryMs.join(', ')} ms after the link came back (recovery column)`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await Promise.all([cut, steady, ...observers].map((p) => p.stop()));
  });
});
