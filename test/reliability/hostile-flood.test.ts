import { readdirSync } from 'node:fs';
import { createDevCa, issuePeerCertificate } from '@sidecar/transport-tls';
import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { newFigures, noteMemory, peakRssMiB, recordFigures } from './figures.js';
import { describePeers, killAllPeers, spawnPeer } from './proc.js';
import { callsOf, SCRIPTS, uniqueNamespace, workdir } from './scenario.js';

/** The descriptor limit many machines give a process, and one more socket than it allows. */
const FD_LIMIT = 1024;
const HOSTILE_SOCKETS = 1100;
const LEGIT_CALLS = 200;
const ulimit = (n: number) => ['bash', '-c', `ulimit -n ${n} && exec "$0" "$@"`];

/** A CA and TLS credentials for the target and the caller in `namespace` (PEM strings). */
async function tlsCredentials(namespace: string) {
  const ca = await createDevCa();
  const pem = async (name: string) => {
    const pair = await issuePeerCertificate(ca, { name, namespace });
    return { ca: ca.cert, cert: pair.cert, key: pair.key };
  };
  return { target: await pem('target'), caller: await pem('caller') };
}

function openFds(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

describe('hostile: a connection flood against a peer limited to 1024 descriptors', () => {
  const work = workdir();
  afterAll(async () => {
    await killAllPeers();
    work.remove();
  });

  const cases = [
    { mode: 'half-hello', tls: false, what: 'half a hello, then nothing' },
    { mode: 'silent-hello', tls: false, what: 'a full hello, then nothing' },
    { mode: 'silent', tls: true, what: 'a TCP connect to the TLS port, then no handshake' },
  ] as const;
  for (const { mode, tls, what } of cases) {
    const scenario = `${mode}${tls ? ' over tls' : ''}`;
    it(`${scenario}: ${HOSTILE_SOCKETS} hostile sockets (${what}), legitimate callers by name are all served`, async () => {
      onTestFailed(() => console.error(`peers:\n${describePeers()}`));
      const figures = newFigures(`hostile: ${scenario} flood`, 'sqlite');
      const began = Date.now();
      const namespace = uniqueNamespace(mode);
      const base = { registry: `sqlite:${work.dir}/registry.db`, namespace };
      const credentials = tls ? await tlsCredentials(namespace) : undefined;
      const server = spawnPeer(
        SCRIPTS.server,
        { ...base, app: 'target', names: ['target'], ...(credentials ? { tls: credentials.target } : {}) },
        { label: 'target', prefix: ulimit(FD_LIMIT) },
      );
      const ready = await server.ready();
      const endpoint = (ready.instances as Array<{ endpoints: Array<{ host: string; port: number }> }>)[0]
        ?.endpoints[0] as { host: string; port: number };
      let fdMax = openFds(server.pid);
      const sampler = setInterval(() => {
        fdMax = Math.max(fdMax, openFds(server.pid));
      }, 100);

      // Another "host" (127.0.0.2 is loopback too) floods the port and keeps reconnecting.
      const hostile = spawnPeer(
        SCRIPTS.hostile,
        {
          ...endpoint,
          localAddress: '127.0.0.2',
          mode,
          sockets: HOSTILE_SOCKETS,
          target: 'target',
          namespace: base.namespace,
        },
        { label: 'hostile', prefix: ulimit(4 * HOSTILE_SOCKETS) },
      );
      await hostile.waitFor((l) => l.t === 'flooding', 60_000, 'the flood to be open');

      const caller = spawnPeer(
        SCRIPTS.caller,
        {
          ...base,
          app: 'caller',
          name: 'caller',
          targets: ['target'],
          op: 'call',
          loops: 4,
          count: LEGIT_CALLS,
          durationMs: 120_000,
          ...(credentials ? { tls: credentials.caller } : {}),
        },
        { label: 'caller' },
      );
      const done = await caller.waitFor((l) => l.t === 'done', 150_000, 'the callers to finish');
      hostile.send({ cmd: 'sample' });
      const during = await hostile.waitFor((l) => l.t === 'sample', 10_000, 'a hostile sample');
      clearInterval(sampler);
      noteMemory(figures, 'flooded peer', peakRssMiB(server.pid));
      hostile.send({ cmd: 'stop' });
      const last = await hostile.waitFor((l) => l.t === 'hostile', 10_000, 'the hostile summary');
      const summary = {
        opened: Number(last.opened),
        heldMax: Number(last.heldMax),
        closedByPeer: Number(last.closedByPeer),
        bytesSent: Number(last.bytesSent),
      };
      const failures = callsOf(caller).filter((c) => !c.ok);
      const crashes = [server, caller].flatMap((p) => p.of('crash'));

      expect(failures.map((c) => c.error)).toEqual([]);
      expect(done.ok).toBe(LEGIT_CALLS);
      expect(crashes).toEqual([]);
      expect(server.running).toBe(true);
      expect(fdMax).toBeLessThan(FD_LIMIT);

      figures.peers = 1;
      figures.processes = 3;
      figures.streams = Number(done.calls);
      figures.calls = Number(done.ok);
      figures.faults = summary.opened;
      figures.hostile = {
        connectionsOpened: summary.opened,
        heldAtOnce: summary.heldMax,
        heldAtEnd: Number(during.held),
        closedByPeer: summary.closedByPeer,
        bytesSent: summary.bytesSent,
        peerFdsMax: fdMax,
        crashes: crashes.length,
      };
      figures.notes.push(
        `${scenario}: a peer under \`ulimit -n ${FD_LIMIT}\` (default limits) met ${HOSTILE_SOCKETS} hostile sockets from 127.0.0.2 (${what}) ` +
          `kept open by reconnecting (${summary.opened} connections in all, ${summary.bytesSent} bytes, ${summary.closedByPeer} closed by the peer); ` +
          `its descriptors peaked at ${fdMax}; ${done.ok}/${LEGIT_CALLS} calls by name from another process succeeded, 0 crashes`,
      );
      figures.durationMs = Date.now() - began;
      recordFigures(figures);
      await server.stop();
    });
  }
});
