/**
 * A flooder process: opens `streams` streams by name to a peer that stops reading (`stall` for
 * `stallMs`) and writes 64 KiB chunks as fast as backpressure lets it, sampling its own memory
 * (RSS, every stream's writableLength). After `stallMs` it ends the streams; the peer then reads
 * everything and answers the sha256 of what arrived, which must equal what was written.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createSidecar } from '@sidecar/core';
import { emit, errorInfo, readConfig, reportCrashes, sleep } from './lib/io.js';
import { type PeerBase, request, sidecarConfig } from './lib/serve.js';
import { readLine, readRest } from './lib/wire.js';

interface FlooderConfig extends PeerBase {
  name: string;
  target: string;
  /** Streams opened at once. @default 8 */
  streams?: number;
  /** How long the peer reads nothing while this side keeps writing, in ms. @default 4000 */
  stallMs?: number;
}

const CHUNK = 64 * 1024;
const SAMPLE_MS = 50;

reportCrashes();
const config = readConfig<FlooderConfig>();
const app = createSidecar({ ...sidecarConfig(config, config.name), register: false });
await app.start();
const chunk = randomBytes(CHUNK);
const stallMs = config.stallMs ?? 4000;
const rssStart = process.memoryUsage().rss;
let rssMax = rssStart;
let writableMax = 0;
let stalled = true;
const open: Duplex[] = [];
const sampler = setInterval(() => {
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
  for (const s of open) writableMax = Math.max(writableMax, s.writableLength);
}, SAMPLE_MS);

async function flood(index: number): Promise<{ written: number; ok: boolean; error?: unknown }> {
  const stream = app.to(config.target);
  stream.on('error', () => {});
  open.push(stream);
  const hash = createHash('sha256');
  let written = 0;
  try {
    request(stream, { op: 'stall', target: config.target, id: `${config.name}-${index}`, delayMs: stallMs });
    const { rest } = await readLine(stream);
    while (stalled) {
      hash.update(chunk);
      written += CHUNK;
      if (!stream.write(chunk)) {
        // Backpressure: wait for drain, but re-check the clock so the phase ends on time.
        await Promise.race([new Promise((r) => stream.once('drain', r)), sleep(100)]);
        while (stalled && stream.writableNeedDrain)
          await Promise.race([new Promise((r) => stream.once('drain', r)), sleep(100)]);
      }
    }
    stream.end();
    const reply = JSON.parse(Buffer.concat(await readRest(stream, rest)).toString()) as {
      sha: string;
      bytes: number;
    };
    const ok = reply.bytes === written && reply.sha === hash.digest('hex');
    return { written, ok };
  } catch (err) {
    return { written, ok: false, error: errorInfo(err) };
  }
}

const results = Promise.all(Array.from({ length: config.streams ?? 8 }, (_, i) => flood(i)));
emit({ t: 'ready', name: config.name, pid: process.pid });
await sleep(stallMs - 500);
const pendingAtEnd = open.reduce((n, s) => n + s.writableLength, 0);
stalled = false;
const done = await results;
clearInterval(sampler);
emit({
  t: 'flood',
  streams: done.length,
  ok: done.filter((r) => r.ok).length,
  written: done.reduce((n, r) => n + r.written, 0),
  maxWrittenPerStream: Math.max(...done.map((r) => r.written)),
  errors: done.filter((r) => r.error).map((r) => r.error),
  writableMax,
  pendingAtEnd,
  rssStart,
  rssMax,
});
await app.stop();
process.exit(0);
