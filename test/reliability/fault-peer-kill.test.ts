import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { newFigures, recordFigures } from './figures.js';
import type { ErrorInfo } from './peers/lib/io.js';
import type { Identity } from './peers/lib/wire.js';
import { describePeers, killAllPeers, type Line, spawnPeer } from './proc.js';
import { callsOf, finishCaller, SCRIPTS, sampleMemory, uniqueNamespace, workdir } from './scenario.js';

const TTL_MS = 3000;
const EVENT_LIMIT_MS = 30_000;

type Ready = Line & { instances: Array<{ name: string; instanceId: string }> };

describe('fault: a peer is SIGKILLed with streams and calls open', () => {
  const work = workdir();
  afterAll(async () => {
    await killAllPeers();
    work.remove();
  });

  it('fails in-flight work with errors, moves new work to the survivor, times out once', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('fault: peer SIGKILL', 'sqlite');
    const began = Date.now();
    const base = {
      registry: `sqlite:${work.dir}/registry.db`,
      namespace: uniqueNamespace('kill'),
      ttl: TTL_MS,
    };
    const server = (app: string) =>
      spawnPeer(SCRIPTS.server, { ...base, app, names: ['svc'], rpcNames: ['svc-rpc'] }, { label: app });
    const victim = server('victim');
    const survivor = server('survivor');
    const [victimReady, survivorReady] = (await Promise.all([victim.ready(), survivor.ready()])) as Ready[];
    const victimIds = new Set(victimReady?.instances.map((i) => i.instanceId));
    const survivorIds = new Set(survivorReady?.instances.map((i) => i.instanceId));
    const observers = ['o1', 'o2'].map((name) =>
      spawnPeer(SCRIPTS.observer, { ...base, app: 'observer', name }, { label: name }),
    );
    const holder = spawnPeer(
      SCRIPTS.holder,
      {
        ...base,
        app: 'holder',
        name: 'holder',
        target: 'svc',
        rpcTarget: 'svc-rpc',
        echoStreams: 6,
        rpcStreams: 4,
        slowMs: 1500,
        pending: 2,
        tickMs: 50,
      },
      { label: 'holder' },
    );
    const callers = (['call', 'rpc'] as const).map((op) =>
      spawnPeer(
        SCRIPTS.caller,
        {
          ...base,
          app: 'caller',
          name: `caller-${op}`,
          targets: [op === 'rpc' ? 'svc-rpc' : 'svc'],
          op,
          loops: 3,
          pauseMs: 5,
          durationMs: 120_000,
        },
        { label: `caller-${op}` },
      ),
    );
    await Promise.all([...observers, holder, ...callers].map((p) => p.ready()));
    // Work is open on both instances before the kill.
    await holder.waitFor(() => holder.of('holding').length === 10, 20_000, 'all 10 held streams');
    for (const caller of callers) {
      for (const ids of [victimIds, survivorIds]) {
        await caller.waitFor(
          (l) => l.t === 'call' && l.ok === true && ids.has((l.from as Identity).instanceId),
          20_000,
          'calls on both instances',
        );
      }
    }
    await sleep(300);

    sampleMemory(figures, 'peer', [victim, survivor, holder, ...callers, ...observers]);
    const killedAt = Date.now();
    await victim.kill('SIGKILL');
    for (const o of observers) {
      for (const id of victimIds) {
        await o.waitFor(
          (l) => l.t === 'event' && l.type === 'timeout' && l.instanceId === id,
          EVENT_LIMIT_MS,
          `timeout of ${id}`,
        );
      }
    }
    await sleep(2 * TTL_MS); // more sweeps: nobody may announce the same timeout again
    for (const caller of callers) {
      const first = await caller.waitFor(
        (l) => l.t === 'call' && l.ok === true && Number(l.start) >= killedAt,
        10_000,
        'a call after the kill',
      );
      figures.recoveryMs.push(Number(first.end) - killedAt);
    }
    sampleMemory(figures, 'peer', [survivor, holder, ...callers, ...observers]);
    const dones = await Promise.all(callers.map((c) => finishCaller(c)));
    holder.send({ cmd: 'stop' });
    await holder.waitFor((l) => l.t === 'stopped', 20_000, 'the holder to stop');

    // timeout: exactly once per killed instance on every observer, never for the survivor, no leave.
    for (const o of observers) {
      const events = o.of('event');
      for (const id of victimIds)
        expect(events.filter((e) => e.instanceId === id).map((e) => e.type)).toEqual(['timeout']);
      expect(events.filter((e) => survivorIds.has(String(e.instanceId)) && e.type !== 'update')).toEqual([]);
    }
    // Held streams: those on the victim failed with an error, those on the survivor ended cleanly.
    const held = holder.of('holding');
    const onVictim = (l: Line) => victimIds.has((l.from as Identity | undefined)?.instanceId ?? '');
    const ends = holder.of('hold-end');
    expect(ends.length).toBe(10);
    for (const end of ends) expect({ ...end, ok: end.ok }).toMatchObject({ ok: !onVictim(end) });
    const echoErrors = ends.filter((e) => e.kind === 'echo' && !e.ok).map((e) => e.error as ErrorInfo);
    // A plain stream to a dead peer ends early (FIN) or fails (RST): never silently, never with wrong bytes.
    expect(
      echoErrors.filter(
        (e) => !(e.typed || /ECONNRESET|EPIPE/.test(e.code ?? '') || e.name === 'PrematureEndError'),
      ),
    ).toEqual([]);
    const rpcFails = holder.of('rpc-fail');
    expect(rpcFails.length).toBe(2 * held.filter((l) => l.kind === 'rpc' && onVictim(l)).length);
    // Pillion calls in flight on the dead peer reject with typed sidecar errors.
    expect(rpcFails.filter((f) => !(f.error as ErrorInfo).typed)).toEqual([]);
    expect(holder.of('rpc-wrong')).toEqual([]);
    // Calls: only those in flight on the victim failed; new work went to the survivor.
    const all = callers.flatMap((c) => callsOf(c));
    const failed = all.filter((c) => !c.ok);
    expect(failed.filter((c) => c.start > killedAt || !victimIds.has(c.connected ?? ''))).toEqual([]);
    const after = all.filter((c) => c.start > killedAt + 50);
    expect(after.length).toBeGreaterThan(0);
    expect(after.every((c) => c.ok && survivorIds.has(c.from?.instanceId ?? ''))).toBe(true);
    for (const done of dones) expect(done.ok + done.failed).toBe(done.calls);

    const kinds = (errors: Array<ErrorInfo | undefined>) =>
      [...new Set(errors.map((e) => `${e?.code ?? e?.name}`))].join(', ') || 'none';
    figures.peers = 4;
    figures.processes = 2 + observers.length + 1 + callers.length;
    figures.streams = dones.reduce((n, d) => n + d.calls, 0) + held.length;
    figures.calls =
      dones.reduce((n, d) => n + d.calls, 0) + ends.reduce((n, e) => n + Number(e.calls ?? 0), 0);
    figures.bytesChecked = ends.reduce((n, e) => n + Number(e.verified ?? 0), 0);
    figures.faults = 1;
    figures.failedInFlight = failed.length + rpcFails.length + ends.filter((e) => !e.ok).length;
    figures.notes.push(
      `in flight on the killed peer: ${rpcFails.length} pillion calls rejected with ${kinds(rpcFails.map((f) => f.error as ErrorInfo))}; ` +
        `${echoErrors.length} held plain streams failed with ${kinds(echoErrors)} (a reset is a typed ConnectionClosedError; a FIN from a dead peer looks like a normal end, so the reply is caught short by the protocol check); ` +
        `${failed.length} request streams failed with ${kinds(failed.map((c) => c.error))}`,
      `${after.length} requests started after the kill: all answered by the survivor; timeout reported once per killed instance on each of ${observers.length} observers`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await Promise.all([survivor, ...observers].map((p) => p.stop()));
  });
});
