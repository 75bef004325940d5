import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { newFigures, noteMemory, peakRssMiB, recordFigures } from './figures.js';
import { describePeers, killAllPeers, spawnPeer } from './proc.js';
import { callsOf, SCRIPTS, uniqueNamespace, workdir } from './scenario.js';

const LEGIT_CALLS = 50;

/** How the peer must answer each probe (see peers/prober.ts). */
const EXPECTED: Record<string, { outcome: string; reason?: string }> = {
  garbage: { outcome: 'closed' },
  'http request': { outcome: 'closed' },
  'tls client hello': { outcome: 'closed' },
  'ssh banner': { outcome: 'closed' },
  'scanner (connect, close)': { outcome: 'closed' },
  'hello declaring 65535 bytes': { outcome: 'closed' },
  'hello, wrong version': { outcome: 'closed' },
  'hello, bad JSON': { outcome: 'closed' },
  '5 KB instanceId with escapes': { outcome: 'refused', reason: 'bad-hello' },
  'NUL in the namespace': { outcome: 'refused', reason: 'bad-hello' },
  'zero-width caller name': { outcome: 'refused', reason: 'bad-hello' },
  'bidi override in the name asked for': { outcome: 'refused', reason: 'bad-hello' },
  'non-NFC caller name': { outcome: 'refused', reason: 'bad-hello' },
  'valid hello (control)': { outcome: 'welcome' },
};

describe('hostile: what arrives on a listening port', () => {
  const work = workdir();
  afterAll(async () => {
    await killAllPeers();
    work.remove();
  });

  it('closes or refuses every probe with a typed warning, keeps serving, never crashes', async () => {
    onTestFailed(() => console.error(`peers:\n${describePeers()}`));
    const figures = newFigures('hostile: probes on a listening port', 'sqlite');
    const began = Date.now();
    const base = { registry: `sqlite:${work.dir}/registry.db`, namespace: uniqueNamespace('probes') };
    const server = spawnPeer(
      SCRIPTS.server,
      { ...base, app: 'target', names: ['target'] },
      { label: 'target' },
    );
    const ready = await server.ready();
    const endpoint = (ready.instances as Array<{ endpoints: Array<{ host: string; port: number }> }>)[0]
      ?.endpoints[0] as { host: string; port: number };
    const prober = spawnPeer(
      SCRIPTS.prober,
      { ...endpoint, target: 'target', namespace: base.namespace },
      { label: 'prober' },
    );
    await prober.waitFor((l) => l.t === 'probes-done', 120_000, 'the probes to finish');
    const results = Object.fromEntries(
      prober
        .of('probe')
        .map((l) => [String(l.what), { outcome: l.outcome, ...(l.reason ? { reason: l.reason } : {}) }]),
    );
    expect(results).toEqual(EXPECTED);

    const caller = spawnPeer(
      SCRIPTS.caller,
      {
        ...base,
        app: 'caller',
        name: 'caller',
        targets: ['target'],
        op: 'echo',
        count: LEGIT_CALLS,
        loops: 2,
      },
      { label: 'caller' },
    );
    const done = await caller.waitFor((l) => l.t === 'done', 60_000, 'the callers to finish');
    expect(callsOf(caller).filter((c) => !c.ok)).toEqual([]);
    expect(done.ok).toBe(LEGIT_CALLS);
    // Every hostile probe left a typed warning on the peer (refusals, protocol errors, closes).
    const warned = server.of('refused').length + server.of('warning').length;
    expect(warned).toBeGreaterThanOrEqual(Object.keys(EXPECTED).length - 1);
    expect(server.of('warning').every((l) => (l.error as { typed: boolean }).typed)).toBe(true);
    const crashes = [server, prober, caller].flatMap((p) => p.of('crash'));
    expect(crashes).toEqual([]);
    expect(server.running).toBe(true);

    noteMemory(figures, 'probed peer', peakRssMiB(server.pid));
    const bytesSent = prober.of('probe').reduce((n, l) => n + Number(l.bytes), 0);
    figures.peers = 1;
    figures.processes = 3;
    figures.streams = Number(done.calls);
    figures.calls = Number(done.ok);
    figures.bytesChecked = Number(done.bytes);
    figures.faults = Object.keys(EXPECTED).length - 1;
    figures.hostile = {
      connectionsOpened: Object.keys(EXPECTED).length,
      heldAtOnce: 1,
      heldAtEnd: 0,
      closedByPeer: Object.values(results).filter((r) => r.outcome !== 'welcome').length,
      bytesSent,
      peerFdsMax: 0,
      crashes: crashes.length,
    };
    figures.notes.push(
      `${Object.keys(EXPECTED).length - 1} hostile probes (garbage, HTTP, a TLS ClientHello, an SSH banner, a scanner, bad hello frames, ` +
        `a 5 KB instanceId with escapes, NUL in the namespace, look-alike names) were each closed or refused (\`bad-hello\`) with a typed warning; ` +
        `${done.ok}/${LEGIT_CALLS} echo calls by name afterwards, 0 crashes`,
    );
    figures.durationMs = Date.now() - began;
    recordFigures(figures);
    await server.stop();
  });
});
