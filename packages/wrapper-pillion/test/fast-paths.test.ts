import { randomBytes } from 'node:crypto';
import { encodeFrame, FrameDecoder, type PillionMessage, PillionSession } from '@sidecar/wrapper-pillion';
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
          const texts: Array<[PillionMessage, string | undefined]> = [];
          const session = new PillionSession({
            send: (message, json) => texts.push([message, json]),
            peerName: () => 'fuzz',
            maxPendingCallbacks: 100,
            callbackTtl: 60_000,
            maxRemoteMethods: 10,
          });
          const params = values.map((v) => (v === 'fn' ? () => {} : v));
          if (promise) session.call(method, params).catch(() => {});
          else session.callRemote(method, params);
          expect(texts).toHaveLength(1);
          const [message, json] = texts[0] as [PillionMessage, string];
          expect(json).toBe(JSON.stringify(message));
          session.close(new Error('done'));
        },
      ),
      { numRuns: 2000 },
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
