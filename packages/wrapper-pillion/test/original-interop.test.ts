/**
 * Ours against the pillion 0.0.7 stand-in over burro 0.4.13 from npm, in another process, on a
 * real TCP socket, in both directions (the stand-in is ./pillion-0.0.7, written from the protocol
 * page; it shares no code with this package).
 */
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { eventually } from '@sidecar/core/testing';
import { MethodNotFoundError, PillionStream } from '@sidecar/wrapper-pillion';
import { afterAll, describe, expect, it } from 'vitest';
import { type Child, runScript } from './original-process.js';

const UTF8_TEXT = 'héllo wörld ✓ 日本語 🚀';
const children: Child[] = [];
const sockets: Socket[] = [];
const servers: Server[] = [];

afterAll(async () => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
  await Promise.all(children.map((c) => c.kill()));
});

/** The suite of methods of original-peer.cjs, provided by ours. */
function provideSuite(stream: PillionStream, thanks: unknown[]): void {
  stream.provide('echo', (...args: unknown[]) => (args.pop() as (...a: unknown[]) => void)(...args));
  stream.provide('twice', (x, cb) => {
    cb(x);
    cb(x);
  });
  stream.provide('reverse', (text: string, cb) =>
    cb([...text].reverse().join(''), (thx: unknown) => thanks.push(thx)),
  );
  stream.provide('first', (cb, x: number) => cb(x * 2));
  stream.provide('two', (x, ok, fail) => (x ? ok(x) : fail(`no ${x}`)));
  stream.provide('nulls', (a, b, cb) => cb(a === null, b, null, undefined));
  stream.provide('obj', (o, cb) => cb({ got: o, text: UTF8_TEXT }));
  stream.provide('size', (s: string, cb) => cb(Buffer.byteLength(s)));
  stream.provide('big', (n: number, cb) => cb('é'.repeat(n / 2)));
  stream.provide('temp', () => {});
  stream.unprovide('temp');
}

/** callRemote with a trailing callback, as a promise of every value the callback gets. */
function call(stream: PillionStream, method: string, ...args: unknown[]): Promise<unknown[]> {
  return new Promise((resolve) =>
    stream.callRemote(method, ...args, (...values: unknown[]) => resolve(values)),
  );
}

