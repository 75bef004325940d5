/**
 * A caller process: `loops` concurrent loops that each open a stream by name per request, in
 * turn over `targets`, until `durationMs`, `count` or `{cmd:'stop'}`. One JSON line per request
 * (`t:'call'`; with `log:'failures'` only failures), then a `done` summary.
 * - `op:'call'`: a request/reply on a plain stream; the reply names the instance that answered.
 * - `op:'echo'`: sends a random payload, checks the echo byte for byte (sha256 both ways).
 * - `op:'rpc'`: a pillion call `whoami(id)` on a fresh RPC stream.
 */
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createSidecar, type Sidecar } from '@sidecar/core';
import { emit, errorInfo, onCommand, readConfig, reportCrashes, sleep } from './lib/io.js';
import { type PeerBase, request, sidecarConfig } from './lib/serve.js';
import { type Identity, readLine, readRest, sha256, TruncatedReplyError } from './lib/wire.js';

interface CallerConfig extends PeerBase {
  /** This caller's name (it does not register: a client-only sidecar). */
  name: string;
  targets: string[];
  op: 'call' | 'echo' | 'rpc';
  /** Concurrent loops. @default 1 */
  loops?: number;
  /** Pause between two requests of one loop, in ms. @default 0 */
  pauseMs?: number;
  /** Stop after this long, in ms. @default 10000 */
  durationMs?: number;
  /** Stop after this many requests in total. @default Infinity */
  count?: number;
  /** `echo`: payload size range in bytes. @default [1024, 65536] */
  payload?: [number, number];
  /** Give up on one request after this long (the request then counts as failed), in ms. @default 15000 */
  callTimeoutMs?: number;
  /** How long a request waits for its name to appear and answer (connectTimeout). @default 5000 */
  connectTimeoutMs?: number;
  /** `all`: one line per request; `failures`: only failed ones. @default 'all' */
  log?: 'all' | 'failures';
}

class CallTimeoutError extends Error {
  override name = 'CallTimeoutError';
}

reportCrashes();
const config = readConfig<CallerConfig>();
const base = {
  ...sidecarConfig(config, config.name),
  register: false,
  connectTimeout: config.connectTimeoutMs ?? 5000,
};
const app = (
  config.op === 'rpc'
    ? createSidecar({ ...base, wrappers: [(await import('@sidecar/wrapper-pillion')).pillion()] })
    : createSidecar(base)
) as Sidecar;
await app.start();

let stopping = false;
let issued = 0;
const totals = { ok: 0, failed: 0, bytes: 0, mismatches: 0, wrongApp: 0 };
const deadline = Date.now() + (config.durationMs ?? 10_000);
const limit = config.count ?? Number.POSITIVE_INFINITY;

function withTimeout<T>(promise: Promise<T>, stream: Duplex): Promise<T> {
  const ms = config.callTimeoutMs ?? 15_000;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new CallTimeoutError(`no complete reply within ${ms} ms`);
      stream.destroy(err);
      reject(err);
    }, ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

type Tracked = { stream?: Duplex & { peer?: { instanceId: string } } };

async function once(
  target: string,
  id: string,
  tracked: Tracked,
): Promise<{ from: Identity; bytes: number }> {
  if (config.op === 'rpc') {
    const stream = app.to(target) as unknown as Duplex & {
      call(m: string, ...a: unknown[]): Promise<unknown>;
    };
    tracked.stream = stream;
    stream.on('error', () => {});
    try {
      return { from: (await withTimeout(stream.call('whoami', id), stream)) as Identity, bytes: 0 };
    } finally {
      stream.end();
    }
  }
  const stream = app.to(target) as Duplex;
  tracked.stream = stream;
  stream.on('error', () => {});
  const [min, max] = config.payload ?? [1024, 65_536];
  const payload =
    config.op === 'echo' ? randomBytes(min + Math.floor(Math.random() * (max - min + 1))) : undefined;
  request(stream, { op: config.op === 'echo' ? 'echo' : 'call', target, id }, payload).end();
  const exchange = async () => {
    const { line, rest } = await readLine(stream);
    const body = await readRest(stream, rest);
    return { from: line as Identity, body };
  };
  const { from, body } = await withTimeout(exchange(), stream);
  if (payload) {
    const received = Buffer.concat(body);
    if (received.length !== payload.length || sha256(received) !== sha256(payload)) {
      totals.mismatches++;
      throw new Error(`echo mismatch: sent ${payload.length} bytes, got ${received.length}`);
    }
    return { from, bytes: payload.length };
  }
  if (body.length > 0) throw new TruncatedReplyError('unexpected bytes after the reply');
  return { from, bytes: 0 };
}

async function loop(index: number): Promise<void> {
  while (!stopping && Date.now() < deadline && issued < limit) {
    const n = issued++;
    const target = config.targets[n % config.targets.length] as string;
    const id = `${config.name}-${index}-${n}`;
    const start = Date.now();
    const tracked: Tracked = {};
    try {
      const { from, bytes } = await once(target, id, tracked);
      const wrong = from.name !== target || from.id !== id;
      if (wrong) totals.wrongApp++;
      totals.ok++;
      totals.bytes += bytes;
      if (config.log !== 'failures' || wrong)
        emit({ t: 'call', ok: true, target, id, start, end: Date.now(), from, bytes, wrong });
    } catch (err) {
      totals.failed++;
      const connected = tracked.stream?.peer?.instanceId;
      emit({ t: 'call', ok: false, target, id, start, end: Date.now(), connected, error: errorInfo(err) });
    }
    if (config.pauseMs) await sleep(config.pauseMs);
  }
}

onCommand((command) => {
  if (command.cmd === 'stop') stopping = true;
});
emit({ t: 'ready', name: config.name, pid: process.pid });
await Promise.all(Array.from({ length: config.loops ?? 1 }, (_, i) => loop(i)));
emit({ t: 'done', calls: issued, ...totals, rss: process.memoryUsage().rss });
await app.stop();
process.exit(0);
