import { Transform, type TransformCallback } from 'node:stream';
import { ProtocolError } from '@sidecar/core';
import { checkMaxFrameSize, DEFAULT_MAX_FRAME_SIZE, encodeFrame, FrameDecoder } from './frame.js';

/** Options of the frame streams. */
export interface FrameStreamOptions {
  /** Largest frame body accepted (decoder) or produced (encoder), in bytes. @default 1048576 */
  maxFrameSize?: number;
}

/**
 * Bytes in, values out (object mode): burro's Unframer + Decoder in one Transform, with a
 * frame size limit. An oversized frame errors the stream with FrameTooLargeError, an unparsable
 * one (or a `null` value, which an object-mode stream cannot carry) with ProtocolError, and so
 * does an input that ends inside a frame.
 *
 * @example
 * ```ts
 * socket.pipe(new FrameDecoderStream({ maxFrameSize: 65536 })).on('data', (msg) => console.log(msg));
 * ```
 */
export class FrameDecoderStream extends Transform {
  readonly #decoder: FrameDecoder;

  constructor(options: FrameStreamOptions = {}) {
    super({ readableObjectMode: true });
    this.#decoder = new FrameDecoder(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      this.#decoder.push(chunk, (value) => {
        if (value === null)
          throw new ProtocolError('a null frame cannot travel through an object-mode stream');
        this.push(value);
      });
    } catch (err) {
      callback(err as Error);
      return;
    }
    callback();
  }

  override _flush(callback: TransformCallback): void {
    const left = this.#decoder.buffered;
    callback(
      left > 0 ? new ProtocolError(`the stream ended inside a frame (${left} bytes left over)`) : null,
    );
  }
}

/**
 * Values in (object mode), bytes out: burro's Encoder + Framer in one Transform. A value without
 * a JSON form errors the stream with ProtocolError, one over the limit with FrameTooLargeError.
 *
 * @example
 * ```ts
 * const out = new FrameEncoderStream();
 * out.pipe(socket);
 * out.write({ type: 'addMethod', name: 'greet' });
 * ```
 */
export class FrameEncoderStream extends Transform {
  readonly #max: number;

  constructor(options: FrameStreamOptions = {}) {
    super({ writableObjectMode: true });
    this.#max = checkMaxFrameSize(options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
  }

  override _transform(value: unknown, _encoding: BufferEncoding, callback: TransformCallback): void {
    try {
      callback(null, encodeFrame(value, this.#max));
    } catch (err) {
      callback(err as Error);
    }
  }
}
