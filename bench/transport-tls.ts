/**
 * TLS transport benchmark: stream throughput after connect and connect-by-name latency, each
 * against raw node:tls with the same certificates, cipher and TLS version, in the same run,
 * interleaved; medians with their spreads (throughput: the median of per-round ratios).
 *
 *   pnpm exec tsx --conditions=@sidecar/source bench/transport-tls.ts
 */
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  type ConnectionOptions,
  connect,
  createSecureContext,
  createServer,
  type Server,
  type TLSSocket,
} from 'node:tls';
import { createSidecar } from '@sidecar/core';
import {
  createDevCa,
  issuePeerCertificate,
  type PemPair,
  type TlsOptions,
  TlsTransport,
  tls,
} from '@sidecar/transport-tls';
import { type Comparison, compareSamples, latencyRow, printComparisons } from './lib/measure.js';

const TOTAL_BYTES = 256 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 7);
const THROUGHPUT_ROUNDS = 6;
const CONNECTS = 300;
const CONNECT_WARMUP = 30;

const ca = await createDevCa();
const [serverPair, clientPair] = await Promise.all([
  issuePeerCertificate(ca, { name: 'server' }),
  issuePeerCertificate(ca, { name: 'client' }),
]);
const tlsOf = (pair: PemPair, extra: TlsOptions = {}): TlsOptions => ({
  ca: ca.cert,
  cert: pair.cert,
  key: pair.key,
  ...extra,
});

/** Writes TOTAL_BYTES with backpressure and ends. */
async function pump(stream: Duplex): Promise<void> {
  for (let sent = 0; sent < TOTAL_BYTES; sent += CHUNK.length) {
    if (!stream.write(CHUNK)) await new Promise((resolve) => stream.once('drain', resolve));
  }
  stream.end();
}

/** Resolves with the byte count once `stream` ends. */
function drain(stream: Duplex): Promise<number> {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    stream.once('end', () => resolve(bytes));
    stream.once('error', reject);
  });
}

/** MB/s of one transfer from `open()`'s stream to the receiver whose end is `received`. */
async function transfer(stream: Duplex, received: Promise<number>): Promise<number> {
  const t0 = performance.now();
  await pump(stream);
  const bytes = await received;
  if (bytes !== TOTAL_BYTES) throw new Error(`received ${bytes} of ${TOTAL_BYTES} bytes`);
  return TOTAL_BYTES / 1e6 / ((performance.now() - t0) / 1000);
}

// ---- sidecar side -------------------------------------------------------------------------------
const registry = `memory:bench-tls-${process.pid}` as const;
const server = createSidecar({
  name: 'server',
  registry,
  transports: [tls(tlsOf(serverPair))],
  events: false,
});
// `client` and `fullClient` open every stream on a new connection (standby: 0), as the rows say.
const client = createSidecar({
  name: 'client',
  registry,
  transports: [tls(tlsOf(clientPair))],
  events: false,
  standby: 0,
});
const fullClient = createSidecar({
  name: 'client',
  registry,
  transports: [tls(tlsOf(clientPair, { sessionCacheSize: 0 }))],
  events: false,
  standby: 0,
});
// The same as `client`, keeping one standby connection (TLS handshake and hello done) per instance.
const readyClient = createSidecar({
  name: 'client',
  registry,
  transports: [tls(tlsOf(clientPair))],
  events: false,
  standby: 1,
});
await Promise.all([server.start(), client.start(), fullClient.start(), readyClient.start()]);
let nextReceived: ((stream: Duplex) => void) | undefined;
server.on('stream', (stream) => {
  stream.on('error', () => {});
  if (nextReceived) nextReceived(stream);
  else {
    // A connect-loop stream: end this side when the caller ends its own (streams are half-open),
    // or the server would hold every one of them and close the oldest silent ones (standbys) at
    // maxIncomingConnections.
    stream.resume();
    stream.once('end', () => stream.end());
  }
});

/** The byte count of the next stream `take` is handed, once it ends. */
function nextTransfer(take: (fn: (stream: Duplex) => void) => void): Promise<number> {
  return new Promise((resolve, reject) => take((stream) => drain(stream).then(resolve, reject)));
}

