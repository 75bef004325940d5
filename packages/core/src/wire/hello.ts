import type { Duplex } from 'node:stream';
import { ConnectionClosedError, isSidecarError, ProtocolError } from '../errors.js';
import { validateInstanceId, validateName, validateNamespace } from '../names.js';
import { abortErrorOf, onAbort as onAbortOf } from '../util/abort.js';
import { printable } from '../util/printable.js';

/**
 * The hello: the first frame on every connection, both ways.
 *
 *     +------+---------+--------------+---------------------+
 *     | SCAR | version | length (u16) | JSON body (length)  |
 *     +------+---------+--------------+---------------------+
 *       4 B     1 B        2 B BE
 *
 * The caller sends `{ type: 'hello', from, to }`; the callee answers `{ type: 'welcome', from }`
 * or `{ type: 'refuse', reason, message }` and closes. Anything else on a listening port (an
 * HTTP request, a scanner, random bytes) fails the magic check at its first byte and is closed.
 */
export const HELLO_MAGIC = Buffer.from('SCAR', 'latin1');
/** Version of the hello format this code speaks. */
export const HELLO_VERSION = 1;
/** Largest hello body accepted, in bytes. */
export const MAX_HELLO_BODY = 8192;
const HEADER = HELLO_MAGIC.length + 3;

/** A peer identity as carried in a hello. */
export interface HelloPeer {
  name: string;
  instanceId: string;
  namespace: string;
}

/** Why a callee refused a hello. */
export type RefuseReason =
  | 'wrong-peer'
  | 'wrong-namespace'
  | 'identity-mismatch'
  | 'bad-hello'
  | 'stopping'
  | 'certificate'
  | 'busy';

/** Any frame of the hello exchange. */
export type HelloFrame =
  | { type: 'hello'; from: HelloPeer; to: { name: string; instanceId?: string }; standby?: boolean }
  | { type: 'welcome'; from: HelloPeer; features?: string[] }
  | { type: 'refuse'; reason: RefuseReason; message: string };

/**
 * What a callee that supports standby connections lists in its welcome's `features`: a caller may
 * then open connections ahead of need (`standby: true` in the hello), which the callee holds,
 * without a `stream` event, until the caller sends ACTIVATE as the first byte after the hello.
 */
export const STANDBY_FEATURE = 'standby';
/** The byte that turns a standby connection into a stream. */
export const ACTIVATE = 0x01;

/** Encodes a hello frame (one allocation: header and body in the same buffer). */
export function encodeHello(frame: HelloFrame): Buffer {
  const json = JSON.stringify(frame);
  const length = Buffer.byteLength(json, 'utf8');
  if (length > MAX_HELLO_BODY) throw new ProtocolError(`hello of ${length} bytes is too large`);
  const buffer = Buffer.allocUnsafe(HEADER + length);
  HELLO_MAGIC.copy(buffer, 0);
  buffer.writeUInt8(HELLO_VERSION, HELLO_MAGIC.length);
  buffer.writeUInt16BE(length, HELLO_MAGIC.length + 1);
  buffer.write(json, HEADER, 'utf8');
  return buffer;
}

function parseBody(body: Buffer): HelloFrame {
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ProtocolError('hello body is not JSON');
  }
  const frame = value as Partial<HelloFrame> | null;
  if (!frame || typeof frame !== 'object' || !['hello', 'welcome', 'refuse'].includes(frame.type as string)) {
    throw new ProtocolError('hello body has no valid type');
  }
  if (frame.type === 'refuse') {
    // A refusal's text ends up in the caller's error message: keep it short and printable.
    const f = frame as { reason?: unknown; message?: unknown };
    return {
      type: 'refuse',
      reason: printable(f.reason, MAX_REASON_LENGTH) as RefuseReason,
      message: printable(f.message, MAX_REFUSE_MESSAGE),
    };
  }
  return frame as HelloFrame;
}

/** Longest refusal reason and message kept from the wire, in characters. */
const MAX_REASON_LENGTH = 32;
const MAX_REFUSE_MESSAGE = 300;

/**
 * Checks the identities a hello carries with the rules of registry records (names, namespace,
 * instance id: see names.ts). Returns the reason it is unacceptable, or undefined if it is fine.
 */
export function helloProblem(frame: HelloFrame): string | undefined {
  if (frame.type !== 'hello') return `expected a hello, got a ${printable(frame.type, 16)}`;
  const { from, to } = frame as { from?: unknown; to?: unknown };
  if (!isObject(from) || !isObject(to)) return 'the hello lacks its from or to object';
  try {
    validateName(from.name);
    validateInstanceId(from.instanceId);
    validateNamespace(from.namespace);
    validateName(to.name);
    if (to.instanceId !== undefined) validateInstanceId(to.instanceId);
    const standby = (frame as { standby?: unknown }).standby;
    if (standby !== undefined && typeof standby !== 'boolean') return "the hello's standby is not a boolean";
  } catch (err) {
    return (err as Error).message;
  }
  return undefined;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads one hello frame from the start of `stream` and puts any bytes after it back, so the
 * stream can be handed on untouched. Rejects with ProtocolError on garbage (checked from the first
 * byte), ConnectionClosedError if the stream ends first, or the signal's error.
 */
export function readHello(stream: Duplex, signal?: AbortSignal): Promise<HelloFrame> {
  return new Promise((resolve, reject) => {
    let buffered: Buffer = Buffer.alloc(0);
    let release = () => {};
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
      stream.off('error', onError);
      release();
    };
    const fail = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onEnd = () => fail(new ConnectionClosedError('the connection closed during the hello'));
    const onError = (err: Error) =>
      fail(
        isSidecarError(err)
          ? err
          : new ConnectionClosedError(`the connection failed during the hello: ${err.message}`, {
              cause: err,
            }),
      );
    const onAbort = () => fail(abortErrorOf(signal as AbortSignal));
    function onReadable() {
      let chunk: Buffer | null;
      // biome-ignore lint/suspicious/noAssignInExpressions: the usual read loop
      while ((chunk = stream.read() as Buffer | null) !== null) {
        buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk]);
        const magicBytes = Math.min(buffered.length, HELLO_MAGIC.length);
        if (!buffered.subarray(0, magicBytes).equals(HELLO_MAGIC.subarray(0, magicBytes))) {
          return fail(new ProtocolError('not a sidecar connection (bad magic bytes)'));
        }
        if (buffered.length < HEADER) continue;
        const version = buffered.readUInt8(HELLO_MAGIC.length);
        if (version !== HELLO_VERSION) return fail(new ProtocolError(`unsupported hello version ${version}`));
        const length = buffered.readUInt16BE(HELLO_MAGIC.length + 1);
        if (length > MAX_HELLO_BODY) return fail(new ProtocolError(`hello of ${length} bytes is too large`));
        if (buffered.length < HEADER + length) continue;
        const rest = buffered.subarray(HEADER + length);
        let frame: HelloFrame;
        try {
          frame = parseBody(buffered.subarray(HEADER, HEADER + length));
        } catch (err) {
          return fail(err as Error);
        }
        cleanup();
        if (rest.length > 0) stream.unshift(rest);
        return resolve(frame);
      }
    }
    if (signal?.aborted) return onAbort();
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.once('error', onError);
    release = onAbortOf(signal, onAbort);
  });
}
