import { setTimeout as sleep } from 'node:timers/promises';
import { KeyLayout } from '@sidecar/registry-redis';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { cli, HA_DOWN_AFTER_MS, RedisCluster, SentinelGroup, waitUntil } from '../setup/servers/index.js';
import { newFigures, recordFigures } from './figures.js';
import type { RegistrySpec } from './peers/lib/registry-spec.js';
import { describePeers, killAllPeers, type Line, spawnPeer } from './proc.js';
import { callsOf, finishCaller, SCRIPTS, sampleMemory, uniqueNamespace } from './scenario.js';

/** The core default TTL (heartbeat every ttl / 3): the ratio under test. */
const TTL_MS = 6000;
const NAMES = ['ha-1', 'ha-2', 'ha-3'];
/** Bound on waiting for every record to be renewed after the fault (a failure, not a measure). */
const RECOVERY_LIMIT_MS = 30_000;

type Event = Line & { type: string; instanceId: string };

interface Scenario {
  label: string;
  registry: RegistrySpec;
  namespace: string;
  /** Injects the fault; resolves when it is done (a kill) or over (a freeze and thaw). */
  fault(): Promise<void>;
  /** The port of the master that holds the namespace's keys now. */
  masterPort(): Promise<number>;
}

/**
 * Three serving peers, an observer and a caller on a Redis with failover; the master goes away
 * mid-traffic. Measures calls failed, spurious `timeout` events (goal 0) and the time until
 * every peer's record is renewed on the new master.
 */
async function failover(s: Scenario): Promise<void> {
  onTestFailed(() => console.error(`peers:\n${describePeers()}`));
  const figures = newFigures(`registry: ${s.label}`, 'redis');
  const began = Date.now();
  const base = { registry: s.registry, namespace: s.namespace };
  const servers = NAMES.map((name) =>
    spawnPeer(SCRIPTS.server, { ...base, app: name, names: [name] }, { label: name }),
  );
  const ids = await Promise.all(
    servers.map(
      async (p) => ((await p.ready()).instances as Array<{ instanceId: string }>)[0]?.instanceId as string,
    ),
  );
  const observer = spawnPeer(
    SCRIPTS.observer,
    { ...base, app: 'observer', name: 'observer' },
    { label: 'observer' },
  );
  await observer.ready();
  const caller = spawnPeer(
    SCRIPTS.caller,
    {
      ...base,
      app: 'caller',
      name: 'caller',
      targets: NAMES,
      op: 'call',
      loops: 2,
      pauseMs: 20,
      durationMs: 180_000,
    },
    { label: 'caller' },
  );
  await caller.ready();
  await caller.waitFor((l) => l.t === 'call' && l.ok === true, 20_000, 'a first successful call');
  await sleep(TTL_MS / 2);

  const expiry = new KeyLayout('sidecar', s.namespace).expiry;
  const oldMaster = await s.masterPort();
  let promotedAt = 0;
  const faultAt = Date.now();
  const faulted = s.fault();
  // Recovered: every peer renewed its record on the master in charge after the fault.
  await waitUntil(
    'every record renewed on the new master',
    async () => {
      const master = await s.masterPort();
      if (master !== oldMaster && promotedAt === 0) promotedAt = Date.now();
      const reply = (await cli(master, 'ZRANGE', expiry, '0', '-1', 'WITHSCORES')).split('\n');
      const score = (id: string) => Number(reply[reply.indexOf(id) + 1] ?? 0);
      return (
        reply.length >= 2 * ids.length &&
        ids.every((id) => reply.includes(id) && score(id) > faultAt + TTL_MS)
      );
    },
    RECOVERY_LIMIT_MS,
  );
  const recoveredAt = Date.now();
  await faulted;
  await sleep(TTL_MS + 1000); // a late expiry would show now
  sampleMemory(figures, 'peer', [...servers, observer, caller]);
  const done = await finishCaller(caller);
  const calls = callsOf(caller);
  const failed = calls.filter((c) => !c.ok);
  const spurious = (observer.of('event') as Event[]).filter(
    (e) => ids.includes(e.instanceId) && (e.type === 'timeout' || e.type === 'leave'),
  );
  const reconnects = servers
    .flatMap((p) => p.of('warning') as Array<Line & { error?: { message?: string } }>)
    .filter((w) => /reconnecting to the registry/.test(w.error?.message ?? '')).length;

  figures.peers = NAMES.length;
  figures.processes = NAMES.length + 2;
  figures.calls = done.calls;
  figures.streams = done.calls;
  figures.faults = 1;
  figures.failedInFlight = failed.length;
  figures.recoveryMs = [recoveredAt - faultAt];
  figures.notes.push(
    `${s.label}: calls failed ${failed.length} of ${done.calls}; spurious timeout/leave events ${spurious.length}; replica promoted ${((promotedAt - faultAt) / 1000).toFixed(1)} s and every record renewed on it ${((recoveredAt - faultAt) / 1000).toFixed(1)} s after the fault (TTL ${TTL_MS} ms, heartbeat every ${TTL_MS / 3} ms, failed beats retried after 500 ms, master declared down after ${HA_DOWN_AFTER_MS} ms); registry reconnects after timeouts: ${reconnects}`,
  );
  figures.durationMs = Date.now() - began;
  recordFigures(figures);
  await Promise.all([...servers, observer].map((p) => p.stop()));

  expect(spurious).toEqual([]);
  expect(failed).toEqual([]);
}