async function sidecarThroughput(): Promise<{ mbps: number; cipher: string }> {
  const received = nextTransfer((fn) => {
    nextReceived = fn;
  });
  const stream = (await client.connect('server')) as TLSSocket;
  const mbps = await transfer(stream, received);
  nextReceived = undefined;
  const cipher = stream.getCipher().name;
  stream.destroy();
  return { mbps, cipher };
}

// ---- raw node:tls side ------------------------------------------------------------------------
const rawOptions = { ca: ca.cert, minVersion: 'TLSv1.3' as const };
let rawNext: ((stream: Duplex) => void) | undefined;
let rawAccepted = 0;
const rawServer: Server = createServer(
  { ...rawOptions, cert: serverPair.cert, key: serverPair.key, requestCert: true, rejectUnauthorized: true },
  (socket) => {
    rawAccepted++;
    socket.on('error', () => {});
    socket.setNoDelay(true);
    if (rawNext) rawNext(socket);
    else socket.resume();
  },
);
await new Promise<void>((resolve) => rawServer.listen(0, '127.0.0.1', resolve));
const rawPort = (rawServer.address() as AddressInfo).port;

// Built once, as the transport does: parsing the PEM per connect would slow the reference down.
const rawClientContext = createSecureContext({ ...rawOptions, cert: clientPair.cert, key: clientPair.key });

function rawConnect(session?: Buffer): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const options: ConnectionOptions & { noDelay: boolean } = {
      host: '127.0.0.1',
      port: rawPort,
      secureContext: rawClientContext,
      noDelay: true,
      checkServerIdentity: () => undefined,
      ...(session ? { session } : {}),
    };
    const socket = connect(options);
    socket.once('secureConnect', () => resolve(socket));
    socket.once('error', reject);
  });
}

async function rawThroughput(): Promise<{ mbps: number; cipher: string }> {
  const received = nextTransfer((fn) => {
    rawNext = fn;
  });
  const socket = await rawConnect();
  const mbps = await transfer(socket, received);
  rawNext = undefined;
  const cipher = socket.getCipher().name;
  socket.destroy();
  return { mbps, cipher };
}

// ---- measure ------------------------------------------------------------------------------------
const ours: number[] = [];
const raw: number[] = [];
const ciphers = new Set<string>();
for (let round = 0; round < THROUGHPUT_ROUNDS; round++) {
  // Alternate which goes first, so neither always inherits the other's leftovers.
  const first = round % 2 === 0 ? await sidecarThroughput() : await rawThroughput();
  const second = round % 2 === 0 ? await rawThroughput() : await sidecarThroughput();
  const [a, b] = round % 2 === 0 ? [first, second] : [second, first];
  ours.push(a.mbps);
  raw.push(b.mbps);
  ciphers.add(`${a.cipher} (sidecar)`).add(`${b.cipher} (raw)`);
}

let session: Buffer | undefined;
const warm = await rawConnect();
warm.on('session', (ticket: Buffer) => {
  session = ticket;
});
warm.resume();
await client.connect('server').then((s) => s.destroy()); // warms the lookup cache and the session
await readyClient.connect('server').then((s) => s.destroy()); // and opens the first standby connection
await new Promise((resolve) => setTimeout(resolve, 50));
warm.destroy();
if (!session) throw new Error('the raw server sent no session ticket');

// The variants run interleaved, one connect each per turn, so machine load hits them alike. Time
// stops when the stream is usable; the raw server then finishes its half of the handshake outside
// the timed region (sidecar's hello round trip already waits for it), so no leftover work lands in
// the next sample.
// TlsTransport.dial alone (no registry, no hello) against its own listener: this layer's cost.
let transportAccepted = 0;
const transportServer = new TlsTransport(tlsOf(serverPair));
const transportListener = await transportServer.listen(
  ({ stream }) => {
    transportAccepted++;
    stream.on('error', () => {});
    stream.resume();
  },
  { reach: 'machine' },
);
const expect = { name: 'server', namespace: 'default' };
const cachedDialer = new TlsTransport(tlsOf(clientPair));
const freshDialer = new TlsTransport(tlsOf(clientPair, { sessionCacheSize: 0 }));
await cachedDialer.dial(transportListener.endpoint, { expect }).then(async (s) => {
  s.resume();
  await new Promise((resolve) => setTimeout(resolve, 50));
  s.destroy();
});

