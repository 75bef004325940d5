import { ConnectionClosedError, createSidecar, PeerNotFoundError } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import { InvalidMethodUriError, MethodNotFoundError, pillion, RemoteError } from '@sidecar/wrapper-pillion';
import { afterEach, describe, expect, it } from 'vitest';
import { deferred, freshStore, rpcPeer } from './helpers.js';

type Peer = Awaited<ReturnType<typeof rpcPeer>>;
const running: Peer[] = [];
async function peer(name: string, store: string): Promise<Peer> {
  const app = await rpcPeer(name, store);
  running.push(app);
  return app;
}

describe('pillion between sidecars over TCP (the original README program)', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });

  it('greets bob through callRemote and through the promise API', async () => {
    const store = freshStore();
    const app = await peer('my-server-app', store);
    app.to('*').provide('greet', (name, cb) => cb(`hi there, ${name}`));
    const client = await peer('client', store);

    const reply = deferred<string>();
    client.to('my-server-app').callRemote('greet', 'bob', (text: string) => reply.resolve(text));
    expect(await reply.promise).toBe('hi there, bob');
    expect(await client.to('my-server-app').call('greet', 'bob')).toBe('hi there, bob');
  });

  it('runs callbacks both ways and nested (the kthx example)', async () => {
    const store = freshStore();
    const server = await peer('my-server-app', store);
    const thanks = deferred<string>();
    server.to('*').provide('reverse', (text: string, cb) => {
      cb([...text].reverse().join(''), (thx: string) => thanks.resolve(thx));
    });
    const client = await peer('client', store);
    const stream = client.to('my-server-app');
    const [reversed, kthx] = await stream.call<[string, (thx: string) => void]>('reverse', 'hello');
    expect(reversed).toBe('olleh');
    kthx('bye');
    expect(await thanks.promise).toBe('bye');

    // the server calls back over the stream the client opened (a method provided on that stream)
    stream.provide('whoami', (cb) => cb('client'));
    const incoming = [...server.to('*').streams].find(([, p]) => p.name === 'client')?.[0];
    expect(incoming).toBeDefined();
    await eventually(() => expect(incoming?.remoteMethods.has('whoami')).toBe(true));
    expect(await incoming?.call('whoami')).toBe('client');
    // and over a new stream it opens itself (a method the client provides to every peer)
    client.to('*').provide('whoami2', (cb) => cb('client, again'));
    const asked = deferred<string>();
    server.to('client').callRemote('whoami2', (name: string) => asked.resolve(name));
    expect(await asked.promise).toBe('client, again');
    expect(stream.pendingCallbacks).toBe(0);
  });

  it('announces methods added and removed while streams are open', async () => {
    const store = freshStore();
    const server = await peer('my-server-app', store);
    server.to('*').provide('a', (cb) => cb(1));
    const client = await peer('client', store);
    const stream = client.to('my-server-app').open();
    await eventually(() => expect([...stream.remoteMethods]).toEqual(['a']));
    server.to('*').provide('b', (cb) => cb(2));
    await eventually(() => expect([...stream.remoteMethods].sort()).toEqual(['a', 'b']));
    expect(server.to('*').unprovide('a')).toBe(true);
    await eventually(() => expect([...stream.remoteMethods]).toEqual(['b']));
    await expect(stream.call('a')).rejects.toBeInstanceOf(MethodNotFoundError);
    expect(await stream.call('b')).toBe(2);
  });

  it('rejects a missing method with a typed error, a thrown method with RemoteError, and stays usable', async () => {
    const store = freshStore();
    const server = await peer('my-server-app', store);
    server.to('*').provide('boom', () => {
      throw new Error('kaput');
    });
    server.to('*').provide('ok', async (x: number) => x + 1);
    const client = await peer('client', store);
    const stream = client.to('my-server-app');
    const missing = await stream.call('nope').catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(MethodNotFoundError);
    expect((missing as MethodNotFoundError).code).toBe('SIDECAR_ERR_METHOD_NOT_FOUND');
    expect((missing as MethodNotFoundError).method).toBe('nope');
    const boom = await stream.call('boom').catch((e: unknown) => e);
    expect(boom).toBeInstanceOf(RemoteError);
    expect((boom as RemoteError).message).toContain('kaput');
    expect(await stream.call('ok', 41)).toBe(42);
  });

  it('rejects pending calls with ConnectionClosedError when the peer stops, and a never-connected call with the connect error', async () => {
    const store = freshStore();
    const server = await peer('my-server-app', store);
    server.to('*').provide('never', () => {});
    const client = createSidecar({
      name: 'client',
      registry: `memory:${store}`,
      transports: ['tcp'],
      wrappers: [pillion()],
      connectTimeout: 300,
    });
    running.push(client);
    await client.start();
    const stream = client.to('my-server-app');
    const pending = stream.call('never');
    await eventually(() => expect(server.to('*').streams.size).toBe(1));
    await server.stop();
    await expect(pending).rejects.toBeInstanceOf(ConnectionClosedError);
    expect(stream.pendingCallbacks).toBe(0);
    await expect(client.to('nobody').call('x')).rejects.toBeInstanceOf(PeerNotFoundError);
  });

  it('publishes provided methods for discover() and the registry record', async () => {
    const store = freshStore();
    const server = await peer('my-server-app', store);
    const other = await peer('other', store);
    server.to('*').provide('greet', (name, cb) => cb(`hi ${name}`));
    other.to('*').provide('count', (cb) => cb(3));
    const client = await peer('client', store);
    await eventually(async () =>
      expect((await client.discover('greet')).map((r) => r.name)).toEqual(['my-server-app']),
    );
    expect((await client.peers('my-server-app'))[0]?.methods).toEqual(['greet']);
    expect((await client.discover('count')).map((r) => r.name)).toEqual(['other']);
    expect(await client.discover('nothing')).toEqual([]);
    server.to('*').unprovide('greet');
    await eventually(async () => expect(await client.discover('greet')).toEqual([]));
  });

  it('calls method URIs by name and by pattern across 3 peers, one result per providing peer', async () => {
    const store = freshStore();
    const workers = await Promise.all(['worker-1', 'worker-2', 'worker-3'].map((n) => peer(n, store)));
    for (const [i, w] of workers.entries()) {
      if (i === 1)
        w.to('*').provide('resize', () => {
          throw new Error('disk full');
        });
      else w.to('*').provide('resize', (size: number, cb) => cb(`${w.name}:${size * 2}`));
    }
    const noMethod = await peer('worker-9', store);
    noMethod.to('*').provide('other', (cb) => cb());
    const client = await peer('client', store);
    await eventually(async () => expect(await client.discover('resize')).toHaveLength(3));

    expect(await client.call('default://worker-1/resize', 5)).toBe('worker-1:10');
    const results = await client.call<string>('default://worker-?/resize', 5);
    expect(results.map((r) => [r.peer.name, r.ok])).toEqual([
      ['worker-1', true],
      ['worker-2', false],
      ['worker-3', true],
    ]);
    expect(results[0]).toMatchObject({ ok: true, value: 'worker-1:10' });
    const failed = results[1];
    expect(failed?.ok === false && failed.error).toBeInstanceOf(RemoteError);
    const all = await client.call('default://*/resize', 1);
    expect(all.map((r) => r.peer.name)).toEqual(['worker-1', 'worker-2', 'worker-3']);
    expect(await client.call('default://nobody-*/resize')).toEqual([]);
    await expect(client.call('elsewhere://worker-1/resize')).rejects.toBeInstanceOf(InvalidMethodUriError);
    await expect(client.call('worker-1/resize')).rejects.toBeInstanceOf(InvalidMethodUriError);
  });

  it('gives typed proxies whose methods return promises', async () => {
    interface Billing {
      charge(amount: number, currency: string): { amount: number; currency: string; ok: boolean };
      refund(id: string): Promise<string>;
    }
    const store = freshStore();
    const billing = await peer('billing', store);
    billing
      .to('*')
      .provide('charge', (amount: number, currency: string, cb) => cb({ amount, currency, ok: true }));
    billing.to('*').provide('refund', async (id: string) => `refunded ${id}`);
    const client = await peer('client', store);
    const api = client.proxy<Billing>('billing');
    expect(await api.charge(10, 'EUR')).toEqual({ amount: 10, currency: 'EUR', ok: true });
    expect(await api.refund('r1')).toBe('refunded r1');
    expect(client.rpc('billing')).toBe(client.rpc('billing'));
  });

  it('loads by name: wrappers: ["pillion"]', async () => {
    const store = freshStore();
    const server = createSidecar({
      name: 'named',
      registry: `memory:${store}`,
      transports: ['tcp'],
      wrappers: ['pillion'],
    });
    running.push(server as unknown as Peer);
    await server.start();
    server.on('stream', (s) =>
      (s as import('@sidecar/wrapper-pillion').PillionStream).provide('ping', (cb) => cb('pong')),
    );
    const client = await peer('client', store);
    expect(await client.to('named').call('ping')).toBe('pong');
  });
});
