/**
 * pillion RPC calls over sidecar + TCP, one and 100 in flight, vs three references measured in the
 * same run on 127.0.0.1: a raw length-prefixed JSON echo on a net socket pair (the limit of one
 * frame each way, no RPC), the same echo with the writes of one tick batched (cork/uncork), and
 * Moleculer 0.14's TCP transporter (two brokers in this process, loopback only: UDP discovery off,
 * the TCP servers bound to 127.0.0.1, explicit `urls`, every node address forced to 127.0.0.1).
 * Every figure is the median of 3 rounds; each round measures the four subjects in 5 interleaved
 * slices, so that load from elsewhere on the machine hits all of them alike. The CPU time per call
 * (client and server both run in this process) is printed too: it is the steadier figure on a
 * busy machine. Bounded to about 45 s.
 *
 *   pnpm exec tsx --conditions=@sidecar/source bench/wrapper-pillion.ts
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { type AddressInfo, createServer, connect as netConnect, type Server, type Socket } from 'node:net';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createSidecar } from '@sidecar/core';
import { pillion } from '@sidecar/wrapper-pillion';
import { type Comparison, median, percentile, printComparisons } from './lib/measure.js';

process.env.SIDECAR_HOST = '127.0.0.1';
const ROUNDS = 3;
const IN_FLIGHT = 100;
/** How long each figure is measured, per round, in ms. */
const MEASURE_MS = 1500;
/** Slices each measurement is cut into, interleaved between the subjects. */
const SLICES = 5;
/** Warm-up of each subject before the first round, in ms (serial, then 100 in flight). */
const WARMUP_MS = 600;
const HOST = '127.0.0.1';

/** One thing measured: a round trip (request, reply) and how to shut it down. */
interface Subject {
  label: string;
  roundTrip: (n: number) => Promise<unknown>;
  close: () => Promise<unknown>;
}

interface Figures {
  /** calls/s, one in flight. */
  serial: number;
  /** calls/s, `IN_FLIGHT` in flight. */
  parallel: number;
  /** p50 latency at one in flight, us. */
  p50: number;
  /** CPU time of this process (client and server both) per call at one / many in flight, us. */
  cpuSerial: number;
  cpuParallel: number;
}

/** Calls, elapsed ms and CPU us of one measurement slice. */
interface Slice {
  calls: number;
  ms: number;
  cpu: number;
}

/** Calls one at a time for `ms`; latencies are appended to `latencies` (us). */
async function serial(roundTrip: Subject['roundTrip'], ms: number, latencies: number[]): Promise<Slice> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + ms;
  let now = t0;
  let n = 0;
  while (now < deadline) {
    const start = now;
    await roundTrip(n++);
    now = performance.now();
    latencies.push((now - start) * 1000);
  }
  const cpu = process.cpuUsage(cpu0);
  return { calls: n, ms: now - t0, cpu: cpu.user + cpu.system };
}

/** `IN_FLIGHT` callers, each calling again as soon as its reply arrives, for `ms`. */
async function parallel(roundTrip: Subject['roundTrip'], ms: number): Promise<Slice> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const deadline = t0 + ms;
  let n = 0;
  const worker = async () => {
    while (performance.now() < deadline) await roundTrip(n++);
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const cpu = process.cpuUsage(cpu0);
  return { calls: n, ms: performance.now() - t0, cpu: cpu.user + cpu.system };
}

const total = (slices: Slice[]) => ({
  rate: slices.reduce((a, s) => a + s.calls, 0) / (slices.reduce((a, s) => a + s.ms, 0) / 1000),
  cpu: slices.reduce((a, s) => a + s.cpu, 0) / slices.reduce((a, s) => a + s.calls, 0),
});

/**
 * One round: every subject measured for `ms` at one in flight and for `ms` at `IN_FLIGHT`, in
 * `SLICES` interleaved slices (a burst of load from elsewhere on the machine then hits every
 * subject a little instead of one of them a lot).
 */