describe('registry failover under traffic (Redis Sentinel and Cluster on 127.0.0.1)', () => {
  let group: SentinelGroup | undefined;
  let cluster: RedisCluster | undefined;
  afterAll(async () => {
    await killAllPeers();
    await group?.stop();
    await cluster?.stop();
  });

  it('Sentinel: the master is SIGKILLed', async () => {
    group = await SentinelGroup.start();
    const g = group;
    const master = await g.masterPort();
    await failover({
      label: 'Sentinel failover (SIGKILL of the master)',
      registry: { redis: { sentinel: { sentinels: g.sentinels, name: g.name } } },
      namespace: uniqueNamespace('sentinel-kill'),
      fault: () => g.signal(master, 'SIGKILL'),
      masterPort: () => g.masterPort(),
    });
    await g.stop();
    group = undefined;
  });

  it('Sentinel: the master is frozen (SIGSTOP), promoted away, then thawed (SIGCONT)', async () => {
    group = await SentinelGroup.start();
    const g = group;
    const master = await g.masterPort();
    await failover({
      label: 'Sentinel failover (SIGSTOP/SIGCONT of the master)',
      registry: { redis: { sentinel: { sentinels: g.sentinels, name: g.name } } },
      namespace: uniqueNamespace('sentinel-stop'),
      fault: async () => {
        await g.signal(master, 'SIGSTOP');
        await waitUntil('a new master', async () => (await g.masterPort()) !== master, 20_000);
        await sleep(3000);
        await g.signal(master, 'SIGCONT'); // it comes back believing it is the master, until demoted
      },
      masterPort: () => g.masterPort(),
    });
    await g.stop();
    group = undefined;
  });

  it('Cluster: the master of the namespace slot is SIGKILLed', async () => {
    cluster = await RedisCluster.start({ replicas: 1 });
    const c = cluster;
    const namespace = uniqueNamespace('cluster-kill');
    const tag = new KeyLayout('sidecar', namespace).tag;
    const master = await c.masterOf(tag);
    await failover({
      label: 'Cluster failover (SIGKILL of the master of the slot)',
      registry: { redis: { cluster: { nodes: c.seeds } } },
      namespace,
      fault: () => c.signal(master, 'SIGKILL'),
      masterPort: () => c.masterOf(tag),
    });
  });
});
