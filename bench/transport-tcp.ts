/**
 * Foundation benchmark: a stream by name over TCP against raw node:net sockets and js-libp2p
 * (TCP + Noise + Yamux), in one run, the peer in another process (bench/lib/tcp-sink.ts), all on
 * 127.0.0.1.
 *
 *   pnpm bench:tcp
 *
 * Every subject runs interleaved with its references (A B C, order shuffled each round), so load
 * from elsewhere on the machine hits them alike; every figure is a median with its spread, and
 * throughput ratios are the median of the per-round ratios. See docs/performance.md.
 *
 * SIDECAR_BENCH_PROFILE=connect runs only the connect-by-name loop (for `node --cpu-prof`); =ping
 * only the raw connect + 1-byte ping loop, its reference.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { setPriority, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createSidecar, type Sidecar } from '@sidecar/core';
import { libp2pTransfer, openSinkStream, startLibp2p } from './lib/libp2p-peer.js';
import {
  collectGarbage,
  compareSamples,
  exposeGc,
  interleave,
  latencyRow,
  loadNow,
  printComparisons,
  throughputRow,
} from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
/** Bytes sent per throughput sample. */
const TOTAL = Number(process.env.SIDECAR_BENCH_TCP_MIB ?? 64) * 2 ** 20;
/** Size of each write: 64 KiB, the size Node's socket reads hand over on Linux loopback. */
const CHUNK = Buffer.alloc(64 * 1024, 7);
/** Throughput samples per subject (interleaved rounds). */
const ROUNDS = Number(process.env.SIDECAR_BENCH_TCP_ROUNDS ?? 30);
/** Throughput samples of the js-libp2p comparison (slower, so fewer). */
const LIBP2P_ROUNDS = 5;
/** Pause before each throughput sample, after a forced GC, in ms. */
const SETTLE_MS = 20;
/** Connects per subject, interleaved one by one, after WARMUP untimed ones. */
const CONNECTS = 400;
const WARMUP = 40;
/** Connects of the js-libp2p comparison (each costs milliseconds). */
const LIBP2P_CONNECTS = 60;

/**
 * One throughput sample: the wall-clock rate; the CPU both processes spent per GB; and the rate
 * the busier of the two processes could keep up given a whole core (bytes / its CPU time), which
 * other load on the machine hardly changes.
 */
interface Transfer {
  mbps: number;
  cpuMsPerGB: number;
  cpuBoundMbps: number;
}

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true, allowHalfOpen: true }, () =>
      resolve(socket),
    );
    socket.once('error', reject);
  });
}

/** Reads the sink's answer `<bytes> <cpu us>` that follows the end of a transfer. */
function answerOf(stream: Duplex): Promise<{ bytes: number; farCpuUs: number }> {
  return new Promise((resolve, reject) => {
    let text = '';
    stream.setEncoding('utf8');
    stream.on('data', (part: string) => {
      text += part;
    });
    stream.once('end', () => {
      const [bytes, farCpuUs] = text.trim().split(' ').map(Number) as [number, number];
      resolve({ bytes, farCpuUs });
    });
    stream.once('error', reject);
  });
}

/** Writes TOTAL bytes into `stream` with backpressure; resolves once the far side counted them. */
async function transfer(stream: Duplex): Promise<Transfer> {
  const answer = answerOf(stream);
  const cpu = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    stream.once('error', reject);
    let sent = 0;
    const write = () => {
      while (sent < TOTAL) {
        sent += CHUNK.length;
        if (!stream.write(CHUNK)) return void stream.once('drain', write);
      }
      stream.end(resolve);
    };
    write();
  });
  const { bytes, farCpuUs } = await answer;
  const seconds = (performance.now() - t0) / 1000;
  const used = process.cpuUsage(cpu);
  stream.destroy();
  if (bytes !== TOTAL) throw new Error(`the sink counted ${bytes} bytes, expected ${TOTAL}`);
  return rateOf(seconds, used.user + used.system, farCpuUs);
}