async function settled(counter: () => number, count: number): Promise<void> {
  while (counter() < count) await new Promise((resolve) => setImmediate(resolve));
}

const variants: Array<{
  label: string;
  open: () => Promise<Duplex>;
  settle?: (before: number) => Promise<void>;
  count?: () => number;
  times: number[];
}> = [
  { label: 'sidecar', open: () => client.connect('server'), times: [] },
  { label: 'sidecar, no session cache', open: () => fullClient.connect('server'), times: [] },
  { label: 'sidecar, standby', open: () => readyClient.connect('server'), times: [] },
  { label: 'raw full', open: () => rawConnect(), count: () => rawAccepted, times: [] },
  { label: 'raw resumed', open: () => rawConnect(session), count: () => rawAccepted, times: [] },
  {
    label: 'transport dial full',
    open: () => freshDialer.dial(transportListener.endpoint, { expect }),
    count: () => transportAccepted,
    times: [],
  },
  {
    label: 'transport dial resumed',
    open: () => cachedDialer.dial(transportListener.endpoint, { expect }),
    count: () => transportAccepted,
    times: [],
  },
];
for (let i = 0; i < CONNECT_WARMUP + CONNECTS; i++) {
  for (const variant of variants) {
    const before = variant.count?.() ?? 0;
    const t0 = performance.now();
    const stream = await variant.open();
    const us = (performance.now() - t0) * 1000;
    if (variant.count) await settled(variant.count, before + 1);
    stream.destroy();
    if (i >= CONNECT_WARMUP) variant.times.push(us);
  }
}

const [ourTimes, ourFullTimes, ourStandbyTimes, rawTimes, rawResumedTimes, dialFullTimes, dialResumedTimes] =
  variants.map((v) => v.times) as [number[], number[], number[], number[], number[], number[], number[]];
const rows: Comparison[] = [
  compareSamples(
    {
      what: `stream throughput, ${TOTAL_BYTES / 2 ** 20} MiB (${THROUGHPUT_ROUNDS} interleaved rounds)`,
      unit: 'MB/s',
      referenceLabel: 'raw node:tls pair',
      better: 'higher',
      goal: '>= 0.98',
    },
    ours,
    raw,
  ),
  compareSamples(
    latencyRow(
      `connect-by-name, warm cache (${CONNECTS} each, interleaved)`,
      'raw tls.connect, full handshake',
      '<= 1.1',
    ),
    ourTimes,
    rawTimes,
    false,
  ),
  compareSamples(
    latencyRow('connect-by-name, warm cache', 'raw tls.connect, resumed session'),
    ourTimes,
    rawResumedTimes,
    false,
  ),
  compareSamples(
    latencyRow(
      'stream to a peer already talked to (standby: 1)',
      'raw tls.connect, resumed session',
      '<= 1.0',
    ),
    ourStandbyTimes,
    rawResumedTimes,
    false,
  ),
  compareSamples(
    latencyRow('connect-by-name, session cache off', 'raw tls.connect, full handshake'),
    ourFullTimes,
    rawTimes,
    false,
  ),
  compareSamples(
    latencyRow('TlsTransport.dial alone, full handshake', 'raw tls.connect, full handshake'),
    dialFullTimes,
    rawTimes,
    false,
  ),
  compareSamples(
    latencyRow('TlsTransport.dial alone, resumed', 'raw tls.connect, resumed session'),
    dialResumedTimes,
    rawResumedTimes,
    false,
  ),
];
printComparisons('transport-tls', rows);
console.log(`ciphers: ${[...ciphers].join(', ')}`);
console.log(
  `throughput rounds MB/s: sidecar ${ours.map((v) => v.toFixed(0)).join(' ')}; raw ${raw.map((v) => v.toFixed(0)).join(' ')}`,
);

await Promise.all([
  client.stop(),
  fullClient.stop(),
  readyClient.stop(),
  server.stop(),
  transportListener.close(),
]);
await new Promise((resolve) => rawServer.close(resolve));
