import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { newFigures, recordFigures } from './figures.js';
import { describePeers, killAllPeers, type PeerProcess, spawnPeer } from './proc.js';
import { callsOf, finishCaller, SCRIPTS, sampleMemory, uniqueNamespace, workdir } from './scenario.js';

const CHURN_MS = 12_000;
const PERIOD_MS = 600;
const KEEP = 2;

describe('churn: peers join and leave continuously while callers call by name', () => {
  const work = workdir();
  afterAll(async () => {
    await killAllPeers();
    work.remove();
  });

  it('fails no call except work in flight on a peer that died, and loses none', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('churn: join/leave while calling', 'sqlite');
    const began = Date.now();
    const base = { registry: `sqlite:${work.dir}/churn.db`, namespace: uniqueNamespace('churn'), ttl: 3000 };
    const churner = (i: number) =>
      spawnPeer(
        SCRIPTS.churner,
        { ...base, app: `churner-${i}`, name: 'work', keep: KEEP, periodMs: PERIOD_MS },
        { label: `churner-${i}` },
      );
    const churners: PeerProcess[] = [churner(0), churner(1)];
    await Promise.all(churners.map((c) => c.ready()));
    const callers = ['call', 'echo'].map((op) =>
      spawnPeer(
        SCRIPTS.caller,
        {
          ...base,
          app: 'caller',
          name: `caller-${op}`,
          targets: ['work'],
          op,
          loops: 3,
          pauseMs: 5,
          payload: [1, 16_384],
          durationMs: CHURN_MS,
        },
        { label: `caller-${op}` },
      ),
    );
    await Promise.all(callers.map((c) => c.ready()));
    // Halfway, one churner process dies (SIGKILL) and a fresh one takes its place.
    await sleep(CHURN_MS / 2);
    sampleMemory(figures, 'peer', [...churners, ...callers]);
    const killedAt = Date.now();
    const victim = churners[0] as PeerProcess;
    await victim.kill('SIGKILL');
    const replacement = churner(2);
    churners.push(replacement);
    await replacement.ready();
    const dones = await Promise.all(
      callers.map((c) => c.waitFor((l) => l.t === 'done', CHURN_MS + 30_000, 'done')),
    );
    sampleMemory(figures, 'peer', [...churners.slice(1), ...callers]);
    await Promise.all(callers.map((c) => finishCaller(c).catch(() => undefined)));

    const joined = new Set(churners.flatMap((c) => c.of('joined').map((l) => String(l.instanceId))));
    const left = new Set(churners.flatMap((c) => c.of('leaving').map((l) => String(l.instanceId))));
    const died = new Set(
      victim
        .of('joined')
        .map((l) => String(l.instanceId))
        .filter((id) => !left.has(id)),
    );
    const calls = callsOf(callers[0] as PeerProcess).concat(callsOf(callers[1] as PeerProcess));
    const failed = calls.filter((c) => !c.ok);
    // Every failure was work in flight on an instance that died: leaving instances drain
    // (stop({ drain })), so their in-flight work completes. None reached no one.
    const unexplained = failed.filter((c) => !c.connected || !died.has(c.connected));
    expect(unexplained).toEqual([]);
    expect(calls.filter((c) => c.ok && (c.from?.name !== 'work' || c.wrong))).toEqual([]);
    for (const done of dones) {
      expect(Number(done.ok) + Number(done.failed)).toBe(done.calls);
      expect(done.mismatches).toBe(0);
    }
    expect(calls.length).toBe(dones.reduce((n, d) => n + Number(d.calls), 0));
    expect(churners.flatMap((c) => [...c.of('crash'), ...c.of('churn-error')])).toEqual([]);
    const afterKill = calls.filter((c) => c.start > killedAt && c.ok);
    expect(afterKill.length).toBeGreaterThan(0);

    figures.peers = joined.size;
    figures.processes = churners.length + callers.length;
    figures.streams = calls.length;
    figures.calls = calls.length;
    figures.bytesChecked = 2 * dones.reduce((n, d) => n + Number(d.bytes), 0);
    figures.faults = left.size + 1;
    figures.failedInFlight = failed.length;
    const onLeft = failed.filter((c) => left.has(c.connected ?? '')).length;
    const kinds = [...new Set(failed.map((c) => c.error?.code ?? c.error?.name))].join(', ') || 'none';
    figures.notes.push(
      `${joined.size} instances of one name joined over ${CHURN_MS / 1000} s (${left.size} left gracefully, ${died.size} died with their process); ` +
        `${calls.length} requests, ${failed.length} failed, all in flight on an instance that died (${failed.length - onLeft}; on instances that left and drained: ${onLeft}); errors: ${kinds}; 0 unexplained, 0 lost`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await Promise.all(churners.map((c) => c.stop()));
  });
});
