import { createRequire } from 'node:module';
import { PassThrough, type Transform } from 'node:stream';
import { decodeFrames, encodeFrame, FrameDecoderStream } from '@sidecar/wrapper-pillion';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

/** The parts of the original `burro` (0.4.13, CommonJS) these tests use. */
interface Burro {
  Encoder: new () => Transform;
  Framer: new () => Transform;
  Unframer: new () => Transform;
  Decoder: new () => Transform;
}
const burro = createRequire(import.meta.url)('burro') as Burro;

/** Values through burro's Encoder + Framer: the bytes the original sends. */
function burroEncode(values: unknown[]): Promise<Buffer> {
  const encoder = new burro.Encoder();
  const framer = new burro.Framer();
  const chunks: Buffer[] = [];
  encoder.pipe(framer);
  framer.on('data', (c: Buffer) => chunks.push(c));
  const done = new Promise<Buffer>((resolve) => framer.on('end', () => resolve(Buffer.concat(chunks))));
  for (const v of values) encoder.write(v);
  encoder.end();
  return done;
}

/** Bytes through burro's Unframer + Decoder, in the given pieces: what the original receives. */
function burroDecode(parts: Buffer[]): Promise<unknown[]> {
  const unframer = new burro.Unframer();
  const decoder = new burro.Decoder();
  unframer.pipe(decoder);
  const values: unknown[] = [];
  decoder.on('data', (v: unknown) => values.push(v));
  const done = new Promise<unknown[]>((resolve) => decoder.on('end', () => resolve(values)));
  for (const p of parts) unframer.write(p);
  unframer.end();
  return done;
}

// burro's object streams end on a top-level null (push(null)), so the original cannot send one.
const value = fc.jsonValue().filter((v) => v !== null);
const viaJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('interop with the burro npm package (0.4.13)', () => {
  it('decodes what burro encodes, byte for byte the same frames (fuzzed)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 6 }), async (values) => {
        const bytes = await burroEncode(values);
        expect(bytes).toEqual(Buffer.concat(values.map((v) => encodeFrame(v))));
        expect(decodeFrames(bytes)).toEqual(values.map(viaJson));
      }),
      { numRuns: 400 },
    );
  });

  it('burro decodes what we encode, split at any boundary (fuzzed)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(value, { minLength: 1, maxLength: 6 }), fc.nat(), async (values, at) => {
        const bytes = Buffer.concat(values.map((v) => encodeFrame(v)));
        const cutAt = at % (bytes.length + 1);
        expect(await burroDecode([bytes.subarray(0, cutAt), bytes.subarray(cutAt)])).toEqual(
          values.map(viaJson),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('burro.wrap talks to our stream decoder over one pipe (multi-byte text, large payload)', async () => {
    const network = new PassThrough();
    const values = [
      { message: 'どもうありがとう！', from: 'japan' },
      { big: 'x'.repeat(200_000) },
      ['🙂', 1.5],
    ];
    const decoder = network.pipe(new FrameDecoderStream());
    const got: unknown[] = [];
    decoder.on('data', (v) => got.push(v));
    const bytes = await burroEncode(values);
    network.end(bytes);
    await new Promise((resolve) => decoder.on('end', resolve));
    expect(got).toEqual(values);
  });
});