async function round(subjects: Subject[], ms: number): Promise<Figures[]> {
  const latencies = subjects.map((): number[] => []);
  const one = subjects.map((): Slice[] => []);
  const many = subjects.map((): Slice[] => []);
  for (let slice = 0; slice < SLICES; slice++) {
    for (const [i, s] of subjects.entries())
      one[i]?.push(await serial(s.roundTrip, ms / SLICES, latencies[i] ?? []));
  }
  for (let slice = 0; slice < SLICES; slice++) {
    for (const [i, s] of subjects.entries()) many[i]?.push(await parallel(s.roundTrip, ms / SLICES));
  }
  return subjects.map((_, i) => {
    const a = total(one[i] ?? []);
    const b = total(many[i] ?? []);
    return {
      serial: a.rate,
      parallel: b.rate,
      p50: percentile(latencies[i] ?? [], 50),
      cpuSerial: a.cpu,
      cpuParallel: b.cpu,
    };
  });
}

// ---- (a, b) raw framed-JSON echo ---------------------------------------------------------------

function frame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

/** Calls `onMessage` for every whole frame of a byte stream (4-byte big-endian length + JSON). */
function onFrames(socket: Socket, onMessage: (message: unknown) => void, batched: boolean): void {
  let buffer: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    if (batched) socket.cork();
    while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
      const length = buffer.readUInt32BE(0);
      const message = JSON.parse(buffer.toString('utf8', 4, 4 + length)) as unknown;
      buffer = buffer.subarray(4 + length);
      onMessage(message);
    }
    if (batched) socket.uncork();
  });
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, HOST, () => resolve((server.address() as AddressInfo).port)),
  );
}

/**
 * A raw echo: the client sends `{id, value}` frames, the server sends each one back; replies are
 * matched by id. `batched`: the writes of one tick (client) or of one chunk read (server) go out
 * together through cork/uncork instead of one write each.
 */
async function rawEcho(batched: boolean): Promise<Subject> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    onFrames(socket, (message) => socket.write(frame(message)), batched);
  });
  const port = await listen(server);
  const socket: Socket = netConnect(port, HOST);
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setNoDelay(true);
  const waiting = new Map<number, (value: unknown) => void>();
  onFrames(
    socket,
    (message) => {
      const { id, value } = message as { id: number; value: unknown };
      waiting.get(id)?.(value);
      waiting.delete(id);
    },
    false,
  );
  let corked = false;
  const uncork = () => {
    corked = false;
    socket.uncork();
  };
  let ids = 0;
  const roundTrip = (n: number) =>
    new Promise((resolve) => {
      const id = ids++;
      waiting.set(id, resolve);
      if (batched && !corked) {
        corked = true;
        socket.cork();
        process.nextTick(uncork);
      }
      socket.write(frame({ id, value: `hello ${n}` }));
    });
  const close = async () => {
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { label: batched ? 'raw echo, batched' : 'raw echo', roundTrip, close };
}

// ---- ours --------------------------------------------------------------------------------------

async function pillionEcho(): Promise<Subject> {
  const store = `bench-${randomBytes(4).toString('hex')}`;
  const common = { registry: `memory:${store}`, transports: ['tcp'], events: false } as const;
  const server = createSidecar({ name: 'bench-server', ...common, wrappers: [pillion()] });
  const client = createSidecar({ name: 'bench-client', ...common, wrappers: [pillion()] });
  await server.start();
  await client.start();
  server.to('*').provide('echo', (value: unknown, cb: (v: unknown) => void) => cb(value));
  const stream = client.to('bench-server');
  const roundTrip = (n: number) => stream.call('echo', `hello ${n}`);
  return { label: 'sidecar + pillion', roundTrip, close: () => Promise.all([client.stop(), server.stop()]) };
}

// ---- (c) Moleculer 0.14, TCP transporter, loopback only ----------------------------------------

/** The parts of moleculer's (untyped) TCP transporter internals used to bind it to 127.0.0.1. */
interface TcpInternals {
  opts: { port: number | null };
  server: Server;
  logger: { info(...args: unknown[]): void; error(...args: unknown[]): void };
  connected: boolean;
  Promise: PromiseConstructor;
  onTcpClientConnected(socket: Socket): void;
}
type Ctor<T> = new (...args: unknown[]) => T;

/**
 * Moleculer's TcpReader listens on every interface (`{ port, exclusive }`); this subclass is
 * the same `listen` bound to 127.0.0.1. The TCP transporter then uses it for its server.
 */
