/**
 * The far side of the TCP connect benchmark, in its own process (as a real peer would be): a raw
 * net server that answers one byte with one byte, and a sidecar named "sink" on the given SQLite
 * registry. Prints "ready RAWPORT" and runs until stdin closes.
 */
import { createServer } from 'node:net';
import { createSidecar } from '@sidecar/core';

const registry = process.argv[2] as `sqlite:${string}`;
const raw = createServer({ noDelay: true }, (socket) => {
  socket.on('error', () => {});
  socket.on('data', () => socket.write('k'));
});
await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
const sink = createSidecar({ name: 'sink', registry, events: false });
sink.on('stream', (stream) => {
  stream.on('error', () => {});
  stream.once('end', () => stream.end());
  stream.resume();
});
await sink.start();
console.log(`ready ${(raw.address() as { port: number }).port}`);
process.stdin.resume();
process.stdin.once('end', async () => {
  await sink.stop();
  raw.close();
});
