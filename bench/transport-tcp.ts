/**
 * Foundation benchmark: a stream by name over TCP against raw node:net sockets, in one run.
 *   pnpm bench:tcp
 * Loopback only. Prints sidecar's figures, the raw figures and their ratio.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { createSidecar } from '@sidecar/core';
import { median, printComparisons, timeEach } from './lib/measure.js';

const here = dirname(fileURLToPath(import.meta.url));
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

  // Connect latency, against a peer in another process (as in real use): raw connect, raw
  // connect + one round trip (what the hello costs at least), and connect by name (warm cache).
  const far = await startFarSide();
  const client = createSidecar({ name: 'client', registry: far.registry, events: false, register: false });
  await client.start();
  // Interleaved in rounds, so drift in the machine's speed hits all three alike.
  const rawConnectTimes: number[] = [];
  const rawConnectRttTimes: number[] = [];
  const byName: number[] = [];
  for (let round = 0; round < 8; round++) {
    rawConnectTimes.push(
      ...(await timeEach(async () => {
        const s = await rawConnect(far.rawPort);
        s.destroy();
      }, CONNECTS / 8)),
    );
    rawConnectRttTimes.push(
      ...(await timeEach(async () => {
        const s = await rawConnect(far.rawPort);
        s.write('p');
        await new Promise((resolve) => s.once('data', resolve));
        s.destroy();
      }, CONNECTS / 8)),
    );
    byName.push(
      ...(await timeEach(async () => {
        const s = await client.connect('sink');
        s.destroy();
      }, CONNECTS / 8)),
    );
  }
  await client.stop();
  await far.stop();

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
      what: `connect by name, warm cache, peer in another process (median of ${CONNECTS})`,
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

/** Starts bench/lib/tcp-sink.ts in a child process on a fresh SQLite registry. */
async function startFarSide(): Promise<{
  registry: `sqlite:${string}`;
  rawPort: number;
  stop: () => Promise<void>;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'sidecar-bench-'));
  const registry = `sqlite:${join(dir, 'registry.db')}` as const;
  const child = spawn(process.execPath, [...process.execArgv, join(here, 'lib/tcp-sink.ts'), registry], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`the far side exited with ${code}`)));
  });
  return {
    registry,
    rawPort: Number(line.split(' ')[1]),
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.stdin?.end();
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

await main();
