import { FrameTooLargeError, ProtocolError } from '@sidecar/core';

/**
 * Default largest frame body accepted or sent, in bytes (16 MiB): the original has no limit, so
 * the default lets ordinary large payloads through and still stops a 4 GiB length prefix.
 */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** Bytes of the length prefix: a 32-bit unsigned big-endian integer. */
export const FRAME_HEADER_SIZE = 4;
/** The largest length a 4-byte prefix can hold. */
const MAX_UINT32 = 0xffff_ffff;

/** Checks a `maxFrameSize` option: a positive integer that fits the 4-byte prefix. */
export function checkMaxFrameSize(max: number): number {
  if (!Number.isInteger(max) || max < 1 || max > MAX_UINT32) {
    throw new RangeError(`maxFrameSize must be an integer from 1 to ${MAX_UINT32}, got ${String(max)}`);
  }
  return max;
}

/**
 * Turns one value into its JSON text, or throws ProtocolError when the value has no JSON form
 * (`undefined`, a function, a symbol) and the JSON error (BigInt, cycles) otherwise.
 */
export function toJson(value: unknown): string {
  const json = JSON.stringify(value);
  if (typeof json !== 'string') throw new ProtocolError(`a ${typeof value} cannot be sent as a JSON frame`);
  return json;
}

/**
 * Encodes one value as a burro frame: a 4-byte big-endian byte length, then the UTF-8 JSON text.
 * Throws FrameTooLargeError when the JSON is longer than `maxFrameSize` bytes.
 *
 * @example
 * ```ts
 * socket.write(encodeFrame({ type: 'addMethod', name: 'greet' }));
 * ```
 */