function rateOf(seconds: number, cpuUs: number, farCpuUs: number): Transfer {
  return {
    mbps: TOTAL / 1e6 / seconds,
    cpuMsPerGB: (cpuUs + farCpuUs) / 1000 / (TOTAL / 1e9),
    cpuBoundMbps: TOTAL / Math.max(cpuUs, farCpuUs),
  };
}

/** The time `open` takes, in us, then `close` (not timed). */
async function timed<T>(open: () => Promise<T>, close: (value: T) => unknown): Promise<number> {
  const t0 = performance.now();
  const value = await open();
  const us = (performance.now() - t0) * 1000;
  await close(value);
  return us;
}

async function main(): Promise<void> {
  exposeGc();
  raisePriority();
  const far = await startFarSide();
  // Every stream on a new connection (standby: 0, the default): the rows measure a connect by name.
  const client = createSidecar({
    name: 'client',
    registry: far.registry,
    events: false,
    register: false,
    standby: 0,
  });
  await client.start();
  // The same, keeping one standby connection per instance talked to (config.standby).
  const ready = createSidecar({
    name: 'client-standby',
    registry: far.registry,
    events: false,
    register: false,
    standby: 1,
  });
  await ready.start();
  const libp2p = await startLibp2p(false);
  try {
    await client.connect('sink').then((s) => s.destroy()); // warms the lookup cache
    await ready.connect('sink').then((s) => s.destroy()); // and opens the first standby connection
    const profile = process.env.SIDECAR_BENCH_PROFILE;
    if (profile === 'connect' || profile === 'ping')
      return await profileConnects(client, far, profile === 'ping');
    const loadBefore = loadNow();
    const connects = await measureConnects(client, ready, libp2p, far);
    const { mbps, libp2pMbps, cpu, cpuBound } = await measureThroughput(client, libp2p, far);
    const rows = [
      compareSamples(
        throughputRow(
          `throughput, connect() stream (${ROUNDS} x ${TOTAL / 2 ** 20} MiB, peer process)`,
          'raw net socket',
          '>= 0.98',
        ),
        mbps.connect,
        mbps.raw,
      ),
      compareSamples(
        throughputRow('throughput, to() stream', 'raw net socket', '>= 0.98'),
        mbps.to,
        mbps.raw,
      ),
      compareSamples(
        throughputRow(
          'CPU-bound throughput, connect() stream (bytes / CPU time of the busier process)',
          'raw net socket',
          '>= 0.98',
        ),
        cpuBound.connect ?? [],
        cpuBound.raw ?? [],
      ),
      compareSamples(
        throughputRow('CPU-bound throughput, noise floor: raw again (A/A)', 'raw net socket', '0.95 - 1.05'),
        cpuBound.rawAgain ?? [],
        cpuBound.raw ?? [],
      ),
      compareSamples(
        throughputRow('throughput, noise floor: raw again (A/A)', 'raw net socket', '0.95 - 1.05'),
        mbps.rawAgain,
        mbps.raw,
      ),
      compareSamples(
        {
          ...throughputRow('CPU of both processes per GB, connect() stream', 'raw net socket', '<= 1.02'),
          unit: 'ms/GB',
          better: 'lower',
        },
        cpu.connect ?? [],
        cpu.raw ?? [],
      ),
      compareSamples(
        {
          ...throughputRow(
            'CPU of both processes per GB, to() stream (its connect included)',
            'raw net socket',
            '<= 1.02',
          ),
          unit: 'ms/GB',
          better: 'lower',
        },
        cpu.to ?? [],
        cpu.raw ?? [],
      ),
      compareSamples(
        throughputRow(
          `throughput, connect() stream (${LIBP2P_ROUNDS} x ${TOTAL / 2 ** 20} MiB)`,
          'js-libp2p tcp+noise+yamux stream',
        ),
        libp2pMbps.connectVsLibp2p,
        libp2pMbps.libp2p,
      ),
      compareSamples(
        latencyRow(
          `connect by name, new connection (standby: 0), warm cache, peer process (${CONNECTS} each)`,
          'raw net.connect',
        ),
        connects.byName,
        connects.raw,
        false,
      ),
      compareSamples(
        latencyRow(
          'connect by name, new connection, vs raw connect + 1 round trip',
          'raw connect + 1-byte ping',
          '<= 1.0',
        ),
        connects.byName,
        connects.rawPing,
        false,
      ),
      compareSamples(
        latencyRow('connect by name to a peer already talked to (standby: 1)', 'raw net.connect', '<= 1.0'),
        connects.standby,
        connects.raw,
        false,
      ),
      compareSamples(
        latencyRow(`connect by name (${LIBP2P_CONNECTS} each)`, 'js-libp2p dial + noise + yamux stream'),
        connects.byNameVsLibp2p,
        connects.libp2p,
        false,
      ),
    ];
    printComparisons('stream by name over TCP vs raw node:net and js-libp2p (127.0.0.1)', rows);
    const perRound = { ...mbps, ...libp2pMbps };
    console.log(
      `throughput per round (MB/s): ${Object.entries(perRound)
        .map(([k, v]) => `${k} ${v.map((r) => r.toFixed(0)).join(' ')}`)
        .join('; ')}`,
    );
    console.log(`loadavg before ${loadBefore}, after ${loadNow()}`);
  } finally {
    await Promise.all([client.stop(), ready.stop(), libp2p.stop()]);
    await far.stop();
  }
}

