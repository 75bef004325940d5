/**
 * Foundation benchmark: a stream by name over TCP against raw node:net sockets, in one run.
 *   pnpm bench:tcp
 * Loopback only. Prints sidecar's figures, the raw figures and their ratio.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createSidecar } from '@sidecar/core';
import { median, printComparisons, timeEach } from './lib/measure.js';

const TOTAL = 512 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 7);
const ROUNDS = 3;
const CONNECTS = 400;

/** Writes TOTAL bytes into `stream` (respecting backpressure) and resolves when the sink has counted them all. */
function pump(stream: Duplex, counted: Promise<number>): Promise<number> {
  const start = performance.now();
  let sent = 0;
  const write = () => {
    while (sent < TOTAL) {
      sent += CHUNK.length;
      if (!stream.write(CHUNK)) return void stream.once('drain', write);
    }
    stream.end();
  };
  write();
  return counted.then((bytes) => {
    if (bytes !== TOTAL) throw new Error(`sink counted ${bytes} bytes, expected ${TOTAL}`);
    return TOTAL / 1e6 / ((performance.now() - start) / 1000);
  });
}

function countUntilEnd(stream: Duplex): Promise<number> {
  return new Promise((resolve) => {
    let bytes = 0;
    stream.on('data', (c: Buffer) => {
      bytes += c.length;
    });
    stream.once('end', () => {
      stream.end();
      resolve(bytes);
    });
  });
}

async function rawServer(): Promise<{ server: Server; port: number; next: () => Promise<Socket> }> {
  const waiting: Array<(s: Socket) => void> = [];
  const server = createServer({ noDelay: true }, (socket) => waiting.shift()?.(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { server, port, next: () => new Promise((resolve) => waiting.push(resolve)) };
}

function rawConnect(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

async function main(): Promise<void> {
  const raw = await rawServer();
  const store = `bench-${process.pid}`;
  const sink = createSidecar({
    name: 'sink',
    registry: `memory:${store}`,
    transports: ['tcp'],
    events: false,
  });
  const source = createSidecar({
    name: 'source',
    registry: `memory:${store}`,
    transports: ['tcp'],
    events: false,
  });
  await sink.start();
  await source.start();
  let nextIncoming: ((s: Duplex) => void) | undefined;
  sink.on('stream', (stream) => {
    if (nextIncoming) nextIncoming(stream);
    else stream.destroy();
  });
  const incoming = () =>
    new Promise<Duplex>((resolve) => {
      nextIncoming = resolve;
    });

  const rawRates: number[] = [];
  const ourRates: number[] = [];
  const lazyRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const accepted = raw.next();
    const client = await rawConnect(raw.port);
    rawRates.push(await pump(client, accepted.then(countUntilEnd)));

    const got = incoming();
    const stream = await source.connect('sink');
    ourRates.push(await pump(stream, got.then(countUntilEnd)));

    const gotLazy = incoming();
    const lazy = source.to('sink');
    lazyRates.push(await pump(lazy, gotLazy.then(countUntilEnd)));
  }

  // Connect latency: raw connect, raw connect + one round trip (the hello's cost), and by name (warm cache).
  sink.removeAllListeners('stream');
  sink.on('stream', (s) => s.destroy());
  raw.server.removeAllListeners('connection');
  raw.server.on('connection', (s: Socket) => {
    s.once('data', () => s.write('k'));
    s.on('error', () => {});
  });
  const rawConnectTimes = await timeEach(async () => {
    const s = await rawConnect(raw.port);
    s.destroy();
  }, CONNECTS);
  const rawConnectRttTimes = await timeEach(async () => {
    const s = await rawConnect(raw.port);
    s.write('p');
    await new Promise((resolve) => s.once('data', resolve));
    s.destroy();
  }, CONNECTS);
  const byName = await timeEach(async () => {
    const s = await source.connect('sink');
    s.destroy();
  }, CONNECTS);

  printComparisons('stream by name over TCP vs raw node:net (loopback)', [
    {
      what: `throughput, connect() stream (best of ${ROUNDS} x ${TOTAL / 2 ** 20} MiB)`,
      unit: 'MB/s',
      ours: Math.max(...ourRates),
      reference: Math.max(...rawRates),
      referenceLabel: 'raw net socket pair',
      better: 'higher',
      goal: '>= 0.98',
    },
    {
      what: `throughput, to() stream (best of ${ROUNDS})`,
      unit: 'MB/s',
      ours: Math.max(...lazyRates),
      reference: Math.max(...rawRates),
      referenceLabel: 'raw net socket pair',
      better: 'higher',
      goal: '>= 0.98',
    },
    {
      what: `connect by name, warm cache (median of ${CONNECTS})`,
      unit: 'us',
      ours: median(byName),
      reference: median(rawConnectTimes),
      referenceLabel: 'raw net.connect',
      better: 'lower',
    },
    {
      what: 'connect by name vs raw connect + 1 round trip',
      unit: 'us',
      ours: median(byName),
      reference: median(rawConnectRttTimes),
      referenceLabel: 'raw connect + 1-byte ping',
      better: 'lower',
      goal: '<= 1.0',
    },
  ]);
  await source.stop();
  await sink.stop();
  raw.server.close();
}

await main();
