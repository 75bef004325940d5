import { afterAll, describe, expect, it, onTestFailed } from 'vitest';
import { newFigures, recordFigures } from './figures.js';
import { describePeers, killAllPeers, type Line, spawnPeer } from './proc.js';
import { callsOf, SCRIPTS, sampleMemory, uniqueNamespace, workdir } from './scenario.js';

const SERVER_PROCESSES = 3;
const NAMES = 8;
const CALLER_PROCESSES = 2;
const STREAMS_PER_CALLER = 2000;
const PAYLOAD: [number, number] = [1, 64 * 1024];

type Ready = Line & { instances: Array<{ name: string; instanceId: string }> };

const work = workdir();
const registries = {
  sqlite: () => `sqlite:${work.dir}/load.db`,
  redis: () => process.env.SIDECAR_TEST_REDIS_URL as string,
  postgres: () => process.env.SIDECAR_TEST_POSTGRES_URL as string,
};

describe('load: tens of peers across processes, thousands of streams by name, every byte checked', () => {
  afterAll(async () => {
    await killAllPeers();
    work.remove();
  });

  for (const [kind, url] of Object.entries(registries)) {
    it(`${kind}: ${SERVER_PROCESSES * NAMES} peers, ${CALLER_PROCESSES * STREAMS_PER_CALLER} echo streams`, async () => {
      onTestFailed(() => console.error(`peers:\n${describePeers(4)}`));
      const figures = newFigures('load: streams by name', kind);
      const began = Date.now();
      const names = Array.from({ length: NAMES }, (_, i) => `load-${i}`);
      const base = { registry: url(), namespace: uniqueNamespace(`load-${kind}`) };
      const servers = Array.from({ length: SERVER_PROCESSES }, (_, i) =>
        spawnPeer(SCRIPTS.server, { ...base, app: `server-${i}`, names }, { label: `${kind}-server-${i}` }),
      );
      const ready = (await Promise.all(servers.map((s) => s.ready(60_000)))) as Ready[];
      const instances = new Map(
        ready.flatMap((r) => r.instances.map((i) => [i.instanceId, i.name] as const)),
      );
      expect(instances.size).toBe(SERVER_PROCESSES * NAMES);
      const callers = Array.from({ length: CALLER_PROCESSES }, (_, i) =>
        spawnPeer(
          SCRIPTS.caller,
          {
            ...base,
            app: 'caller',
            name: `caller-${i}`,
            targets: names,
            op: 'echo',
            loops: 8,
            count: STREAMS_PER_CALLER,
            payload: PAYLOAD,
            durationMs: 240_000,
          },
          { label: `${kind}-caller-${i}` },
        ),
      );
      const dones = await Promise.all(
        callers.map((c) => c.waitFor((l) => l.t === 'done', 240_000, 'the done summary')),
      );
      sampleMemory(figures, 'server', servers);
      sampleMemory(figures, 'caller', callers);

      const calls = callers.flatMap((c) => callsOf(c));
      expect(calls.filter((c) => !c.ok)).toEqual([]);
      expect(
        calls.filter(
          (c) => c.wrong || c.from?.name !== c.target || instances.get(c.from?.instanceId ?? '') !== c.target,
        ),
      ).toEqual([]);
      for (const done of dones) {
        expect(done).toMatchObject({
          calls: STREAMS_PER_CALLER,
          ok: STREAMS_PER_CALLER,
          failed: 0,
          mismatches: 0,
          wrongApp: 0,
        });
      }
      // Round-robin spread the streams over every instance of every name.
      const served = new Set(calls.map((c) => c.from?.instanceId));
      expect(served.size).toBe(instances.size);

      figures.peers = instances.size;
      figures.processes = SERVER_PROCESSES + CALLER_PROCESSES;
      figures.streams = calls.length;
      figures.bytesChecked = 2 * dones.reduce((n, d) => n + Number(d.bytes), 0);
      const ms = Date.now() - began;
      figures.notes.push(
        `${calls.length} echo streams (1 B - 64 KiB each way, sha256 of both directions compared) over ${instances.size} instances of ${NAMES} names in ${SERVER_PROCESSES} processes; every instance served`,
      );
      figures.durationMs = ms;
      recordFigures(figures);
      await Promise.all(servers.map((s) => s.stop()));
    });
  }
});
