import { createInterface } from 'node:readline';
import { type Duplex, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createSidecar, InvalidConfigError, validateName } from '@sidecar/core';
import { FrameDecoderStream, FrameEncoderStream } from '@sidecar/wrapper-pillion';
import { escapeLines, safeJson } from '../escape.js';
import { cliPeerName, type GlobalOptions, registryOf } from '../options.js';
import { spinner } from '../output.js';

/** Options of `sidecar cat`. */
export interface CatOptions extends GlobalOptions {
  /** How long to wait for the peer, in ms. */
  timeout?: number;
  /** Bytes as they are, whatever the peer speaks. */
  raw?: boolean;
  /** Frames: stdin JSON lines become burro frames, frames from the peer become JSON lines. */
  frames?: boolean;
}

/**
 * `sidecar cat <name>`: netcat by name. stdin goes to the peer, its replies to stdout. When stdin
 * ends, the stream is half-closed and cat waits for the peer to finish; when the peer closes, cat
 * exits at once. The wrapper chain: with a peer that publishes RPC methods (pillion), or with
 * `--frames`, lines are JSON values carried as burro frames; `--raw` skips it (bytes as they are).
 */
export async function cat(name: string, options: CatOptions): Promise<void> {
  validateName(name);
  if (options.raw && options.frames) throw new InvalidConfigError('--raw and --frames exclude each other');
  const app = createSidecar({ name: cliPeerName(), register: false, events: false, ...registryOf(options) });
  await app.start();
  try {
    const wait = spinner(`connecting to "${name}"`);
    const stream = await app
      .connect(name, options.timeout ? { timeout: options.timeout } : {})
      .finally(() => wait.stop());
    const frames = options.frames || (!options.raw && (await speaksFrames(app.peers(name))));
    if (frames) await catFrames(stream);
    else await catBytes(stream, !options.raw && Boolean(process.stdout.isTTY));
  } finally {
    await app.stop();
  }
}

async function speaksFrames(peers: Promise<Array<{ methods: string[] }>>): Promise<boolean> {
  return (await peers.catch(() => [])).some((p) => p.methods.length > 0);
}

/**
 * Bytes both ways. To a terminal (and without --raw) the peer's text is shown with its control
 * characters escaped, so a peer cannot drive the operator's terminal; to a pipe or file, and with
 * --raw, the bytes are passed through exactly.
 */
async function catBytes(stream: Duplex, escapeOutput: boolean): Promise<void> {
  process.stdin.pipe(stream);
  if (!escapeOutput) return pipeline(stream, process.stdout, { end: false });
  const decoder = new TextDecoder();
  const toSafeText = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      callback(null, escapeLines(decoder.decode(chunk, { stream: true })));
    },
    flush(callback) {
      callback(null, escapeLines(decoder.decode()));
    },
  });
  await pipeline(stream, toSafeText, process.stdout, { end: false });
}

async function catFrames(stream: Duplex): Promise<void> {
  const encoder = new FrameEncoderStream();
  encoder.pipe(stream);
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    try {
      encoder.write(JSON.parse(line));
    } catch {
      process.stderr.write(`not JSON, not sent: ${line}\n`);
    }
  });
  lines.once('close', () => encoder.end());
  const toLines = new Transform({
    writableObjectMode: true,
    transform(value: unknown, _encoding, callback) {
      callback(null, `${safeJson(value)}\n`);
    },
  });
  await pipeline(stream, new FrameDecoderStream(), toLines, process.stdout, { end: false });
}
