import { duplexPair, eventually } from '@sidecar/core/testing';
import { MethodNotFoundError, PillionStream } from '@sidecar/wrapper-pillion';
import { describe, expect, it } from 'vitest';
import { deferred } from './helpers.js';
import { RefPillion } from './ref-pillion.js';

const ID = /^\d{13}_\d{8}$/;
const CALLBACK = /^x_\d{13}_\d{8}$/;

function pair(): { ours: PillionStream; ref: RefPillion } {
  const [a, b] = duplexPair();
  return { ref: new RefPillion(a), ours: new PillionStream(b, { remoteName: 'original' }) };
}

describe('the protocol against an independent implementation of PILLION-PROTOCOL.md (over real burro)', () => {
  it('announces every method at start and each later change; sends calls in the original shape', async () => {
    const [a, b] = duplexPair();
    const ref = new RefPillion(a);
    const ours = new PillionStream(b, { remoteName: 'original' });
    ours.provide('one', () => {}).provide('two', () => {});
    await eventually(() => expect([...ref.remote]).toEqual(['one', 'two']));
    ours.unprovide('one');
    ours.provide('three', () => {});
    await eventually(() => expect([...ref.remote]).toEqual(['two', 'three']));
    expect(ref.received).toEqual([
      { type: 'methodAdded', name: 'one' },
      { type: 'methodAdded', name: 'two' },
      { type: 'methodRemoved', name: 'one' },
      { type: 'methodAdded', name: 'three' },
    ]);
    ref.provide('sum', (x, y, cb) => (cb as (n: number) => void)((x as number) + (y as number)));
    expect(await ours.call('sum', 2, 3)).toBe(5);
    const call = ref.received.find((m) => m.type === 'call');
    expect(call).toEqual({
      type: 'call',
      id: expect.stringMatching(ID),
      method: 'sum',
      params: [2, 3, { name: expect.stringMatching(CALLBACK) }],
      functions: [2],
    });
    // temporary methods are never announced
    expect(ref.received.filter((m) => m.type === 'methodAdded').map((m) => m.name)).toEqual([
      'one',
      'two',
      'three',
    ]);
  });

  it('serves the original: callbacks, nested callbacks (kthx), and the missing-method error text', async () => {
    const { ours, ref } = pair();
    const thanks = deferred<string>();
    ours.provide('reverse', (text: string, cb) =>
      cb([...text].reverse().join(''), (thx: string) => thanks.resolve(thx)),
    );
    const reply = deferred<[string, (s: string) => void]>();
    ref.callRemote('reverse', 'hello', (str: unknown, kthx: unknown) =>
      reply.resolve([str as string, kthx as (s: string) => void]),
    );
    const [str, kthx] = await reply.promise;
    expect(str).toBe('olleh');
    kthx('bye');
    expect(await thanks.promise).toBe('bye');

    const sent = ref.callRemote('nope', 1);
    await eventually(() =>
      expect(ref.received).toContainEqual({
        type: 'error',
        inResponseTo: sent.id,
        error: "method `nope' not found",
      }),
    );
    // a callback invoked twice: the second time it is gone, exactly like a missing method
    const twice = deferred<void>();
    ours.provide('twice', (cb) => {
      cb(1);
      cb(2);
      twice.resolve();
    });
    const seen: unknown[] = [];
    const second = deferred<unknown>();
    ours.once('callError', (e) => second.resolve(e));
    ref.callRemote('twice', (n: unknown) => seen.push(n));
    await twice.promise;
    await eventually(() =>
      expect(ref.sent.some((m) => m.type === 'error' && String(m.error).startsWith('method `x_'))).toBe(true),
    );
    expect(await second.promise).toBeInstanceOf(MethodNotFoundError);
    expect(seen).toEqual([1]);
  });

  it('calls the original with callbacks both ways and maps its error message to MethodNotFoundError', async () => {
    const { ours, ref } = pair();
    ref.provide('reverse', (text, cb) =>
      (cb as (...a: unknown[]) => void)([...(text as string)].reverse().join(''), (thx: unknown) =>
        ref.sent.push({ thx }),
      ),
    );
    const [reversed, kthx] = await ours.call<[string, (s: string) => void]>('reverse', 'hello');
    expect(reversed).toBe('olleh');
    kthx('bye');
    await eventually(() => expect(ref.sent).toContainEqual({ thx: 'bye' }));
    const err = await ours.call('absent').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MethodNotFoundError);
    expect((err as MethodNotFoundError).peerName).toBe('original');
    // the callback API reports it as a callError event
    const reported = deferred<unknown>();
    ours.once('callError', (e) => reported.resolve(e));
    ours.callRemote('absent2', () => {});
    expect(await reported.promise).toBeInstanceOf(MethodNotFoundError);
    expect(ours.pendingCallbacks).toBe(0);
    // calls with no function parameters carry an empty functions array, as the original's do
    ref.provide('log', (line) => ref.sent.push({ line }));
    ours.callRemote('log', 'abc');
    await eventually(() => expect(ref.sent).toContainEqual({ line: 'abc' }));
    expect(ref.received.at(-1)).toMatchObject({
      type: 'call',
      method: 'log',
      params: ['abc'],
      functions: [],
    });
  });
});
