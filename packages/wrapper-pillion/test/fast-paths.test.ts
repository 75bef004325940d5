import { randomBytes } from 'node:crypto';
import {
  type CallMessage,
  decodeFrames,
  encodeFrame,
  FrameBatch,
  FrameDecoder,
  PillionSession,
  parseMessage,
} from '@sidecar/wrapper-pillion';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { freshStore, rpcPeer } from './helpers.js';

/**
 * Guards for the speed-ups: the call JSON the session builds by hand, the decoder's in-place
 * parsing, and the stream's direct use of a to(name) stream's socket.
 */
describe('pillion fast paths', () => {
  it('builds call JSON byte for byte equal to JSON.stringify of the message (fuzzed)', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 12, unit: 'grapheme' }),
        fc.array(fc.oneof(fc.jsonValue(), fc.constant('fn')), { maxLength: 5 }),
        fc.boolean(),
        (method, values, promise) => {
          const texts: string[] = [];
          const session = new PillionSession({
            send: (json) => {
              texts.push(json);
            },
            peerName: () => 'fuzz',
            maxPendingCallbacks: 100,
            callbackTtl: 60_000,
            maxRemoteMethods: 10,
          });
          const params = values.map((v) => (v === 'fn' ? () => {} : v));
          if (promise) session.call(method, params).catch(() => {});
          else session.callRemote(method, params);
          expect(texts).toHaveLength(1);
          const json = texts[0] as string;
          const message = JSON.parse(json) as CallMessage;
          expect(json).toBe(JSON.stringify(message));
          const refs = params.map((p, i) => (typeof p === 'function' ? i : -1)).filter((i) => i >= 0);
          if (promise) refs.push(params.length);
          const sent = message.params;
          const expected = {
            type: 'call',
            id: message.id,
            method,
            params: [
              ...params.map((p, i) => (typeof p === 'function' ? sent[i] : p)),
              ...(promise ? [{ name: `x_${message.id}` }] : []),
            ],
            functions: refs,
          };
          expect(message).toEqual(JSON.parse(JSON.stringify(expected)));
          for (const k of refs) expect(sent[k]).toEqual({ name: expect.stringMatching(/^x_\d+_\d{8}$/) });
          session.close(new Error('done'));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('finds a reply by its number, never for a look-alike name (same digits, other prefix)', async () => {
    const texts: string[] = [];
    const session = new PillionSession({
      send: (json) => {
        texts.push(json);
      },
      peerName: () => 'forger',
      maxPendingCallbacks: 100,
      callbackTtl: 60_000,
      maxRemoteMethods: 10,
    });
    const reply = session.call('m', []);
    const { id } = JSON.parse(texts[0] as string) as CallMessage;
    const [ms, digits] = id.split('_') as [string, string];
    const forged = [
      `x_${Number(ms) + 1}_${digits}`,
      `y_${id}`,
      `x_${id}0`,
      `x_${digits}`,
      `xx_${id}`,
      `x_${ms}_${digits.slice(1)}`,
    ];
    for (const [i, name] of forged.entries()) {
      session.receive({ type: 'call', id: `f${i}`, method: name, params: ['forged'], functions: [] });
    }
    expect(session.pendingCallbacks).toBe(1);
    expect(texts.slice(1).map((t) => (JSON.parse(t) as { error: string }).error)).toEqual(
      forged.map((name) => `method \`${name}' not found`),
    );
    session.receive({ type: 'call', id: 'r', method: `x_${id}`, params: ['real'], functions: [] });
    await expect(reply).resolves.toBe('real');
    expect(session.pendingCallbacks).toBe(0);
  });

  it('refuses a frame over the limit and keeps the frames before it, slab after slab', () => {
    const batch = new FrameBatch(80);
    batch.add('kept');
    expect(() => batch.add('x'.repeat(100))).toThrow(
      expect.objectContaining({ code: 'SIDECAR_ERR_FRAME_TOO_LARGE' }),
    );
    expect(() => batch.add('é'.repeat(40))).toThrow(
      expect.objectContaining({ code: 'SIDECAR_ERR_FRAME_TOO_LARGE' }),
    );
    batch.add('also kept');
    const first = batch.take();
    const values = Array.from({ length: 20_000 }, (_, i) => `v${i}`); // 200 KB: several 64 KiB slabs
    for (const v of values) batch.add(v);
    expect(decodeFrames(first)).toEqual(['kept', 'also kept']); // not overwritten by later frames
    expect(decodeFrames(batch.take())).toEqual(values);
    expect(batch.size).toBe(0);
  });

  it('parses every text as JSON.parse does, hostile call look-alikes included (fuzzed)', () => {
    const outcome = (parse: (text: string) => unknown, text: string) => {
      try {
        return { value: parse(text) };
      } catch (err) {
        return { thrown: (err as Error).name };
      }
    };
    const nasty = fc.constantFrom(',"functions":[', '"]}', '\\"', '\u0000', '\n', '[1]', '01', '}', '"', ' ');
    const piece = fc.oneof(
      fc.string({ maxLength: 6 }),
      nasty,
      fc.jsonValue({ maxDepth: 1 }).map((v) => JSON.stringify(v)),
    );
    const call = fc
      .record({
        id: fc.oneof(fc.string({ maxLength: 8 }), piece),
        method: fc.oneof(fc.string({ maxLength: 8 }), piece),
        params: fc.oneof(fc.array(fc.oneof(fc.jsonValue({ maxDepth: 2 }), piece)), fc.jsonValue()),
        functions: fc.oneof(fc.array(fc.nat(20), { maxLength: 3 }), fc.jsonValue()),
      })
      .map(({ id, method, params, functions }) =>
        JSON.stringify({ type: 'call', id, method, params, functions }),
      );
    // Params of plain strings and callback references: the ones read without JSON.parse.
    const plain = fc
      .record({
        id: fc.string({ maxLength: 8 }),
        params: fc.array(
          fc.oneof(
            fc.string({ maxLength: 6 }),
            piece,
            fc.record({ name: fc.oneof(fc.string({ maxLength: 6 }), piece) }),
          ),
          { maxLength: 4 },
        ),
        functions: fc.array(fc.nat(4), { maxLength: 2 }),
      })
      .map(({ id, params, functions }) =>
        JSON.stringify({ type: 'call', id, method: 'm', params, functions }),
      );
    const mangled = fc
      .tuple(fc.oneof(call, plain), fc.nat(200), fc.oneof(piece, fc.constant('')), fc.nat(3))
      .map(([text, at, insert, cut]) => text.slice(0, at) + insert + text.slice(at + cut));
    const repeated = '{"type":"call","id":"a","method":"b","params":[1],"functions":[],"functions":[0]}';
    expect(parseMessage(repeated)).toEqual(JSON.parse(repeated));
    fc.assert(
      fc.property(fc.oneof(call, plain, mangled), (text) => {
        expect(outcome(parseMessage, text)).toEqual(outcome(JSON.parse, text));
      }),
      { numRuns: 10_000 },
    );
  });

  it('decodes a frame that arrives in many small pieces, keeping only its bytes', () => {
    const value = { big: randomBytes(150_000).toString('base64'), tail: 'どもう' };
    const bytes = Buffer.concat([encodeFrame(value), encodeFrame(1), encodeFrame('x').subarray(0, 3)]);
    const decoder = new FrameDecoder();
    const out: unknown[] = [];
    for (let i = 0; i < bytes.length; i += 1000) {
      decoder.push(bytes.subarray(i, i + 1000), (v) => out.push(v));
      if (out.length === 0) expect(decoder.buffered).toBe(Math.min(i + 1000, bytes.length));
    }
    expect(out).toEqual([value, 1]);
    expect(decoder.buffered).toBe(3);
  });

  describe('over sidecar streams', () => {
    const running: Array<Awaited<ReturnType<typeof rpcPeer>>> = [];
    afterEach(async () => {
      await Promise.all(running.splice(0).map((app) => app.stop()));
    });

    it('keeps reading a to(name) stream far past its buffer size, both ways, many calls at once', async () => {
      const store = freshStore();
      const server = await rpcPeer('bulk-server', store);
      const client = await rpcPeer('bulk-client', store);
      running.push(server, client);
      server.to('*').provide('echo', (value: string, cb: (v: string) => void) => cb(value));
      const stream = client.to('bulk-server');
      const payload = 'p'.repeat(20_000);
      for (let round = 0; round < 3; round++) {
        const replies = await Promise.all(
          Array.from({ length: 100 }, (_, i) => stream.call<string>('echo', `${i}:${payload}`)),
        );
        expect(replies.every((r, i) => r === `${i}:${payload}`)).toBe(true);
      }
      expect(stream.pendingCallbacks).toBe(0);
      await server.stop();
      await expect(stream.call('echo', 'late')).rejects.toThrow();
    });
  });
});
