/**
 * Hostile callers against a pillion callee (ours, default options) in its own process, on real
 * TCP sockets. Each case prints its figure (bytes held, process alive).
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodeFrame, FrameDecoder } from '@sidecar/wrapper-pillion';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Line } from './original-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;
const callee = spawn(
  process.execPath,
  ['--import', 'tsx', '--conditions=@sidecar/source', join(here, 'hostile-callee.ts')],
  { stdio: ['ignore', 'pipe', 'inherit'] },
);
const lines: Line[] = [];
let port = 0;
let partial = '';
callee.stdout.on('data', (chunk: Buffer) => {
  partial += chunk.toString();
  const parts = partial.split('\n');
  partial = parts.pop() ?? '';
  for (const p of parts) lines.push(JSON.parse(p) as Line);
});
/** One `stats` line of the callee. */
interface Stats {
  rss: number;
  maxRss: number;
  writable: number;
  throttled: number;
  names: number;
  nameBytes: number;
  streams: number;
}
const stats = () => lines.filter((l) => l.event === 'stats') as unknown as Stats[];
const latest = () => stats().at(-1) as Stats;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A raw caller: writes frames, collects decoded replies. */
async function caller(): Promise<{ socket: Socket; replies: Array<Record<string, unknown>> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise((resolve) => socket.once('connect', resolve));
  const replies: Array<Record<string, unknown>> = [];
  const decoder = new FrameDecoder(64 * MiB);
  socket.on('data', (chunk: Buffer) =>
    decoder.push(chunk, (m) => replies.push(m as Record<string, unknown>)),
  );
  socket.on('error', () => {});
  return { socket, replies };
}

/** Waits (bounded) until `check` holds. */
async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    if (callee.exitCode !== null)
      throw new Error(`the callee exited (${callee.exitCode}) waiting for ${what}`);
    await sleep(20);
  }
}

/** The callee still answers a fresh caller. */
async function alive(): Promise<void> {
  const { socket, replies } = await caller();
  socket.write(
    encodeFrame({ type: 'call', id: 'p', method: 'ping', params: [{ name: 'x_p' }], functions: [0] }),
  );
  await until(() => replies.some((m) => m.method === 'x_p' && (m.params as unknown[])[0] === 'pong'), 'pong');
  socket.destroy();
}

beforeAll(async () => {
  await until(() => lines.some((l) => l.event === 'listening'), 'the callee to listen');
  port = lines.find((l) => l.event === 'listening')?.port as number;
  await until(() => stats().length > 0, 'stats');
});

afterAll(() => {
  callee.kill('SIGKILL');
});

describe('a pillion callee no caller can crash or bloat', { timeout: 120_000 }, () => {
  it('a reply over the frame limit, sent from a timer, fails that call only', async () => {
    const { socket, replies } = await caller();
    const size = 17 * MiB; // over the 16 MiB default
    socket.write(
      encodeFrame({
        type: 'call',
        id: 'big-1',
        method: 'late',
        params: [size, { name: 'x_big' }],
        functions: [1],
      }),
    );
    await until(() => replies.some((m) => m.type === 'error'), 'the error frame');
    const error = replies.find((m) => m.type === 'error') as Record<string, unknown>;
    expect(error.inResponseTo).toBe('big-1');
    expect(error.error).toMatch(
      /^method `late' failed: its reply frame of \d+ bytes exceeds the maximum of 16777216 bytes$/,
    );
    await until(
      () => lines.some((l) => l.event === 'warning' && l.code === 'SIDECAR_ERR_REPLY_FAILED'),
      'warning',
    );
    // the same stream and the process go on
    socket.write(
      encodeFrame({ type: 'call', id: 'p2', method: 'ping', params: [{ name: 'x_p2' }], functions: [0] }),
    );
    await until(() => replies.some((m) => m.method === 'x_p2'), 'pong on the same stream');
    expect(callee.exitCode).toBe(null);
    console.log(
      `[figure] timer reply of ${size} bytes: caller got ${JSON.stringify(error.error)}; callee alive, rss ${(latest().rss / MiB).toFixed(0)} MiB`,
    );
    socket.destroy();
  });

  it('a caller that never reads its replies: 1,000 calls of 512 KiB, the callee holds a bounded number of bytes', async () => {
    const before = latest();
    const { socket, replies } = await caller();
    socket.pause(); // never read
    const value = 'v'.repeat(512 * 1024);
    let written = 0;
    let stalledAt = -1;
    let peakWritable = 0;
    let peakRss = 0;
    const watch = setInterval(() => {
      const s = latest();
      peakWritable = Math.max(peakWritable, s.writable);
      peakRss = Math.max(peakRss, s.rss);
    }, 50);
    const writer = (async () => {
      while (written < 1000) {
        const frame = encodeFrame({
          type: 'call',
          id: `c${written}`,
          method: 'echo',
          params: [value, { name: `x_${written}` }],
          functions: [1],
        });
        written++;
        if (!socket.write(frame)) await new Promise((resolve) => socket.once('drain', resolve));
      }
    })();
    // wait until the writer makes no progress for 2 s: the callee stopped reading
    let last = -1;
    while (written !== last) {
      last = written;
      await sleep(2000);
      if (written >= 1000) break;
    }
    stalledAt = written;
    const held = latest();
    expect(written, 'the callee must stop reading before 1,000 calls').toBeLessThan(1000);
    expect(held.throttled).toBe(1);
    expect(peakWritable).toBeLessThan(16 * MiB);
    expect(peakRss - before.rss).toBeLessThan(200 * MiB);
    // now read: every call is answered, nothing was dropped
    socket.resume();
    await writer;
    await until(() => replies.filter((m) => m.type === 'call').length >= 1000, '1,000 replies', 100_000);
    clearInterval(watch);
    expect(
      replies.filter((m) => m.type === 'call' && (m.params as string[])[0]?.length === value.length),
    ).toHaveLength(1000);
    expect(callee.exitCode).toBe(null);
    console.log(
      `[figure] never-reading caller: callee stopped reading after ${stalledAt} calls; peak queued ${(peakWritable / MiB).toFixed(1)} MiB, RSS ${(before.rss / MiB).toFixed(0)} -> peak ${(peakRss / MiB).toFixed(0)} MiB (unbounded would queue 500 MiB); after the caller read, 1000/1000 replies`,
    );
    socket.destroy();
  });

  it('300 methodAdded frames with 1 MiB names: names are capped by bytes, the callee stays small', async () => {
    const before = latest();
    const { socket } = await caller();
    const name = 'n'.repeat(MiB - 16);
    let peakRss = 0;
    for (let i = 0; i < 300; i++) {
      if (!socket.write(encodeFrame({ type: 'methodAdded', name: `${name}${i}` })))
        await new Promise((resolve) => socket.once('drain', resolve));
      peakRss = Math.max(peakRss, latest().rss);
    }
    socket.write(encodeFrame({ type: 'methodAdded', name: 'small' }));
    await sleep(500);
    const s = latest();
    peakRss = Math.max(peakRss, s.rss);
    expect(s.nameBytes).toBeLessThanOrEqual(MiB);
    expect(peakRss - before.rss).toBeLessThan(150 * MiB);
    expect(
      lines.some((l) => l.event === 'warning' && /more methods than remembered/.test(String(l.message))),
    ).toBe(true);
    await alive();
    console.log(
      `[figure] 300 x 1 MiB methodAdded: callee remembers ${s.names} names, ${s.nameBytes} bytes; RSS ${(before.rss / MiB).toFixed(0)} -> peak ${(peakRss / MiB).toFixed(0)} MiB; alive`,
    );
    socket.destroy();
  });
});
