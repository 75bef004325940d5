import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type KillableServer, startRedis } from '../setup/servers/index.js';
import { newFigures, recordFigures } from './figures.js';
import { type Lan, type LanHost, TwoLanLab } from './netns.js';
import { describePeers, killAllPeers, type PeerProcess } from './proc.js';
import { callsOf, type DoneLine, SCRIPTS, sampleMemory, uniqueNamespace } from './scenario.js';

/** Calls each caller makes; every one must succeed. */
const CALLS = 20;
const DONE_LIMIT_MS = 60_000;

type Endpoint = { transport: string; host: string; port: number };

/**
 * A peer on a host with two networks, reached by callers on either LAN. The registry (Redis) is on
 * LAN a. Run with the host's interfaces created in both orders: before, the record held only the
 * first interface's address, so with LAN b's interface first even LAN a's callers could not reach
 * it. Now the record holds both addresses, the one of the route to the registry first, and a
 * caller on LAN b, for which LAN a's address is unroutable (ENETUNREACH), moves on to the next at once.
 */
describe('netns: a peer on two LANs, reached from both', () => {
  let lab: TwoLanLab | undefined;
  let redis: KillableServer | undefined;
  afterAll(async () => {
    await killAllPeers();
    await redis?.stop();
    await lab?.destroy();
  });

  it('every caller on either LAN reaches it, whatever the interface order', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('netns: two-LAN host', 'redis');
    const began = Date.now();
    lab = await TwoLanLab.create();
    redis = await startRedis({ host: lab.bridgeAddress('a') });
    const callerA = await lab.addHost(['a']);
    const callerB = await lab.addHost(['b']);
    const orders: Lan[][] = [
      ['a', 'b'],
      ['b', 'a'],
    ];
    const processes: PeerProcess[] = [];
    for (const order of orders) {
      const server: LanHost = await lab.addHost(order);
      const namespace = uniqueNamespace(`twolan-${order.join('')}`);
      const base = { registry: redis.url, namespace, ttl: 3000 };
      // No tcp options, no SIDECAR_HOST: the defaults for a network registry are under test.
      const peer = lab.spawn(server, SCRIPTS.server, { ...base, app: 'twolan', names: ['twolan'] });
      const ready = await peer.ready();
      const endpoints = (ready.instances as Array<{ endpoints: Endpoint[] }>)[0]?.endpoints ?? [];
      // Both addresses, LAN a's first (its route reaches the registry), in either interface order.
      expect(endpoints.map((e) => e.host)).toEqual([server.addresses.a, server.addresses.b]);
      for (const [label, host] of [
        ['a', callerA],
        ['b', callerB],
      ] as const) {
        const caller = lab.spawn(host, SCRIPTS.caller, {
          ...base,
          app: 'caller',
          name: `caller-${label}`,
          targets: ['twolan'],
          op: 'call',
          count: CALLS,
          durationMs: DONE_LIMIT_MS,
          connectTimeoutMs: 5000,
        });
        processes.push(caller);
        const done = (await caller.waitFor(
          (l) => l.t === 'done',
          DONE_LIMIT_MS,
          'the done summary',
        )) as DoneLine;
        const failures = callsOf(caller).filter((c) => !c.ok);
        expect(failures.map((c) => c.error?.message)).toEqual([]);
        expect(done.ok).toBe(CALLS);
        // Each caller reached the address of its own LAN.
        const answered = new Set(callsOf(caller).map((c) => c.from?.host));
        expect([...answered]).toEqual([server.addresses[label]]);
        figures.calls += done.calls;
        figures.streams += done.calls;
        figures.failedInFlight += done.failed;
      }
      processes.push(peer);
      figures.notes.push(
        `interfaces ${order.join(',')}: record [${endpoints.map((e) => e.host).join(', ')}], ${CALLS} calls from each LAN`,
      );
    }
    sampleMemory(figures, 'peer', processes);
    figures.peers = orders.length;
    figures.processes = processes.length;
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
  });
});