function loopbackTcpTransporter(): Ctor<object> {
  const require = createRequire(import.meta.url);
  const root = join(dirname(require.resolve('moleculer')), 'src', 'transporters');
  const TcpTransporter = require(join(root, 'tcp.js')) as Ctor<object>;
  const TcpReader = require(join(root, 'tcp', 'tcp-reader.js')) as Ctor<TcpInternals>;
  const TcpWriter = require(join(root, 'tcp', 'tcp-writer.js')) as Ctor<{
    on(event: string, fn: (...args: unknown[]) => void): void;
  }>;
  class LoopbackReader extends TcpReader {
    listen(): Promise<number> {
      return new this.Promise((resolve, reject) => {
        const server = createServer((socket) => this.onTcpClientConnected(socket));
        server.on('error', reject);
        server.listen({ port: this.opts.port ?? 0, host: HOST, exclusive: true }, () => {
          this.opts.port = (server.address() as AddressInfo).port;
          this.connected = true;
          resolve(this.opts.port);
        });
        this.server = server;
      });
    }
  }
  type Transport = {
    opts: object;
    writer: unknown;
    reader: LoopbackReader;
    nodes: { disconnected(nodeID: unknown, unexpected: boolean): void };
  };
  const Base = TcpTransporter as unknown as Ctor<Transport>;
  return class LoopbackTcpTransporter extends Base {
    /** moleculer's startTcpServer with LoopbackReader in place of TcpReader. */
    startTcpServer(): Promise<number> {
      const writer = new TcpWriter(this, this.opts);
      this.writer = writer;
      this.reader = new LoopbackReader(this, this.opts);
      writer.on('error', (_err, nodeID) => this.nodes.disconnected(nodeID, false));
      writer.on('end', (nodeID) => this.nodes.disconnected(nodeID, false));
      return this.reader.listen();
    }
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listen(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function moleculerEcho(): Promise<Subject> {
  const { ServiceBroker } = await import('moleculer');
  const Transporter = loopbackTcpTransporter();
  const ports = { server: await freePort(), client: await freePort() };
  const urls = Object.entries(ports).map(([nodeID, port]) => `${HOST}:${port}/${nodeID}`);
  const broker = (nodeID: 'server' | 'client') => {
    const transporter = new Transporter({
      udpDiscovery: false, // no UDP multicast/broadcast discovery at all
      urls, // the nodes, on 127.0.0.1 only
      port: ports[nodeID],
      useHostname: false,
    });
    const b = new ServiceBroker({
      nodeID,
      namespace: `bench-${randomBytes(4).toString('hex')}`,
      transporter: transporter as never,
      logger: false,
      metrics: false,
      tracing: false,
    });
    // What a node announces in its INFO packet: loopback only, never the machine's own IPs/name.
    const local = (b.registry as unknown as { nodes: { localNode: { ipList: string[]; hostname: string } } })
      .nodes.localNode;
    local.ipList = [HOST];
    local.hostname = HOST;
    return b;
  };
  const server = broker('server');
  const client = broker('client');
  server.createService({
    name: 'echo',
    actions: { echo: (ctx: { params: unknown }) => ctx.params },
  });
  await server.start();
  await client.start();
  await client.waitForServices('echo', 10_000);
  const roundTrip = (n: number) => client.call('echo.echo', { value: `hello ${n}` });
  return { label: 'Moleculer 0.14 TCP', roundTrip, close: () => Promise.all([client.stop(), server.stop()]) };
}

// ---- profile mode ------------------------------------------------------------------------------

/**
 * `PILLION_PROFILE=ours|raw|batched PILLION_CALLS=N [PILLION_IN_FLIGHT=100] [PILLION_WARMUP=0]`:
 * N calls of one subject (after WARMUP calls not counted) and nothing else, for a profiler (`node --cpu-prof`, or callgrind run with two values
 * of N: the difference of the instruction counts over the difference of N is the cost per call,
 * caller and callee together, without the start-up).
 */
async function profileOnly(which: string, calls: number, inFlight: number): Promise<void> {
  const make = { ours: pillionEcho, raw: () => rawEcho(false), batched: () => rawEcho(true) }[which];
  if (!make) throw new Error(`PILLION_PROFILE must be ours, raw or batched, got ${which}`);
  const subject = await make();
  let n = 0;
  let end = Number(process.env.PILLION_WARMUP ?? 0);
  const worker = async () => {
    while (n < end) await subject.roundTrip(n++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker)); // warm-up, not counted
  n = 0;
  end = calls;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  await Promise.all(Array.from({ length: inFlight }, worker));
  const cpu = process.cpuUsage(cpu0);
  const ms = performance.now() - t0;
  console.log(
    `${subject.label}: ${calls} calls, ${inFlight} in flight, ${((calls / ms) * 1000).toFixed(0)}/s, CPU ${((cpu.user + cpu.system) / calls).toFixed(2)} us per call`,
  );
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc) {
    gc();
    const { heapUsed, arrayBuffers } = process.memoryUsage();
    console.log(
      `after a full GC: heap ${(heapUsed / 1e6).toFixed(1)} MB, array buffers ${(arrayBuffers / 1e6).toFixed(1)} MB`,
    );
  }
  await subject.close();
}

const profiled = process.env.PILLION_PROFILE;
if (profiled) {
  const heapProfile = process.env.PILLION_HEAP_PROFILE;
  const { Session } = await import('node:inspector/promises');
  const session = new Session();
  if (heapProfile) {
    session.connect();
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 256,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    } as never);
  }
  await profileOnly(
    profiled,
    Number(process.env.PILLION_CALLS ?? 20_000),
    Number(process.env.PILLION_IN_FLIGHT ?? IN_FLIGHT),
  );
  if (heapProfile) {
    const { profile } = await session.post('HeapProfiler.stopSampling');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(heapProfile, JSON.stringify(profile));
  }
  process.exit(0);
}

