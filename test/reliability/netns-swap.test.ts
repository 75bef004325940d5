import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { newFigures, recordFigures } from './figures.js';
import { type Host, NetnsLab } from './netns.js';
import { describePeers, killAllPeers } from './proc.js';
import {
  callsOf,
  finishCaller,
  firstAfter,
  SCRIPTS,
  sampleMemory,
  uniqueNamespace,
  workdir,
} from './scenario.js';

/** Both apps listen on this port, so a stale address reaches the other app, not a closed port. */
const SHARED_PORT = 17_700;
const SWAPS = 2;
/** The apps wait this long before re-advertising: the stale window in which the hello must refuse. */
const STALE_WINDOW_MS = 1500;
const RECOVERY_LIMIT_MS = 20_000;

describe('netns: two hosts swap addresses', () => {
  const work = workdir();
  let lab: NetnsLab | undefined;
  afterAll(async () => {
    await killAllPeers();
    await lab?.destroy();
    work.remove();
  });

  it('never delivers a stream or a call to the wrong app: the hello refuses it', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('netns: address swap', 'sqlite');
    const began = Date.now();
    lab = await NetnsLab.create(3);
    const [hostA, hostB, callerHost] = lab.hosts as [Host, Host, Host];
    const base = {
      registry: `sqlite:${work.dir}/registry.db`,
      namespace: uniqueNamespace('swap'),
      ttl: 3000,
    };
    const serve = (host: Host, app: string) =>
      lab?.spawn(host, SCRIPTS.server, {
        ...base,
        app,
        names: [app],
        tcp: { host: '0.0.0.0', port: SHARED_PORT },
        follow: { intervalMs: 100, delayMs: STALE_WINDOW_MS },
      });
    const alpha = serve(hostA, 'alpha');
    const beta = serve(hostB, 'beta');
    if (!alpha || !beta) throw new Error('no lab');
    await Promise.all([alpha.ready(), beta.ready()]);
    const caller = lab.spawn(callerHost, SCRIPTS.caller, {
      ...base,
      app: 'caller',
      name: 'caller',
      targets: ['alpha', 'beta'],
      op: 'call',
      loops: 4,
      pauseMs: 10,
      durationMs: 150_000,
      callTimeoutMs: 8000,
    });
    const holders = (['alpha', 'beta'] as const).map((target) =>
      lab?.spawn(callerHost, SCRIPTS.holder, {
        ...base,
        app: 'holder',
        name: `holder-${target}`,
        target,
        rpcTarget: target,
        echoStreams: 2,
        tickMs: 50,
      }),
    );
    await caller.ready();
    await caller.waitFor((l) => l.t === 'call' && l.ok === true, 20_000, 'a first successful call');
    for (const holder of holders)
      await holder?.waitFor((l) => l.t === 'holding' && l.index === 1, 20_000, 'streams');

    const swaps: number[] = [];
    for (let round = 0; round < SWAPS; round++) {
      const swappedAt = Date.now();
      await lab.swapAddresses(hostA, hostB);
      swaps.push(swappedAt);
      for (const [name, host] of [
        ['alpha', hostA],
        ['beta', hostB],
      ] as const) {
        const back = await firstAfter(
          caller,
          swappedAt,
          (c) => c.ok && c.target === name && c.from?.host === host.address,
          RECOVERY_LIMIT_MS,
          `a reply from ${name} at its new address ${host.address}`,
        );
        figures.recoveryMs.push(back.end - swappedAt);
      }
      await sleep(1000);
    }
    sampleMemory(figures, 'peer', [alpha, beta, caller]);
    const done = await finishCaller(caller);
    // Long streams opened before the first swap: each one ended with the app it started with.
    const held = holders.flatMap((h) => h?.of('holding') ?? []);
    expect(held.length).toBe(4);
    expect(held.every((l) => (l.from as { name: string }).name === (l.from as { app: string }).app)).toBe(
      true,
    );
    // A held stream ends when its old address answers with a reset: on a loaded machine that can
    // come a little after the caller is done, so wait for it (bounded) rather than look once.
    for (const holder of holders) {
      for (const index of [0, 1]) {
        await holder?.waitFor((l) => l.t === 'hold-end' && l.index === index, 20_000, `hold-end ${index}`);
      }
    }
    const ends = holders.flatMap((h) => h?.of('hold-end') ?? []);
    expect(ends.length).toBe(4);
    const streamErrors = ends.map(
      (l) => (l.error as { code?: string; name: string } | undefined)?.code ?? 'ok',
    );
    expect(
      streamErrors.filter((e) => e !== 'ok' && !/ECONNRESET|EPIPE|ETIMEDOUT|SIDECAR_ERR/.test(e)),
    ).toEqual([]);
    const calls = callsOf(caller);

    // The proof: every reply names the app that was asked for; no server got a request for another.
    const wrong = calls.filter((c) => c.ok && (c.from?.name !== c.target || c.from?.app !== c.target));
    expect(wrong).toEqual([]);
    expect(done.wrongApp).toBe(0);
    expect([...alpha.of('misdelivered'), ...beta.of('misdelivered')]).toEqual([]);
    // Stale addresses were really dialled: the app found there refused the hello.
    const refused = [...alpha.of('refused'), ...beta.of('refused')];
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.reason === 'wrong-peer')).toBe(true);
    // Every request is accounted for; only requests in flight at a swap may fail.
    expect(done.ok + done.failed).toBe(done.calls);
    const failed = calls.filter((c) => !c.ok);
    expect(failed.filter((c) => !swaps.some((t) => c.start <= t + 250 && c.end >= t))).toEqual([]);

    figures.peers = 2;
    figures.processes = 3;
    figures.streams = done.calls + held.length;
    figures.bytesChecked = ends.reduce((n, l) => n + Number(l.verified ?? 0), 0);
    figures.calls = done.calls;
    figures.faults = SWAPS;
    figures.failedInFlight = failed.length;
    figures.notes.push(
      `4 long echo streams opened before the first swap ended with: ${streamErrors.join(', ')} (never with bytes from the other app)`,
      `${SWAPS} swaps of two hosts' addresses (both apps on port ${SHARED_PORT}); ${refused.length} hellos refused as wrong-peer during the ${STALE_WINDOW_MS} ms stale window; 0 replies from the wrong app in ${done.ok} replies`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await Promise.all([alpha.stop(), beta.stop()]);
  });
});