export function encodeFrame(value: unknown, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Buffer {
  return encodeJsonFrames([toJson(value)], maxFrameSize);
}

/** Encodes JSON texts (from `toJson`) as consecutive frames in one buffer. */
export function encodeJsonFrames(texts: readonly string[], maxFrameSize = DEFAULT_MAX_FRAME_SIZE): Buffer {
  const batch = new FrameBatch(maxFrameSize);
  for (const text of texts) batch.addJson(text);
  return batch.take();
}

/** Bytes of each slab FrameBatch writes frames into (one allocation for many batches). */
const SLAB_SIZE = 64 * 1024;
/** Texts up to this length reserve 3 bytes per UTF-16 unit; longer ones are measured exactly. */
const MEASURE_ABOVE = 16 * 1024;
const EMPTY = Buffer.alloc(0);

/**
 * Frames collected to be written at once: one buffer (one syscall) for many messages. Frames are
 * written straight into a slab as they are added (no text kept, no copy at `take`); `take`
 * hands out the slab's bytes since the last take, and the next frames go after them.

 *
 * @example
 * ```ts
 * const batch = new FrameBatch();
 * batch.add({ a: 1 });
 * batch.add({ b: 2 });
 * socket.write(batch.take());
 * ```
 */
export class FrameBatch {
  #slab: Buffer = EMPTY;
  /** Where the frames not taken yet start in the slab. */
  #start = 0;
  /** Where the next frame goes (the end of the last one closed). */
  #end = 0;
  #count = 0;

  constructor(readonly maxFrameSize = DEFAULT_MAX_FRAME_SIZE) {}

  /** Frames waiting in the batch. */
  get size(): number {
    return this.#count;
  }

  /** Bytes the batch holds, as framed. */
  get bytes(): number {
    return this.#end - this.#start;
  }

  /** Adds a value; throws (and adds nothing) if it has no JSON form or is over the limit. */
  add(value: unknown): void {
    this.addJson(toJson(value));
  }

  /** Adds a JSON text; throws FrameTooLargeError (and adds nothing) if it is over the limit. */
  addJson(text: string): void {
    if (text.length > this.maxFrameSize) {
      throw new FrameTooLargeError(Buffer.byteLength(text, 'utf8'), this.maxFrameSize);
    }
    const need = FRAME_HEADER_SIZE + utf8Bound(text);
    if (this.#slab.length - this.#end < need) this.#grow(need);
    const start = this.#end;
    const length = (this.#slab as unknown as Utf8Writable).utf8Write(text, start + FRAME_HEADER_SIZE);
    if (length > this.maxFrameSize) throw new FrameTooLargeError(length, this.maxFrameSize);
    this.#slab.writeUInt32BE(length, start);
    this.#end = start + FRAME_HEADER_SIZE + length;
    this.#count++;
  }

  /** Returns every frame added, in order, as one buffer, and empties the batch. */
  take(): Buffer {
    const out = this.#slab.subarray(this.#start, this.#end);
    this.#start = this.#end;
    this.#count = 0;
    return out;
  }

  /** Drops every frame added. */
  clear(): void {
    this.#end = this.#start;
    this.#count = 0;
  }

  /** A new slab with room for `need` more bytes after the frames not taken yet (moved over). */
  #grow(need: number): void {
    const kept = this.#end - this.#start;
    const slab = Buffer.allocUnsafeSlow(Math.max(SLAB_SIZE, kept + need));
    if (kept > 0) this.#slab.copy(slab, 0, this.#start, this.#end);
    this.#slab = slab;
    this.#start = 0;
    this.#end = kept;
  }
}

/** Buffer's own UTF-8 writer (what `write(text, at, 'utf8')` calls after checking its arguments). */
interface Utf8Writable {
  utf8Write(text: string, offset: number): number;
}

/** An upper bound of the UTF-8 length of `text` (exact for long texts). */
export function utf8Bound(text: string): number {
  return text.length > MEASURE_ABOVE ? Buffer.byteLength(text, 'utf8') : text.length * 3;
}

/**
 * Incremental burro frame decoder: feed it chunks as they arrive, it hands out each complete
 * value. A frame longer than `maxFrameSize` throws FrameTooLargeError as soon as its prefix is
 * read (its body is never buffered); a body that is not JSON throws ProtocolError. After a
 * throw the decoder refuses further input: the stream it reads is broken.
 *
 * @example
 * ```ts
 * const decoder = new FrameDecoder(64 * 1024);
 * socket.on('data', (chunk) => decoder.push(chunk, (value) => console.log(value)));
 * ```
 */
export class FrameDecoder {
  readonly maxFrameSize: number;
  /** The bytes of the incomplete frame at the end of the input so far (header included). */
  #parts: Buffer[] = [];
  #partsLength = 0;
  /** The body length of that frame once its header is in, else -1. */
  #need = -1;
  #failed: Error | undefined;
  readonly #parse: (text: string) => unknown;

  /** `parse` turns each frame's text into its value (it must behave as `JSON.parse`). */
  constructor(maxFrameSize = DEFAULT_MAX_FRAME_SIZE, parse: (text: string) => unknown = JSON.parse) {
    this.maxFrameSize = checkMaxFrameSize(maxFrameSize);
    this.#parse = parse;
  }

  /** Bytes received that do not form a complete frame yet (0 between frames). */
  get buffered(): number {
    return this.#partsLength;
  }

  /**
   * Appends bytes and calls `onValue` for every frame they complete, in order. Whole frames are
   * parsed where they lie in the chunk; only a frame split across chunks is copied, once, when
   * its last byte arrives.
   */
  push(chunk: Uint8Array, onValue: (value: unknown) => void): void {
    if (this.#failed) throw this.#failed;
    if (chunk.length === 0) return;
    let bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    if (this.#partsLength > 0) {
      const total = this.#partsLength + bytes.length;
      this.#parts.push(bytes);
      this.#partsLength = total;
      if (this.#need >= 0 && total < FRAME_HEADER_SIZE + this.#need) return;
      bytes = Buffer.concat(this.#parts, total);
      this.#parts = [];
      this.#partsLength = 0;
      this.#need = -1;
    }
    let offset = 0;
    try {
      for (;;) {
        const left = bytes.length - offset;
        if (left < FRAME_HEADER_SIZE) break;
        const length = bytes.readUInt32BE(offset);
        if (length > this.maxFrameSize) throw new FrameTooLargeError(length, this.maxFrameSize);
        if (left - FRAME_HEADER_SIZE < length) {
          this.#need = length;
          break;
        }
        const start = offset + FRAME_HEADER_SIZE;
        offset = start + length;
        onValue(parseBody(bytes, start, offset, this.#parse));
      }
    } catch (err) {
      if (err instanceof FrameTooLargeError || err instanceof ProtocolError) {
        this.#failed = err;
        this.#parts = [];
        this.#partsLength = 0;
        this.#need = -1;
      } else this.#keep(bytes, offset);
      throw err;
    }
    this.#keep(bytes, offset);
  }

  /** Keeps the bytes from `offset` on: the start of a frame not complete yet. */
  #keep(bytes: Buffer, offset: number): void {
    if (offset >= bytes.length) return;
    this.#parts.push(offset === 0 ? bytes : bytes.subarray(offset));
    this.#partsLength = bytes.length - offset;
  }
}

function parseBody(bytes: Buffer, start: number, end: number, parse: (text: string) => unknown): unknown {
  try {
    return parse(bytes.toString('utf8', start, end));
  } catch (err) {
    throw new ProtocolError(`unparsable frame of ${end - start} bytes: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * Decodes a buffer that holds whole frames only. Throws ProtocolError if it ends inside a frame.
 *
 * @example
 * ```ts
 * decodeFrames(Buffer.concat([encodeFrame(1), encodeFrame('two')])); // [1, 'two']
 * ```
 */
export function decodeFrames(bytes: Uint8Array, maxFrameSize = DEFAULT_MAX_FRAME_SIZE): unknown[] {
  const decoder = new FrameDecoder(maxFrameSize);
  const values: unknown[] = [];
  decoder.push(bytes, (value) => values.push(value));
  if (decoder.buffered > 0) {
    throw new ProtocolError(`the input ends inside a frame (${decoder.buffered} bytes left over)`);
  }
  return values;
}
