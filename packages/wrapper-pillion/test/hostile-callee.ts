/**
 * A pillion callee (ours, default options) in its own process, for the hostile-caller tests: it
 * serves TCP on 127.0.0.1 and prints JSON lines: `listening`, every `warning`, and `stats`
 * every 50 ms (RSS, peak RSS, bytes queued for each caller, remembered method names).
 */
import { createServer } from 'node:net';
import { PillionStream } from '@sidecar/wrapper-pillion';

const print = (event: string, fields: object) =>
  process.stdout.write(`${JSON.stringify({ event, ...fields })}\n`);
const streams = new Set<PillionStream>();
const queued = new Map<PillionStream, () => number>();

const server = createServer((socket) => {
  socket.on('error', () => {});
  const stream = new PillionStream(socket, { remoteName: 'caller' });
  streams.add(stream);
  queued.set(stream, () => socket.writableLength);
  stream.once('close', () => streams.delete(stream));
  stream.on('warning', (error: Error & { code?: string }) =>
    print('warning', { code: error.code, message: error.message.slice(0, 300) }),
  );
  stream.provide('ping', (cb) => cb('pong'));
  stream.provide('echo', (value, cb) => cb(value));
  // replies from a timer, long after the method returned
  stream.provide('late', (bytes: number, cb) => setTimeout(() => cb('x'.repeat(bytes)), 10));
});
server.listen(0, '127.0.0.1', () =>
  print('listening', { port: (server.address() as { port: number }).port }),
);

setInterval(() => {
  let names = 0;
  let nameBytes = 0;
  let writable = 0;
  let throttled = 0;
  for (const s of streams) {
    names += s.remoteMethods.size;
    for (const n of s.remoteMethods) nameBytes += Buffer.byteLength(n);
    writable += (queued.get(s)?.() ?? 0) + s.writableLength;
    if (s.throttled) throttled++;
  }
  print('stats', {
    rss: process.memoryUsage.rss(),
    maxRss: process.resourceUsage().maxRSS * 1024,
    writable,
    throttled,
    names,
    nameBytes,
    streams: streams.size,
  });
}, 50);
