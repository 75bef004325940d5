import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';

/**
 * The tiny protocol the reliability peers speak over plain sidecar streams. The caller's first
 * line is a JSON header; the server answers with a JSON line naming itself (its identity), so
 * every reply proves which app produced it:
 * - `call`: the server waits `delayMs`, answers its identity line, and ends;
 * - `echo`: the server answers its identity line, then sends back every byte it receives;
 * - `stall`: the server answers its identity line, then never reads again (backpressure).
 */
export interface Header {
  op: 'call' | 'echo' | 'stall';
  /** The name the caller asked for: the server checks it is its own. */
  target: string;
  /** The caller's id of this request, echoed in the reply. */
  id: string;
  /** `call` only: how long the server waits before it answers, in ms. @default 0 */
  delayMs?: number;
}

/** Who answered: sent as the first reply line on every stream. */
export interface Identity {
  name: string;
  instanceId: string;
  /** A label of the app process (e.g. `alpha`), so a wrong app shows even if names collide. */
  app: string;
  pid: number;
  /** The address the peer advertised when it answered. */
  host: string;
  /** The request id this answers. */
  id: string;
}

const MAX_LINE = 64 * 1024;

/** The hex sha256 of some bytes. */
export function sha256(data: Buffer | Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of Array.isArray(data) ? data : [data]) hash.update(part);
  return hash.digest('hex');
}

/**
 * Reads up to the first newline: the JSON line and whatever bytes followed it. Rejects if the
 * stream ends or fails first.
 */
export function readLine(stream: Duplex): Promise<{ line: unknown; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('error', onError);
      stream.off('close', onEnd);
    };
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const nl = buffered.indexOf(10);
      if (nl < 0) {
        if (buffered.length > MAX_LINE) {
          cleanup();
          reject(new Error('header line too long'));
        }
        return;
      }
      cleanup();
      stream.pause();
      try {
        resolve({ line: JSON.parse(buffered.subarray(0, nl).toString()), rest: buffered.subarray(nl + 1) });
      } catch (err) {
        reject(err);
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new TruncatedReplyError('the stream ended before a complete line'));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
  });
}

/** Reads everything until the end; rejects on the stream's error (or a close without an end). */
export function readRest(stream: Duplex, first: Buffer): Promise<Buffer[]> {
  return new Promise((resolve, reject) => {
    const parts = first.length > 0 ? [first] : [];
    let ended = false;
    stream.on('data', (chunk: Buffer) => parts.push(chunk));
    stream.once('end', () => {
      ended = true;
      resolve(parts);
    });
    stream.once('error', reject);
    stream.once('close', () => {
      if (!ended) reject(new TruncatedReplyError('the stream closed before its end'));
    });
    stream.resume();
  });
}

/** A reply that stopped short: the protocol notices it, so no lost reply goes unseen. */
export class TruncatedReplyError extends Error {
  override name = 'TruncatedReplyError';
}

/** One header line, ready to write. */
export function headerLine(header: Header): string {
  return `${JSON.stringify(header)}\n`;
}
