import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type KillableServer, startPostgres, startRedis } from '../setup/servers/index.js';
import { newFigures, recordFigures } from './figures.js';
import { describePeers, killAllPeers, type Line, type PeerProcess, REPO_ROOT, spawnPeer } from './proc.js';
import { callsOf, finishCaller, SCRIPTS, uniqueNamespace } from './scenario.js';

const SKEW_MS = 60_000;
const TTL_MS = 2000;
/** How long the skewed peers serve before they are killed: many TTLs and heartbeats. */
const STEADY_MS = 10_000;
/** Bound on waiting for a killed peer's timeout (a failure, not a measure): a TTL plus sweeps. */
const TIMEOUT_LIMIT_MS = TTL_MS + 6000;
const PRELOAD = join(REPO_ROOT, 'test/reliability/peers/lib/skew-clock.mjs');

type Event = Line & { type: string; name: string; instanceId: string };

/** Starts a peer script whose wall clock is `skewMs` off (Date.now / new Date in that process only). */
function spawnSkewed(script: string, config: object, skewMs: number, label: string): PeerProcess {
  if (skewMs === 0) return spawnPeer(script, config, { label });
  return spawnPeer(script, config, {
    label,
    env: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --import ${PRELOAD}`.trim(),
      SIDECAR_TEST_CLOCK_SKEW_MS: String(skewMs),
    },
  });
}

const PEERS = [
  { name: 'clock-behind', skew: -SKEW_MS },
  { name: 'clock-right', skew: 0 },
  { name: 'clock-ahead', skew: SKEW_MS },
] as const;

/**
 * Liveness by the registry's clock: peers whose clocks are a minute behind and ahead are seen,
 * never flap, and time out exactly like a peer with the right time. Before, expiry was written
 * with each peer's own clock: the one behind was invisible (PEER_NOT_FOUND) and flapped
 * timeout/join at every heartbeat, the one ahead was reported dead a minute late, and a sweeper
 * ahead expired everyone.
 */
describe.each([
  ['redis', () => startRedis()],
  ['postgres', () => startPostgres()],
] as const)('clock skew of +-60 s between peer processes, with a %s registry', (kind, startServer) => {
  let server: KillableServer | undefined;
  afterAll(async () => {
    await killAllPeers();
    await server?.stop();
  });

  it('skewed peers are seen, never flap, and time out like the others', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('registry: clock skew +-60 s', kind);
    const began = Date.now();
    server = await startServer();
    const base = { registry: server.url, namespace: uniqueNamespace(`clock-${kind}`), ttl: TTL_MS };
    const servers = PEERS.map((p) =>
      spawnSkewed(SCRIPTS.server, { ...base, app: p.name, names: [p.name] }, p.skew, `${p.name}`),
    );
    const ids = await Promise.all(
      servers.map(async (s) => ((await s.ready()).instances as Array<{ instanceId: string }>)[0]?.instanceId),
    );
    // Observers (watchers and sweepers) with every clock: a sweeper ahead must not expire anyone.
    const observers = [-SKEW_MS, 0, SKEW_MS].map((skew) =>
      spawnSkewed(
        SCRIPTS.observer,
        { ...base, app: 'observer', name: `observer${skew}` },
        skew,
        `observer ${skew}`,
      ),
    );
    await Promise.all(observers.map((o) => o.ready()));
    const caller = spawnSkewed(
      SCRIPTS.caller,
      {
        ...base,
        app: 'caller',
        name: 'caller',
        targets: PEERS.map((p) => p.name),
        op: 'call',
        loops: 1,
        pauseMs: 50,
        durationMs: 120_000,
        connectTimeoutMs: 3000,
      },
      0,
      'caller',
    );
    await caller.ready();
    await sleep(STEADY_MS);
    const done = await finishCaller(caller);
    const calls = callsOf(caller);
    const answeredBy = new Set(calls.filter((c) => c.ok).map((c) => c.from?.name));
    const flaps = observers.flatMap((o) =>
      (o.of('event') as Event[]).filter((e) => e.type === 'timeout' || e.type === 'leave'),
    );

    // Every skewed peer answered every call, and nobody saw anybody time out.
    expect(calls.filter((c) => !c.ok)).toEqual([]);
    expect([...answeredBy].sort()).toEqual(PEERS.map((p) => p.name).sort());
    expect(flaps).toEqual([]);

    // All three crash at once: each is reported once, by every observer, within a TTL or so.
    const killedAt = Date.now();
    await Promise.all(servers.map((s) => s.kill('SIGKILL')));
    const detection: Record<string, number[]> = {};
    for (const [i, peer] of PEERS.entries()) {
      for (const [j, o] of observers.entries()) {
        const observerSkew = [-SKEW_MS, 0, SKEW_MS][j] as number;
        const e = (await o.waitFor(
          (l) => l.t === 'event' && l.type === 'timeout' && l.instanceId === ids[i],
          TIMEOUT_LIMIT_MS,
          `the timeout of ${peer.name} at observer ${observerSkew}`,
        )) as Event;
        const list = detection[peer.name] ?? [];
        list.push(Number(e.at) - observerSkew - killedAt);
        detection[peer.name] = list;
      }
    }
    await sleep(TTL_MS);
    for (const o of observers) {
      const timeouts = (o.of('event') as Event[]).filter((e) => e.type === 'timeout');
      expect(timeouts.map((e) => e.name).sort()).toEqual(PEERS.map((p) => p.name).sort());
    }

    figures.peers = PEERS.length;
    figures.processes = PEERS.length + observers.length + 1;
    figures.calls = done.calls;
    figures.streams = done.calls;
    figures.faults = PEERS.length;
    figures.failedInFlight = calls.filter((c) => !c.ok).length;
    figures.recoveryMs = Object.values(detection).flat();
    const seconds = (values: number[]) => values.map((v) => (v / 1000).toFixed(1)).join('/');
    figures.notes.push(
      `peers with clocks -60 s, 0, +60 s (TTL ${TTL_MS} ms) and observers with the same three clocks, ${STEADY_MS / 1000} s of calls: ${done.calls} calls, ${figures.failedInFlight} failed, ${flaps.length} timeout/leave events`,
      `all three SIGKILLed at once; timeout seen after (s, per observer -60/0/+60): ${PEERS.map((p) => `${p.name} ${seconds(detection[p.name] ?? [])}`).join('; ')}`,
      `expiry written and compared by the ${kind === 'redis' ? 'Redis server (TIME in the scripts)' : 'PostgreSQL server (clock_timestamp())'}; clocks skewed by a node --import preload (Date only)`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await Promise.all(observers.map((o) => o.stop()));
  });
});
