import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { type KillableServer, startRedis } from '../setup/servers/index.js';
import { newFigures, recordFigures } from './figures.js';
import { type Host, NetnsLab } from './netns.js';
import { describePeers, killAllPeers } from './proc.js';
import { callsOf, type DoneLine, SCRIPTS, sampleMemory, uniqueNamespace } from './scenario.js';

/** How long the link stays down after the peer process started. */
const OFFLINE_MS = 3000;
const CALLS = 10;
const READY_LIMIT_MS = 60_000;

/**
 * A host whose link is down (no carrier) when its peer starts, as at boot before the network is
 * up. With `startTimeout`, start() keeps retrying the registry (a warning per failed try), then
 * registers by itself once the link comes up; a caller on another host then reaches it. Before,
 * start() rejected at once with REGISTRY_UNAVAILABLE and the peer stayed stopped.
 */
describe('netns: the link is down when a peer starts, then comes up', () => {
  let lab: NetnsLab | undefined;
  let redis: KillableServer | undefined;
  afterAll(async () => {
    await killAllPeers();
    await redis?.stop();
    await lab?.destroy();
  });

  it('start() waits, the peer registers by itself once the link is up, and is reachable', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('netns: link down at start', 'redis');
    const began = Date.now();
    lab = await NetnsLab.create(2);
    const [serverHost, callerHost] = lab.hosts as [Host, Host];
    redis = await startRedis({ host: lab.bridgeAddress });
    const base = { registry: redis.url, namespace: uniqueNamespace('offline'), ttl: 3000 };

    await lab.linkDown(serverHost);
    const server = lab.spawn(serverHost, SCRIPTS.server, {
      ...base,
      app: 'late',
      names: ['late'],
      startTimeout: READY_LIMIT_MS,
    });
    // It must still be trying (alive, not ready) while the link is down.
    await server.waitFor(
      (l) =>
        l.t === 'warning' &&
        (l.error as { code?: string } | undefined)?.code === 'SIDECAR_ERR_REGISTRY_UNAVAILABLE',
      READY_LIMIT_MS,
      'a failed registry try while the link is down',
    );
    await sleep(OFFLINE_MS);
    expect(server.running).toBe(true);
    expect(server.of('ready')).toEqual([]);
    const upAt = Date.now();
    await lab.linkUp(serverHost);
    const ready = await server.ready(READY_LIMIT_MS);
    figures.recoveryMs.push(Number(ready.at ?? Date.now()) - upAt);
    const failedTries = server
      .of('warning')
      .filter(
        (l) => (l.error as { code?: string } | undefined)?.code === 'SIDECAR_ERR_REGISTRY_UNAVAILABLE',
      ).length;

    const caller = lab.spawn(callerHost, SCRIPTS.caller, {
      ...base,
      app: 'caller',
      name: 'caller',
      targets: ['late'],
      op: 'call',
      count: CALLS,
      durationMs: READY_LIMIT_MS,
    });
    const done = (await caller.waitFor(
      (l) => l.t === 'done',
      READY_LIMIT_MS,
      'the done summary',
    )) as DoneLine;
    expect(
      callsOf(caller)
        .filter((c) => !c.ok)
        .map((c) => c.error?.message),
    ).toEqual([]);
    expect(done.ok).toBe(CALLS);
    expect(server.of('crash')).toEqual([]);

    sampleMemory(figures, 'peer', [server]);
    figures.peers = 1;
    figures.processes = 2;
    figures.faults = 1;
    figures.calls = done.calls;
    figures.streams = done.calls;
    figures.notes.push(
      `link down ${OFFLINE_MS} ms+ at start: ${failedTries} failed registry tries (warnings), registered ${figures.recoveryMs[0]} ms after the link came up, then ${CALLS}/${CALLS} calls ok`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await server.stop();
  });
});