describe('ours calls the original (pillion 0.0.7 stand-in + burro 0.4.13, another process)', () => {
  it('gets every kind of reply, and each side sees the other announce and withdraw', async () => {
    const peer = runScript('original-peer.cjs', ['server']);
    children.push(peer);
    const { port } = await peer.next('listening');
    const socket = tcpConnect(port as number, '127.0.0.1');
    sockets.push(socket);
    const ours = new PillionStream(socket, { remoteName: 'original' });
    const added: string[] = [];
    const removed: string[] = [];
    const warnings: Error[] = [];
    const callErrors: Error[] = [];
    ours.on('methodAdded', (name: string) => added.push(name));
    ours.on('methodRemoved', (name: string) => removed.push(name));
    ours.on('warning', (e: Error) => warnings.push(e));
    ours.on('callError', (e: Error) => callErrors.push(e));
    ours.write({ type: 'fromTheFuture', payload: 'the original ignores this' });
    ours.provide('clientHello', (text: string, cb) => cb(`hello back, ${text}`));

    expect(await call(ours, 'echo', 'a', 1)).toEqual(['a', 1]);
    expect(await ours.call('echo', 'promise')).toBe('promise');
    const [reversed, kthx] = await call(ours, 'reverse', 'hello');
    expect(reversed).toBe('olleh');
    (kthx as (s: string) => void)('bye');
    await peer.next('thanks');
    expect(peer.lines.find((l) => l.event === 'thanks')?.thx).toBe('bye');
    expect(await new Promise((resolve) => ours.callRemote('first', resolve, 21))).toBe(42);
    expect(await new Promise((resolve) => ours.callRemote('two', 5, resolve, resolve))).toBe(5);
    expect(await new Promise((resolve) => ours.callRemote('two', 0, () => resolve('wrong'), resolve))).toBe(
      'no 0',
    );
    expect(await call(ours, 'nulls', null, undefined)).toEqual([true, null, null, null]);
    expect((await call(ours, 'obj', { a: [1, { b: 'ü' }], n: null }))[0]).toEqual({
      got: { a: [1, { b: 'ü' }], n: null },
      text: UTF8_TEXT,
    });
    const many = await Promise.all(Array.from({ length: 300 }, (_, i) => ours.call('echo', i)));
    expect(many).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(await ours.call('size', 'x'.repeat(512 * 1024))).toBe(512 * 1024);
    expect(await ours.call('size', 'é'.repeat(1024 * 1024))).toBe(2 * 1024 * 1024);
    expect(Buffer.byteLength(await ours.call<string>('big', 512 * 1024))).toBe(512 * 1024);
    expect(Buffer.byteLength(await ours.call<string>('big', 2 * 1024 * 1024))).toBe(2 * 1024 * 1024);
    expect(await new Promise((resolve) => ours.bindRemote('echo', 'bound')(resolve))).toBe('bound');
    expect(await new Promise((resolve) => ours.applyRemote('echo', ['applied', resolve]))).toBe('applied');
    await expect(ours.call('nope')).rejects.toBeInstanceOf(MethodNotFoundError);
    ours.callRemote('nope', () => {});
    await ours.call('echo', 'sync');
    expect(callErrors.map((e) => e.message)).toEqual([
      expect.stringMatching(/does not provide method "nope"/),
    ]);
    // the original called back the method this side provided
    expect((await peer.next('clientReply')).reply).toBe('hello back, from the original');
    expect(peer.lines.filter((l) => l.event === 'methodAdded').map((l) => l.name)).toEqual(['clientHello']);
    // each side saw the other's announcements (temp added, then withdrawn)
    expect(added).toEqual([
      'echo',
      'twice',
      'reverse',
      'first',
      'two',
      'nulls',
      'obj',
      'size',
      'big',
      'temp',
    ]);
    expect(removed).toEqual(['temp']);
    expect([...ours.remoteMethods]).not.toContain('temp');
    // the original's unknown message type was ignored with one warning; the stream is open
    expect(warnings.map((w) => w.message)).toEqual([expect.stringMatching(/unknown type "fromTheFuture"/)]);
    expect(ours.destroyed).toBe(false);
    // A callback called twice runs once. The second call names a callback that is gone: ours
    // answers "not found" as the original does, and the original (whose pipe unpipes on its own
    // 'error' event) stops reading that stream, as it would facing another original: so last.
    let twiceCount = 0;
    ours.callRemote('twice', 7, () => twiceCount++);
    await eventually(() =>
      expect(peer.lines.filter((l) => l.event === 'error').map((l) => l.message)).toEqual([
        expect.stringMatching(/^method `x_\d+_\d{8}' not found$/),
      ]),
    );
    expect(twiceCount).toBe(1);
    expect(peer.process.exitCode).toBe(null);
  });
});

describe('the original calls ours (another process)', () => {
  it('gets every kind of reply from ours, and each side sees the other announce and withdraw', async () => {
    const server = createServer();
    servers.push(server);
    const thanks: unknown[] = [];
    const streams: PillionStream[] = [];
    const clientReplies: unknown[] = [];
    server.on('connection', (socket) => {
      const ours = new PillionStream(socket, { remoteName: 'original' });
      streams.push(ours);
      ours.on('methodAdded', (name: string) => {
        if (name === 'clientHello')
          ours.callRemote('clientHello', 'from ours', (r: unknown) => clientReplies.push(r));
      });
      ours.write({ type: 'fromTheFuture', payload: [1, 2, 3] });
      provideSuite(ours, thanks);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    const peer = runScript('original-peer.cjs', ['client', String(port)]);
    children.push(peer);
    const { event: _event, ...result } = await peer.next('result');
    expect(result).toEqual({
      added: ['echo', 'twice', 'reverse', 'first', 'two', 'nulls', 'obj', 'size', 'big', 'temp'],
      removed: ['temp'],
      errors: ["method `nope' not found"],
      once: ['a', 1],
      kthx: 'olleh',
      first: 42,
      twoOk: 5,
      twoFail: 'no 0',
      nulls: [true, null, null, null],
      obj: { got: { a: [1, { b: 'ü' }], n: null }, text: UTF8_TEXT },
      concurrentOk: true,
      argBytes: [512 * 1024, 2 * 1024 * 1024],
      replyBytes: [512 * 1024, 2 * 1024 * 1024],
      bound: ['bound'],
      applied: ['applied'],
      twiceCount: 1,
    });
    const ours = streams[0] as PillionStream;
    await eventually(() => expect(thanks).toEqual(['bye']));
    await eventually(() => expect(clientReplies).toEqual(['hello back, from ours']));
    expect([...ours.remoteMethods]).toEqual(['clientHello']);
  });
});