/**
 * Connect latency, one connect per subject per turn, shuffled: raw connect, raw connect + one
 * round trip, connect by name; then, apart (its teardown is heavy), connect by name against a new
 * js-libp2p connection with one stream.
 */
async function measureConnects(
  client: Sidecar,
  ready: Sidecar,
  libp2p: Awaited<ReturnType<typeof startLibp2p>>,
  far: FarSide,
) {
  const byName = () =>
    timed(
      () => client.connect('sink'),
      (s) => s.destroy(),
    );
  const subjects = {
    raw: () =>
      timed(
        () => rawConnect(far.pingPort),
        (s) => s.destroy(),
      ),
    rawPing: () =>
      timed(
        async () => {
          const s = await rawConnect(far.pingPort);
          s.write('p');
          await new Promise((resolve) => s.once('data', resolve));
          return s;
        },
        (s) => s.destroy(),
      ),
    byName,
    standby: () =>
      timed(
        () => ready.connect('sink'),
        (s) => s.destroy(),
      ),
  };
  await interleave(subjects, WARMUP);
  const main = await interleave(subjects, CONNECTS);
  const versusLibp2p = {
    byName,
    libp2p: () =>
      timed(
        () => openSinkStream(libp2p, far.libp2pAddress),
        ({ connection }) => connection.close(),
      ),
  };
  // libp2p's connection teardown goes on after close() resolves: let it finish before each sample.
  await interleave(versusLibp2p, WARMUP / 4, settle);
  const apart = await interleave(versusLibp2p, LIBP2P_CONNECTS, settle);
  return { ...main, byNameVsLibp2p: apart.byName, libp2p: apart.libp2p };
}

/**
 * SIDECAR_BENCH_NICE (e.g. -10; root only) raises this process's scheduling priority, and the
 * far side's, so other work on a shared machine takes less from the bench. Off by default.
 */
function raisePriority(): void {
  const nice = process.env.SIDECAR_BENCH_NICE;
  if (nice) setPriority(Number(nice));
}

