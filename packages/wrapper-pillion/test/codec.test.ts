import { FrameTooLargeError, ProtocolError } from '@sidecar/core';
import {
  DEFAULT_MAX_FRAME_SIZE,
  decodeFrames,
  encodeFrame,
  FrameBatch,
  FrameDecoder,
  FrameDecoderStream,
  FrameEncoderStream,
} from '@sidecar/wrapper-pillion';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

/** Splits a buffer at the given cut points (any order, any count). */
function cut(bytes: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => p % (bytes.length + 1)))].sort((a, b) => a - b);
  const parts: Buffer[] = [];
  let from = 0;
  for (const p of [...at, bytes.length]) {
    parts.push(bytes.subarray(from, p));
    from = p;
  }
  return parts;
}

function feed(decoder: FrameDecoder, parts: Buffer[]): unknown[] {
  const out: unknown[] = [];
  for (const part of parts) decoder.push(part, (v) => out.push(v));
  return out;
}

describe('burro frame codec', () => {
  it('writes a 4-byte big-endian byte length, then UTF-8 JSON', () => {
    const frame = encodeFrame({ message: 'どもうありがとう！' });
    const json = JSON.stringify({ message: 'どもうありがとう！' });
    expect(frame.readUInt32BE(0)).toBe(Buffer.byteLength(json));
    expect(frame.readUInt32BE(0)).toBeGreaterThan(json.length);
    expect(frame.subarray(4).toString('utf8')).toBe(json);
    expect(encodeFrame('a')).toEqual(Buffer.from([0, 0, 0, 3, 0x22, 0x61, 0x22]));
  });

  it('round-trips any JSON value split at any byte boundaries (fuzzed)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { minLength: 1, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        (values, points) => {
          const bytes = Buffer.concat(values.map((v) => encodeFrame(v)));
          const decoder = new FrameDecoder();
          expect(feed(decoder, cut(bytes, points))).toEqual(values.map(viaJson));
          expect(decoder.buffered).toBe(0);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('never throws anything but ProtocolError or FrameTooLargeError on random bytes (fuzzed)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            // a plausible prefix (often 0 or small) followed by random bytes
            fc
              .tuple(fc.integer({ min: 0, max: 80 }), fc.uint8Array({ maxLength: 64 }))
              .map(([n, rest]) => {
                const b = Buffer.alloc(4 + rest.length);
                b.writeUInt32BE(n);
                b.set(rest, 4);
                return b;
              }),
          ),
          { maxLength: 8 },
        ),
        fc.integer({ min: 1, max: 64 }),
        (chunks, max) => {
          const decoder = new FrameDecoder(max);
          let failed: unknown;
          for (const chunk of chunks) {
            try {
              decoder.push(chunk, () => {});
            } catch (err) {
              failed ??= err;
              expect(err instanceof ProtocolError || err instanceof FrameTooLargeError).toBe(true);
            }
          }
          if (failed)
            expect(() => decoder.push(Buffer.from([0, 0, 0, 2, 0x31, 0x32]), () => {})).toThrow(
              failed as Error,
            );
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('rejects an oversized frame from its prefix, before the body arrives', () => {
    const decoder = new FrameDecoder(10);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(11);
    expect(() => decoder.push(header, () => {})).toThrow(FrameTooLargeError);
    expect(() => encodeFrame('x'.repeat(20), 10)).toThrow(FrameTooLargeError);
    expect(DEFAULT_MAX_FRAME_SIZE).toBe(16 * 1024 * 1024);
    const batch = new FrameBatch(10);
    expect(() => batch.add('x'.repeat(20))).toThrow(FrameTooLargeError);
    expect(batch.size).toBe(0);
  });

  it('turns unparsable bodies, empty frames and truncated input into ProtocolError', () => {
    const bad = Buffer.concat([Buffer.from([0, 0, 0, 3]), Buffer.from('{x]')]);
    expect(() => decodeFrames(bad)).toThrow(ProtocolError);
    expect(() => decodeFrames(Buffer.from([0, 0, 0, 0]))).toThrow(/unparsable frame of 0 bytes/);
    expect(() => decodeFrames(encodeFrame({ a: 1 }).subarray(0, 6))).toThrow(/inside a frame/);
    expect(() => encodeFrame(undefined)).toThrow(ProtocolError);
    expect(() => encodeFrame(() => 1)).toThrow(ProtocolError);
    expect(() => encodeFrame(10n)).toThrow(TypeError);
  });

  it('streams: decoder and encoder pipe values through, and error the stream on bad input', async () => {
    const encoder = new FrameEncoderStream();
    const decoder = new FrameDecoderStream();
    encoder.pipe(decoder);
    const got: unknown[] = [];
    decoder.on('data', (v) => got.push(v));
    const done = new Promise((resolve) => decoder.on('end', resolve));
    for (const v of [1, 'two', { three: [3] }, [null, false]]) encoder.write(v);
    encoder.end();
    await done;
    expect(got).toEqual([1, 'two', { three: [3] }, [null, false]]);

    const cases: Array<[Buffer, new (...a: never[]) => Error]> = [
      [Buffer.from([0xff, 0xff, 0xff, 0xff]), FrameTooLargeError],
      [Buffer.concat([Buffer.from([0, 0, 0, 1]), Buffer.from('{')]), ProtocolError],
      [encodeFrame(null), ProtocolError],
    ];
    for (const [bytes, type] of cases) {
      const stream = new FrameDecoderStream({ maxFrameSize: 1000 });
      const failed = new Promise<Error>((resolve) => stream.on('error', resolve));
      stream.resume();
      stream.write(bytes);
      expect(await failed).toBeInstanceOf(type);
    }
    const truncated = new FrameDecoderStream();
    const failed = new Promise<Error>((resolve) => truncated.on('error', resolve));
    truncated.resume();
    truncated.end(encodeFrame('abc').subarray(0, 5));
    expect(await failed).toBeInstanceOf(ProtocolError);

    const tooBig = new FrameEncoderStream({ maxFrameSize: 4 });
    const refused = new Promise<Error>((resolve) => tooBig.on('error', resolve));
    tooBig.write('far too long');
    expect(await refused).toBeInstanceOf(FrameTooLargeError);
  });
});
