import type { Socket } from 'node:net';
import {
  AbortError,
  ConnectionClosedError,
  FrameTooLargeError,
  ProtocolError,
  TimeoutError,
} from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import {
  CallbackDroppedError,
  encodeFrame,
  FrameDecoder,
  type PillionOptions,
  PillionStream,
} from '@sidecar/wrapper-pillion';
import { afterEach, describe, expect, it } from 'vitest';
import { socketPair } from './helpers.js';

const sockets: Socket[] = [];

/** A PillionStream on one end of a real TCP pair, and the raw other end with what it received. */
async function rawPeer(options: PillionOptions = {}) {
  const [serverSide, client] = await socketPair();
  sockets.push(serverSide, client);
  const stream = new PillionStream(serverSide, { remoteName: 'raw' }, options);
  const received: Array<Record<string, unknown>> = [];
  const decoder = new FrameDecoder();
  client.on('data', (chunk: Buffer) =>
    decoder.push(chunk, (m) => received.push(m as Record<string, unknown>)),
  );
  client.on('error', () => {});
  const closed = new Promise<void>((resolve) => stream.once('close', () => resolve()));
  return { stream, raw: client, received, closed, send: (m: unknown) => client.write(encodeFrame(m)) };
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

describe('bad input errors that stream only; the process and other streams keep going', () => {
  it.each([
    [
      'an unparsable frame',
      Buffer.concat([Buffer.from([0, 0, 0, 5]), Buffer.from('{"a":')]),
      ProtocolError,
      /unparsable/,
    ],
    ['an oversized frame', Buffer.from([1, 0, 0, 1]), FrameTooLargeError, /exceeds the maximum/],
    ['a message that is not an object', encodeFrame([1, 2]), ProtocolError, /must be a JSON object/],
    [
      'a call without an id',
      encodeFrame({ type: 'call', method: 'm', params: [] }),
      ProtocolError,
      /needs a string id/,
    ],
  ])('%s closes the stream with a clear error', async (_what, bytes, type, message) => {
    const bystander = await rawPeer();
    bystander.stream.provide('alive', (cb) => cb('yes'));
    const victim = await rawPeer();
    const pending = victim.stream.call('anything');
    victim.raw.write(bytes);
    await victim.closed;
    expect(victim.stream.failure).toBeInstanceOf(type);
    expect(victim.stream.failure?.message).toMatch(message);
    const rejected = await pending.catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(ConnectionClosedError);
    expect((rejected as Error).cause).toBe(victim.stream.failure);
    expect(victim.stream.pendingCallbacks).toBe(0);
    // the other stream still answers
    bystander.send({
      type: 'call',
      id: '1_00000001',
      method: 'alive',
      params: [{ name: 'x_cb' }],
      functions: [0],
    });
    await eventually(() =>
      expect(bystander.received).toContainEqual(expect.objectContaining({ method: 'x_cb', params: ['yes'] })),
    );
  });

  it('emits error only when someone listens for it', async () => {
    const peer = await rawPeer();
    const seen = new Promise<Error>((resolve) => peer.stream.once('error', resolve));
    peer.raw.write(encodeFrame('not an object'));
    expect(await seen).toBeInstanceOf(ProtocolError);
  });

  it('ignores messages of unknown type and malformed announcements with a warning, and reads on', async () => {
    const peer = await rawPeer();
    const warnings: Error[] = [];
    peer.stream.on('warning', (e: Error) => warnings.push(e));
    peer.stream.provide('echo', (x, cb) => cb(x));
    for (const m of [
      { type: 'launch', rockets: 3 },
      { type: 'launch' },
      { type: 42 },
      { type: 'methodAdded' },
      { type: 'addMethod', name: '' },
      { type: 'error', inResponseTo: null },
    ]) {
      peer.send(m);
    }
    peer.send({
      type: 'call',
      id: 'u',
      method: 'echo',
      params: ['still here', { name: 'x_u' }],
      functions: [1],
    });
    await eventually(() =>
      expect(peer.received).toContainEqual(
        expect.objectContaining({ method: 'x_u', params: ['still here'] }),
      ),
    );
    expect(peer.stream.destroyed).toBe(false);
    expect(warnings.map((w) => w.message)).toEqual([
      expect.stringMatching(/unknown type "launch"/),
      expect.stringMatching(/unknown type 42/),
      expect.stringMatching(/"methodAdded" message without a non-empty string name/),
      expect.stringMatching(/"addMethod" message without a non-empty string name/),
      expect.stringMatching(/error message without a string error/),
    ]);
    expect(warnings.every((w) => w instanceof ProtocolError)).toBe(true);
  });

  it('answers calls with bad fields and callback names never issued with an error message, and stays open', async () => {
    const peer = await rawPeer();
    peer.stream.provide('echo', (x, cb) => cb(x));
    const bad = [
      { type: 'call', id: 'a', method: 'echo' },
      { type: 'call', id: 'b', method: 5, params: [] },
      { type: 'call', id: 'c', method: 'echo', params: [1], functions: [3] },
      { type: 'call', id: 'd', method: 'echo', params: [1, 'cb'], functions: [1] },
      { type: 'call', id: 'e', method: 'echo', params: [1], functions: 'all' },
      { type: 'call', id: 'f', method: 'x_1700000000000_12345678', params: [] },
    ];
    for (const m of bad) peer.send(m);
    await eventually(() => expect(peer.received.filter((m) => m.type === 'error')).toHaveLength(6));
    const errors = Object.fromEntries(peer.received.map((m) => [m.inResponseTo, m.error]));
    expect(errors.a).toBe('invalid call: params must be an array');
    expect(errors.b).toBe('invalid call: method must be a non-empty string');
    expect(errors.c).toMatch(/^invalid call: functions holds 3/);
    expect(errors.d).toMatch(/^invalid call: params\[1\] must be a callback reference/);
    expect(errors.e).toMatch(/^invalid call: functions must be an array/);
    expect(errors.f).toBe("method `x_1700000000000_12345678' not found");
    // still serving, and an error message for an unknown call id is harmless
    peer.send({ type: 'error', inResponseTo: 'never-sent', error: 'whatever' });
    peer.send({ type: 'call', id: 'g', method: 'echo', params: ['ok', { name: 'x_r' }], functions: [1] });
    await eventually(() =>
      expect(peer.received).toContainEqual(expect.objectContaining({ method: 'x_r', params: ['ok'] })),
    );
    expect(peer.stream.destroyed).toBe(false);
  });

  it('reports a throwing method to the caller and locally, without crashing', async () => {
    const peer = await rawPeer();
    const local: unknown[] = [];
    peer.stream.on('methodError', (e) => local.push(e));
    peer.stream.provide('bad', () => {
      throw new Error('nope');
    });
    peer.stream.provide('worse', async () => Promise.reject(new Error('later')));
    peer.send({ type: 'call', id: '1', method: 'bad', params: [] });
    peer.send({ type: 'call', id: '2', method: 'worse', params: [] });
    await eventually(() => expect(peer.received.filter((m) => m.type === 'error')).toHaveLength(2));
    expect(peer.received.filter((m) => m.type === 'error').map((m) => m.error)).toEqual([
      "method `bad' failed: nope",
      "method `worse' failed: later",
    ]);
    expect(local).toHaveLength(2);
  });
});

describe('a reply over maxFrameSize fails that call only, whenever and however it is sent', () => {
  it('sync, from a timer, from a promise, and a nested reply: error frame to the caller, warning here', async () => {
    const peer = await rawPeer({ maxFrameSize: 1024 });
    const warnings: Array<Error & { code?: string; method?: string }> = [];
    const methodErrors: unknown[] = [];
    peer.stream.on('warning', (e: Error) => warnings.push(e));
    peer.stream.on('methodError', (e: unknown) => methodErrors.push(e));
    const huge = 'x'.repeat(2048);
    peer.stream.provide('sync', (cb) => cb(huge));
    peer.stream.provide('timer', (cb) => setTimeout(() => cb(huge), 5));
    peer.stream.provide('async', async () => huge);
    peer.stream.provide('nested', (cb) => cb('small', (more: (s: string) => void) => more(huge)));
    for (const method of ['sync', 'timer', 'async', 'nested']) {
      peer.send({ type: 'call', id: method, method, params: [{ name: `x_${method}` }], functions: [0] });
    }
    await eventually(() => expect(peer.received.filter((m) => m.type === 'error')).toHaveLength(3));
    // the nested reply: the caller answers the callback with one of its own, which gets the huge value
    const first = peer.received.find((m) => m.method === 'x_nested') as { params: unknown[] };
    expect(first.params[0]).toBe('small');
    const kthx = (first.params[1] as { name: string }).name;
    peer.send({ type: 'call', id: 'n2', method: kthx, params: [{ name: 'x_more' }], functions: [0] });
    await eventually(() => expect(peer.received.filter((m) => m.type === 'error')).toHaveLength(4));
    const errors = Object.fromEntries(
      peer.received.filter((m) => m.type === 'error').map((m) => [m.inResponseTo, m.error]),
    );
    for (const id of ['sync', 'timer', 'async'])
      expect(errors[id]).toMatch(
        new RegExp(
          `^method \`${id}' failed: its reply frame of \\d+ bytes exceeds the maximum of 1024 bytes$`,
        ),
      );
    expect(errors.n2).toMatch(new RegExp(`^method \`${kthx}' failed: its reply frame of \\d+ bytes exceeds`));
    expect(warnings.map((w) => [w.code, w.method])).toEqual([
      ['SIDECAR_ERR_REPLY_FAILED', 'sync'],
      ['SIDECAR_ERR_REPLY_FAILED', 'async'],
      ['SIDECAR_ERR_REPLY_FAILED', 'timer'],
      ['SIDECAR_ERR_REPLY_FAILED', kthx],
    ]);
    expect(methodErrors).toEqual([]);
    expect(peer.stream.destroyed).toBe(false);
  });
});

describe('pending callbacks are bounded and freed', () => {
  it('drops the oldest beyond maxPendingCallbacks', async () => {
    const peer = await rawPeer({ maxPendingCallbacks: 3 });
    const calls = [1, 2, 3, 4].map((n) => peer.stream.call('slow', n).catch((e: unknown) => e));
    expect(peer.stream.pendingCallbacks).toBe(3);
    expect(await calls[0]).toBeInstanceOf(CallbackDroppedError);
    // the callback API is bounded by the same table: two more callbacks drop calls 2 and 3
    peer.stream.callRemote(
      'slow',
      () => {},
      () => {},
    );
    expect(peer.stream.pendingCallbacks).toBe(3);
    expect(await calls[1]).toBeInstanceOf(CallbackDroppedError);
    expect(await calls[2]).toBeInstanceOf(CallbackDroppedError);
    peer.stream.destroy();
    expect(await calls[3]).toBeInstanceOf(ConnectionClosedError);
    expect(peer.stream.pendingCallbacks).toBe(0);
  });

  it('expires callbacks after callbackTtl, and answers a late reply with "not found"', async () => {
    const peer = await rawPeer({ callbackTtl: 50 });
    const err = await peer.stream.call('slow').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toMatch(/callbackTtl/);
    expect(peer.stream.pendingCallbacks).toBe(0);
    const call = peer.received.find((m) => m.type === 'call') as { params: Array<{ name: string }> };
    const name = call.params[0]?.name as string;
    peer.send({ type: 'call', id: 'late', method: name, params: ['too late'] });
    await eventually(() =>
      expect(peer.received).toContainEqual({
        type: 'error',
        inResponseTo: 'late',
        error: `method \`${name}' not found`,
      }),
    );
  });

  it('honours a per-call timeout and an AbortSignal', async () => {
    const peer = await rawPeer();
    await expect(peer.stream.call('slow', 1, { timeout: 30 })).rejects.toBeInstanceOf(TimeoutError);
    const controller = new AbortController();
    const aborted = peer.stream.call('slow', 2, { signal: controller.signal });
    controller.abort();
    await expect(aborted).rejects.toBeInstanceOf(AbortError);
    await expect(peer.stream.call('slow', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(
      AbortError,
    );
    expect(peer.stream.pendingCallbacks).toBe(0);
    // request() sends an options-shaped object as a real argument
    peer.stream.request('store', [{ timeout: 5 }], { timeout: 20 }).catch(() => {});
    await eventually(() =>
      expect(peer.received.at(-1)).toMatchObject({
        method: 'store',
        params: [{ timeout: 5 }, { name: expect.any(String) }],
      }),
    );
  });

  it('rejects calls on a closed stream and when the peer ends its side', async () => {
    const peer = await rawPeer();
    const pending = peer.stream.call('x');
    peer.raw.end();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
    await peer.closed;
    await expect(peer.stream.call('x')).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(() => peer.stream.callRemote('x')).toThrow(ConnectionClosedError);
  });
});
