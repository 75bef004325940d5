/**
 * The far side of the TCP benchmark, in its own process (as a real peer would be), all on
 * 127.0.0.1: a raw net server that answers one byte with one byte (connect + round trip), a raw
 * net sink (which says "r" first, once it has accepted), a sidecar named "sink" on the given SQLite registry, and a js-libp2p node serving the
 * same sink. Each sink reads until the end and answers `<bytes> <cpu us of this process>\n`.
 * Prints `ready PINGPORT SINKPORT LIBP2PADDR` and runs until stdin closes.
 */
import { createServer, type Server } from 'node:net';

import type { Duplex } from 'node:stream';
import { createSidecar } from '@sidecar/core';
import { serveSink, startLibp2p } from './libp2p-peer.js';
import { collectGarbage, exposeGc } from './measure.js';

/** Counts what `stream` carries until its end, then answers with the count and the CPU used. */
function countAndAnswer(stream: Duplex): void {
  stream.on('error', () => {});
  let bytes = 0;
  let cpu: NodeJS.CpuUsage | undefined;
  stream.on('data', (chunk: Buffer) => {
    cpu ??= process.cpuUsage();
    bytes += chunk.length;
  });
  stream.once('end', () => {
    // A stream of the connect loop carried nothing: close it as the raw ping server would.
    if (bytes === 0) return void stream.end();
    const used = process.cpuUsage(cpu);
    stream.end(`${bytes} ${cpu ? used.user + used.system : 0}\n`);
    // The garbage of a transfer is collected now, in the sender's pause before the next.
    setImmediate(collectGarbage);
  });
}

const listen = (server: Server) =>
  new Promise<number>((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)),
  );

exposeGc();
const registry = process.argv[2] as `sqlite:${string}`;
const ping = createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {});
  socket.on('data', () => socket.write('k'));
});
// The raw sink says "r" once it has accepted, as sidecar's welcome does: a sender that started
// before the far side accepted would measure a different (and slower) start of the transfer.
const sink = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => {
  socket.write('r');
  countAndAnswer(socket);
});
const [pingPort, sinkPort] = await Promise.all([listen(ping), listen(sink)]);
const peer = createSidecar({ name: 'sink', registry, events: false });
peer.on('stream', countAndAnswer);
await peer.start();
const libp2p = await startLibp2p(true);
await serveSink(libp2p);
console.log(`ready ${pingPort} ${sinkPort} ${libp2p.getMultiaddrs()[0]?.toString()}`);
process.stdin.resume();
process.stdin.once('end', async () => {
  await Promise.all([peer.stop(), libp2p.stop()]);
  ping.close();
  sink.close();
});
