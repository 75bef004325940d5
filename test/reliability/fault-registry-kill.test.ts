import { setTimeout as sleep } from 'node:timers/promises';
import { openRegistry, type Registry } from '@sidecar/core';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type KillableServer, startPostgres, startRedis } from '../setup/servers/index.js';
import { newFigures, recordFigures } from './figures.js';
import { describePeers, killAllPeers, type Line, spawnPeer } from './proc.js';
import { callsOf, finishCaller, SCRIPTS, sampleMemory, uniqueNamespace } from './scenario.js';

/** How long the registry stays dead each time (calls go on meanwhile). */
const OUTAGE_MS = 1500;
/**
 * Time between a recovery and the next fault: more than one heartbeat interval (ttl / 3 = 2 s), so
 * each peer renews in between. Two outages inside one heartbeat gap make the Redis adapter restore
 * records with their old expiresAt, and live peers are then reported as timed out (see docs).
 */
const BETWEEN_FAULTS_MS = 500;
/** Bounded wait for both instances to be listed again after a restart. */
const RECOVERY_LIMIT_MS = 30_000;

type Ready = Line & { instances: Array<{ instanceId: string }> };

async function bothListed(registry: Registry, ids: Set<string>): Promise<boolean> {
  const records = await registry.lookup('svc', { fresh: true }).catch(() => []);
  return [...ids].every((id) => records.some((r) => r.instanceId === id));
}

async function scenario(kind: 'redis' | 'postgres', start: () => Promise<KillableServer>): Promise<void> {
  onTestFailed(() => console.error(`peers:\n${describePeers()}`));
  const figures = newFigures('fault: registry killed and restarted', kind);
  const began = Date.now();
  const server = await start();
  servers.push(server);
  const base = { registry: server.url, namespace: uniqueNamespace(kind) };
  const peers = ['one', 'two'].map((app) =>
    spawnPeer(SCRIPTS.server, { ...base, app, names: ['svc'] }, { label: `${kind}-${app}` }),
  );
  const ids = new Set(
    ((await Promise.all(peers.map((p) => p.ready()))) as Ready[]).flatMap((r) =>
      r.instances.map((i) => i.instanceId),
    ),
  );
  const observer = spawnPeer(
    SCRIPTS.observer,
    { ...base, app: 'observer', name: 'observer' },
    { label: 'observer' },
  );
  const caller = spawnPeer(
    SCRIPTS.caller,
    {
      ...base,
      app: 'caller',
      name: 'caller',
      targets: ['svc'],
      op: 'call',
      loops: 2,
      pauseMs: 10,
      durationMs: 120_000,
    },
    { label: `${kind}-caller` },
  );
  await Promise.all([observer.ready(), caller.ready()]);
  await caller.waitFor((l) => l.t === 'call' && l.ok === true, 20_000, 'a first call');
  const probe = await openRegistry(server.url as `redis://${string}`, { namespace: base.namespace });
  probes.push(probe);

  for (const restart of ['restart', 'restartEmpty'] as const) {
    await sleep(BETWEEN_FAULTS_MS);
    await server.kill('SIGKILL'); // mid-traffic: the callers keep calling by name meanwhile
    await sleep(OUTAGE_MS);
    await server[restart]();
    const backAt = Date.now();
    const deadline = backAt + RECOVERY_LIMIT_MS;
    while (!(await bothListed(probe, ids))) {
      if (Date.now() > deadline)
        throw new Error(`both instances not listed ${RECOVERY_LIMIT_MS} ms after ${restart}`);
      await sleep(50);
    }
    figures.recoveryMs.push(Date.now() - backAt);
    figures.faults++;
  }
  // A peer that starts after the faults finds the others by name and is found by them.
  const late = spawnPeer(
    SCRIPTS.caller,
    { ...base, app: 'late', name: 'late', targets: ['svc'], op: 'call', count: 20 },
    { label: 'late' },
  );
  const lateDone = await late.waitFor((l) => l.t === 'done', 30_000, 'the late caller');
  sampleMemory(figures, 'peer', [...peers, observer, caller]);
  const done = await finishCaller(caller);

  // Nothing failed: lookups were served from the cache while the registry was down.
  expect(callsOf(caller).filter((c) => !c.ok)).toEqual([]);
  expect(done.ok).toBe(done.calls);
  expect(lateDone.ok).toBe(20);
  // No live peer was reported gone, and nothing crashed.
  const gone = observer
    .of('event')
    .filter((e) => ids.has(String(e.instanceId)) && (e.type === 'timeout' || e.type === 'leave'));
  expect(gone).toEqual([]);
  for (const p of [...peers, observer]) {
    expect(p.running).toBe(true);
    expect(p.of('crash')).toEqual([]);
  }

  figures.peers = 2;
  figures.processes = 5;
  figures.streams = done.calls + 20;
  figures.calls = done.calls + 20;
  figures.notes.push(
    `SIGKILL + ${OUTAGE_MS} ms outage, twice: restarted with its data, then empty; ${done.calls} calls by name during it, 0 failed; ` +
      `recovery = restart -> both instances listed again: ${figures.recoveryMs.join(' ms (with data), ')} ms (empty)`,
  );
  figures.durationMs = Date.now() - began;
  recordFigures(figures);
  await Promise.all([...peers, observer].map((p) => p.stop()));
}

const servers: KillableServer[] = [];
const probes: Registry[] = [];

describe('fault: the registry server is killed mid-traffic and restarted (also empty)', () => {
  afterAll(async () => {
    await killAllPeers();
    await Promise.all(probes.map((p) => p.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  });

  it('redis: calls go on, peers re-register, a late peer finds them', () =>
    scenario('redis', () => startRedis({ appendOnly: true })));

  it('postgres: calls go on, peers re-register, a late peer finds them', () =>
    scenario('postgres', () => startPostgres()));
});