/** Forced GC and a pause before each sample, so no sample pays for the previous one's garbage. */
async function settle(): Promise<void> {
  collectGarbage();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/**
 * Throughput in two interleaved phases: raw (twice: the A/A pair shows the noise floor),
 * connect() and to() streams; then raw against js-libp2p, whose teardown and garbage are heavy
 * enough to disturb whatever follows it, so it is kept out of the first phase.
 */
async function measureThroughput(
  client: Sidecar,
  libp2p: Awaited<ReturnType<typeof startLibp2p>>,
  far: FarSide,
) {
  const cpu: Record<string, number[]> = {};
  const cpuBound: Record<string, number[]> = {};
  const sample = (key: string, run: () => Promise<Transfer>) => async () => {
    const r = await run();
    cpu[key] = [...(cpu[key] ?? []), r.cpuMsPerGB];
    cpuBound[key] = [...(cpuBound[key] ?? []), r.cpuBoundMbps];
    return r.mbps;
  };
  // Like sidecar's welcome, the raw sink's "r" tells the far side has accepted: without it the raw
  // transfer started before the accept and was measured 10-30% slower (see docs/performance.md).
  const raw = async () => {
    const socket = await rawConnect(far.sinkPort);
    await new Promise((resolve) => socket.once('data', resolve));
    return transfer(socket);
  };
  const main = {
    raw: sample('raw', raw),
    rawAgain: sample('rawAgain', raw),
    connect: sample('connect', async () => transfer(await client.connect('sink'))),
    to: sample('to', () => transfer(client.to('sink'))),
  };
  const versusLibp2p = {
    connectVsLibp2p: sample('connectVsLibp2p', async () => transfer(await client.connect('sink'))),
    libp2p: sample('libp2p', async () => {
      const r = await libp2pTransfer(libp2p, far.libp2pAddress, CHUNK, TOTAL);
      return rateOf(r.seconds, r.cpuUs, r.farCpuUs);
    }),
  };
  // One untimed round first: JIT, and the first connection of each kind.
  await interleave({ ...main, ...versusLibp2p }, 1, settle);
  for (const key of Object.keys(cpu)) {
    cpu[key] = [];
    cpuBound[key] = [];
  }
  const mbps = await interleave(main, ROUNDS, settle);
  const libp2pMbps = await interleave(versusLibp2p, LIBP2P_ROUNDS, settle);
  return { mbps, libp2pMbps, cpu, cpuBound };
}

/**
 * SIDECAR_BENCH_PROFILE=connect: only connects by name, for a CPU profile of both processes
 * (=ping: only raw connects + 1-byte pings, the reference).
 * Prints the loop's window on the monotonic clock (in us, as V8's profiles count time), which
 * scripts/bench-profile.mjs takes to leave start-up out of both processes' profiles.
 */
async function profileConnects(client: Sidecar, far: FarSide, raw: boolean): Promise<void> {
  const count = Number(process.env.SIDECAR_BENCH_PROFILE_CONNECTS ?? 3000);
  const from = process.hrtime.bigint() / 1000n;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const far0 = far.cpuUs();
  for (let i = 0; i < count; i++) {
    if (!raw) {
      (await client.connect('sink')).destroy();
      continue;
    }
    const s = await rawConnect(far.pingPort);
    s.write('p');
    await new Promise((resolve) => s.once('data', resolve));
    s.destroy();
  }
  const to = process.hrtime.bigint() / 1000n;
  const cpu = process.cpuUsage(cpu0);
  const farUs = far.cpuUs() - far0;
  console.log(
    `${count} ${raw ? 'raw connects + ping' : 'connects by name'} in ${(performance.now() - t0).toFixed(0)} ms`,
  );
  console.log(
    `CPU per connect: caller ${((cpu.user + cpu.system) / count).toFixed(1)} us, callee ${(farUs / count).toFixed(1)} us`,
  );
  console.log(`profile window: ${from} ${to}`);
}

interface FarSide {
  registry: `sqlite:${string}`;
  pingPort: number;
  sinkPort: number;
  libp2pAddress: string;
  /** CPU time the far side's process has used so far, in us (from /proc, 10 ms ticks). */
  cpuUs: () => number;
  stop: () => Promise<void>;
}

/** Starts bench/lib/tcp-sink.ts in a child process on a fresh SQLite registry. */
async function startFarSide(): Promise<FarSide> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-bench-'));
  const registry = `sqlite:${join(dir, 'registry.db')}` as const;
  const child = spawn(process.execPath, [...process.execArgv, join(here, 'lib/tcp-sink.ts'), registry], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the far side exited with ${code}`)));
  });
  const [, pingPort, sinkPort, libp2pAddress] = line.split(' ');
  return {
    registry,
    pingPort: Number(pingPort),
    sinkPort: Number(sinkPort),
    libp2pAddress: libp2pAddress as string,
    cpuUs: () => {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
      return (Number(fields[11]) + Number(fields[12])) * 10_000;
    },
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

await main();
