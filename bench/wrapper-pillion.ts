/**
 * pillion RPC round trips over sidecar + TCP vs a raw length-prefixed JSON echo over a raw net
 * socket pair (the limit: one frame each way, no RPC), measured in the same run on 127.0.0.1.
 *
 *   pnpm exec tsx --conditions=@sidecar/source bench/wrapper-pillion.ts
 */
import { randomBytes } from 'node:crypto';
import { type AddressInfo, createServer, connect as netConnect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSidecar } from '@sidecar/core';
import { pillion } from '@sidecar/wrapper-pillion';
import { type Comparison, percentile, printComparisons } from './lib/measure.js';

process.env.SIDECAR_HOST = '127.0.0.1';
const SERIAL_CALLS = 20_000;
const PARALLEL_CALLS = 100_000;
const IN_FLIGHT = 100;

/** Sequential and concurrent round trips through `roundTrip`; returns calls/s and p50 latency. */
async function measure(roundTrip: (n: number) => Promise<unknown>) {
  for (let i = 0; i < 2000; i++) await roundTrip(i);
  const latencies: number[] = [];
  let t0 = performance.now();
  for (let i = 0; i < SERIAL_CALLS; i++) {
    const start = performance.now();
    await roundTrip(i);
    latencies.push((performance.now() - start) * 1000);
  }
  const serial = SERIAL_CALLS / ((performance.now() - t0) / 1000);
  t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < PARALLEL_CALLS) await roundTrip(next++);
    }),
  );
  const parallel = PARALLEL_CALLS / ((performance.now() - t0) / 1000);
  return { serial, parallel, p50: percentile(latencies, 50) };
}

/** A raw framed-JSON echo: 4-byte length + JSON each way; replies matched by id. */
async function rawEcho() {
  const server = createServer((socket) => {
    let buffer: Buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
      while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
        const length = buffer.readUInt32BE(0);
        const message = JSON.parse(buffer.toString('utf8', 4, 4 + length)) as unknown;
        buffer = buffer.subarray(4 + length);
        socket.write(frame(message));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const socket: Socket = netConnect((server.address() as AddressInfo).port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  socket.setNoDelay(true);
  const waiting = new Map<number, (value: unknown) => void>();
  let buffer: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    buffer = buffer.length ? Buffer.concat([buffer, chunk]) : chunk;
    while (buffer.length >= 4 && buffer.length >= 4 + buffer.readUInt32BE(0)) {
      const length = buffer.readUInt32BE(0);
      const message = JSON.parse(buffer.toString('utf8', 4, 4 + length)) as { id: number; value: unknown };
      buffer = buffer.subarray(4 + length);
      waiting.get(message.id)?.(message.value);
      waiting.delete(message.id);
    }
  });
  let ids = 0;
  const roundTrip = (n: number) =>
    new Promise((resolve) => {
      const id = ids++;
      waiting.set(id, resolve);
      socket.write(frame({ id, value: `hello ${n}` }));
    });
  const close = () => {
    socket.destroy();
    server.close();
  };
  return { roundTrip, close };
}

function frame(value: unknown): Buffer {
  const json = Buffer.from(JSON.stringify(value));
  const out = Buffer.allocUnsafe(4 + json.length);
  out.writeUInt32BE(json.length, 0);
  json.copy(out, 4);
  return out;
}

async function pillionEcho() {
  const store = `bench-${randomBytes(4).toString('hex')}`;
  const common = { registry: `memory:${store}`, transports: ['tcp'], events: false } as const;
  const server = createSidecar({ name: 'bench-server', ...common, wrappers: [pillion()] });
  const client = createSidecar({ name: 'bench-client', ...common, wrappers: [pillion()] });
  await server.start();
  await client.start();
  server.to('*').provide('echo', (value: unknown, cb: (v: unknown) => void) => cb(value));
  const stream = client.to('bench-server');
  const roundTrip = (n: number) => stream.call('echo', `hello ${n}`);
  return { roundTrip, close: () => Promise.all([client.stop(), server.stop()]) };
}

const raw = await rawEcho();
const rawFigures = await measure(raw.roundTrip);
raw.close();
const ours = await pillionEcho();
const oursFigures = await measure(ours.roundTrip);
await ours.close();

const rows: Comparison[] = [
  {
    what: 'round trips/s, 1 in flight',
    unit: '/s',
    ours: oursFigures.serial,
    reference: rawFigures.serial,
    referenceLabel: 'raw framed-JSON echo, net socket',
    better: 'higher',
    goal: '>= 0.9',
  },
  {
    what: 'p50 latency, 1 in flight',
    unit: 'us',
    ours: oursFigures.p50,
    reference: rawFigures.p50,
    referenceLabel: 'raw framed-JSON echo, net socket',
    better: 'lower',
  },
  {
    what: `round trips/s, ${IN_FLIGHT} in flight`,
    unit: '/s',
    ours: oursFigures.parallel,
    reference: rawFigures.parallel,
    referenceLabel: 'raw framed-JSON echo, net socket (unbatched writes)',
    better: 'higher',
  },
];
printComparisons('wrapper-pillion: promise call(), sidecar + pillion over TCP vs raw framed JSON', rows);