// ---- run ---------------------------------------------------------------------------------------

const started = performance.now();
const loadBefore = loadavg()
  .map((l) => l.toFixed(2))
  .join(' ');
const subjects = {
  ours: await pillionEcho(),
  raw: await rawEcho(false),
  batched: await rawEcho(true),
  moleculer: await moleculerEcho(),
};
type Key = keyof typeof subjects;
const keys = Object.keys(subjects) as Key[];
const list = keys.map((k) => subjects[k]);
await round(list, WARMUP_MS);
const runs = Object.fromEntries(keys.map((k) => [k, [] as Figures[]])) as Record<Key, Figures[]>;
for (let r = 0; r < ROUNDS; r++) {
  const figures = await round(list, MEASURE_MS);
  for (const [i, key] of keys.entries()) runs[key].push(figures[i] as Figures);
}
for (const key of keys) await subjects[key].close();

const med = (key: Key, field: keyof Figures) => median(runs[key].map((r) => r[field]));
console.log(
  `\nper round: calls/s 1 in flight | ${IN_FLIGHT} in flight | p50 us at 1 in flight` +
    '   || median CPU us per call (client + server, this process) at 1 | 100 in flight',
);
for (const key of keys) {
  const text = runs[key].map(
    (r) => `${r.serial.toFixed(0)} | ${r.parallel.toFixed(0)} | ${r.p50.toFixed(1)}`,
  );
  const cpu = `${med(key, 'cpuSerial').toFixed(1)} | ${med(key, 'cpuParallel').toFixed(1)}`;
  console.log(`  ${subjects[key].label.padEnd(20)} ${text.join('   ')}   || ${cpu}`);
}

/** Latency and CPU time per call: lower is better; rates: higher. */
const lower = (field: keyof Figures) => field === 'p50' || field === 'cpuSerial' || field === 'cpuParallel';
const row = (what: string, field: keyof Figures, ref: Key, goal?: string): Comparison => ({
  what,
  unit: lower(field) ? 'us' : '/s',
  ours: med('ours', field),
  reference: med(ref, field),
  referenceLabel: subjects[ref].label,
  better: lower(field) ? 'lower' : 'higher',
  ...(goal ? { goal } : {}),
});
const one = 'calls/s, 1 in flight';
const many = `calls/s, ${IN_FLIGHT} in flight`;
printComparisons(
  `wrapper-pillion: promise call() over sidecar + TCP, medians of ${ROUNDS} rounds of ${MEASURE_MS} ms`,
  [
    row(one, 'serial', 'raw', '>= 0.95'),
    row(one, 'serial', 'batched'),
    row(one, 'serial', 'moleculer'),
    row('p50 latency, 1 in flight', 'p50', 'raw'),
    row(many, 'parallel', 'raw'),
    row(many, 'parallel', 'batched', '>= 0.9'),
    row(many, 'parallel', 'moleculer', '>= 2'),
    // CPU time per call (client and server, this process): steadier than rates on a busy machine.
    row('CPU per call, 1 in flight', 'cpuSerial', 'raw'),
    row(`CPU per call, ${IN_FLIGHT} in flight`, 'cpuParallel', 'batched'),
  ],
);
console.log(
  `(${((performance.now() - started) / 1000).toFixed(1)} s in all; loadavg before ${loadBefore}, after ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')})`,
);
