import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { PassThrough } from 'node:stream';
import {
  createSidecar,
  InvalidConfigError,
  InvalidNameError,
  type MemoryRegistry,
  NotStartedError,
  openRegistry,
  type PeerInfo,
  PeerNotFoundError,
  PeerUnreachableError,
  PluginNotInstalledError,
  type Sidecar,
  type SidecarConfig,
  type SidecarError,
  type WrapperPlugin,
} from '@sidecar/core';
import { eventually, readAll, sleep, testRecord } from '@sidecar/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { loadPluginPackage } from '../src/container/builtins.js';

const running: Sidecar[] = [];
let store = '';

function peer(name: string, extra: Partial<SidecarConfig> = {}): Sidecar {
  const app = createSidecar({
    name,
    registry: `memory:${store}`,
    transports: ['memory'],
    connectTimeout: 1500,
    ...extra,
  });
  running.push(app);
  return app;
}

async function started(name: string, extra: Partial<SidecarConfig> = {}): Promise<Sidecar> {
  const app = peer(name, extra);
  await app.start();
  return app;
}

function echo(app: Sidecar): void {
  app.on('stream', (stream) => stream.pipe(stream));
}

function errorOf(stream: Duplex): Promise<Error> {
  return new Promise((resolve) => stream.once('error', resolve));
}

describe('Sidecar (memory registry and transport)', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });
  store = randomBytes(4).toString('hex');

  it('connects by name; the callee learns who is calling', async () => {
    store = randomBytes(4).toString('hex');
    const server = await started('server');
    const client = await started('client');
    const seen: PeerInfo[] = [];
    server.on('stream', (stream, from) => {
      seen.push(from);
      stream.pipe(stream);
    });
    const stream = await client.connect('server');
    stream.end('ping');
    expect((await readAll(stream)).toString()).toBe('ping');
    expect(seen).toEqual([{ name: 'client', instanceId: client.instanceId, namespace: 'default' }]);
  });

  it('to() returns a stream at once, buffers early writes and connects on first use', async () => {
    store = randomBytes(4).toString('hex');
    const client = await started('client');
    const stream = client.to('late-server');
    stream.write('written before the server existed; ');
    stream.end('and more');
    await sleep(100);
    const server = await started('late-server');
    echo(server);
    expect((await readAll(stream)).toString()).toBe('written before the server existed; and more');
  });

  it('fails a stream to a name that never appears with PeerNotFoundError', async () => {
    store = randomBytes(4).toString('hex');
    const client = await started('client', { connectTimeout: 200 });
    const err = await errorOf(client.to('nobody').resume());
    expect(err).toBeInstanceOf(PeerNotFoundError);
    expect((err as SidecarError).code).toBe('SIDECAR_ERR_PEER_NOT_FOUND');
    await expect(client.connect('nobody', { timeout: 100 })).rejects.toBeInstanceOf(PeerNotFoundError);
  });

  it('spreads streams over instances of one name, round-robin', async () => {
    store = randomBytes(4).toString('hex');
    const a = await started('worker');
    const b = await started('worker');
    const hits = new Map<string, number>();
    for (const app of [a, b]) {
      app.on('stream', (stream) => {
        hits.set(app.instanceId, (hits.get(app.instanceId) ?? 0) + 1);
        stream.end();
      });
    }
    const client = await started('client');
    for (let i = 0; i < 6; i++) await readAll(await client.connect('worker'));
    expect(hits.get(a.instanceId)).toBe(3);
    expect(hits.get(b.instanceId)).toBe(3);
  });

  it('fails over from a dead address and refuses a stale address that now belongs to another app', async () => {
    store = randomBytes(4).toString('hex');
    const billing = await started('billing');
    const other = await started('other');
    echo(billing);
    const otherEndpoint = other.record.endpoints[0]!;
    // Two stale records for "billing": one at an address where nothing listens, one at the
    // address "other" now holds (an address reused after DHCP, say).
    await billing.registry.register(
      testRecord('billing', { endpoints: [{ transport: 'memory', host: 'memory', port: 65_000 }] }),
      60_000,
    );
    await billing.registry.register(testRecord('billing', { endpoints: [otherEndpoint] }), 60_000);
    const otherStreams: Duplex[] = [];
    other.on('stream', (s) => otherStreams.push(s));
    const client = await started('client', { strategy: 'first' });
    for (let i = 0; i < 3; i++) {
      const stream = await client.connect('billing');
      expect(stream).toBeDefined();
      stream.end('x');
      expect((await readAll(stream)).toString()).toBe('x');
    }
    expect(otherStreams).toEqual([]);
  });

  it('reports PeerUnreachableError when every instance fails', async () => {
    store = randomBytes(4).toString('hex');
    const client = await started('client', { connectTimeout: 300 });
    await client.registry.register(
      testRecord('ghost', { endpoints: [{ transport: 'memory', host: 'memory', port: 65_001 }] }),
      60_000,
    );
    const err = await client.connect('ghost').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect((err as PeerUnreachableError).attempts.length).toBeGreaterThan(0);
  });

  it('emits join, leave and one timeout, never for itself', async () => {
    store = randomBytes(4).toString('hex');
    const watcher = await started('watcher');
    const events: string[] = [];
    for (const type of ['join', 'leave', 'timeout'] as const)
      watcher.on(type, (p) => events.push(`${type}:${p.name}`));
    const b = await started('b');
    await eventually(() => expect(events).toContain('join:b'));
    await b.stop();
    await eventually(() => expect(events).toContain('leave:b'));
    await watcher.registry.register(testRecord('crashed'), 150);
    await eventually(() => expect(events).toContain('timeout:crashed'), 4000);
    await sleep(300);
    expect(events.filter((e) => e === 'timeout:crashed')).toHaveLength(1);
    expect(events.some((e) => e.endsWith(':watcher'))).toBe(false);
  });

  it('hands every matching stream, incoming and outgoing, to a group, and connectAll opens the rest', async () => {
    store = randomBytes(4).toString('hex');
    const hub = await started('hub');
    const w1 = await started('worker-1');
    const w2 = await started('worker-2');
    await started('other');
    for (const w of [w1, w2]) echo(w);
    const names: string[] = [];
    hub.to('worker-?').forEach((_stream, p) => {
      names.push(p.name);
    });
    const opened = await hub.to('worker-?').connectAll();
    expect(opened).toHaveLength(2);
    expect(names.sort()).toEqual(['worker-1', 'worker-2']);
    expect(await hub.to('worker-?').connectAll()).toHaveLength(0);
    const incoming: string[] = [];
    hub.to('*').on('stream', (_s, p) => incoming.push(p.name));
    (await w1.connect('hub')).end();
    await eventually(() => expect(incoming).toEqual(['worker-1']));
    expect(hub.to('worker-?')).toBe(hub.group('worker-?'));
  });

  it('applies wrappers in order on both sides', async () => {
    store = randomBytes(4).toString('hex');
    const tag = (label: string) => (stream: Duplex, context: { direction: string }) => {
      const tagged = stream as Duplex & { tags?: string[] };
      tagged.tags = [...(tagged.tags ?? []), `${label}:${context.direction}`];
      return tagged;
    };
    const server = await started('server', { wrappers: [tag('a')] });
    server.addStreamWrapper(tag('b'));
    const got = new Promise<string[]>((resolve) =>
      server.on('stream', (s) => resolve((s as Duplex & { tags: string[] }).tags)),
    );
    const client = await started('client', { wrappers: [tag('a'), tag('b')] });
    const stream = (await client.connect('server')) as Duplex & { tags: string[] };
    expect(stream.tags).toEqual(['a:outgoing', 'b:outgoing']);
    expect(await got).toEqual(['a:incoming', 'b:incoming']);
    stream.destroy();
  });

  it('starts and stops idempotently and refuses streams when not started', async () => {
    store = randomBytes(4).toString('hex');
    const app = peer('app');
    await Promise.all([app.start(), app.start()]);
    await app.start();
    expect(app.state).toBe('started');
    await Promise.all([app.stop(), app.stop()]);
    await app.stop();
    expect(app.state).toBe('stopped');
    const err = await errorOf(app.to('x').resume());
    expect(err).toBeInstanceOf(NotStartedError);
    await app.start();
    expect(app.state).toBe('started');
    {
      await using scoped = await started('scoped');
      expect(scoped.state).toBe('started');
      running.pop();
    }
  });

  it('checks the config at once with typed errors', () => {
    expect(() => createSidecar({ name: 'bad name' })).toThrow(InvalidNameError);
    expect(() => createSidecar({ name: 'x', registry: 'ftp://nope' as never })).toThrow(InvalidConfigError);
    expect(() => createSidecar({ name: 'x', transports: ['carrier-pigeon' as never] })).toThrow(
      InvalidConfigError,
    );
    expect(() => createSidecar({ name: 'x', wrappers: ['nope' as never] })).toThrow(InvalidConfigError);
    expect(() => createSidecar({ name: 'x', ttl: -5 })).toThrow(InvalidConfigError);
    expect(() => createSidecar({ name: 'x', env: { SIDECAR_REGISTRY: 'gopher://x' } })).toThrow(
      InvalidConfigError,
    );
    expect(() => createSidecar({ name: 'x', namespace: 'has space' })).toThrow(InvalidConfigError);
    const app = createSidecar({ name: 'x', registry: 'memory', transports: ['memory'] });
    expect(() => app.to('a b')).toThrow(InvalidNameError);
  });

  it('uses SIDECAR_REGISTRY when the config names no registry, and isolates namespaces', async () => {
    store = randomBytes(4).toString('hex');
    const env = { SIDECAR_REGISTRY: `memory:${store}` };
    const a = createSidecar({ name: 'a', transports: ['memory'], env });
    const b = createSidecar({
      name: 'b',
      transports: ['memory'],
      env,
      namespace: 'other',
      connectTimeout: 200,
    });
    running.push(a, b);
    await a.start();
    await b.start();
    expect((await a.peers()).map((r) => r.name)).toEqual(['a']);
    await expect(b.connect('a')).rejects.toBeInstanceOf(PeerNotFoundError);
  });

  it('publishes record updates (methods, metadata) to other peers', async () => {
    store = randomBytes(4).toString('hex');
    const a = await started('a');
    const b = await started('b');
    const updates: PeerInfo[] = [];
    b.on('update', (p) => updates.push(p));
    await a.updateRecord({ methods: ['greet'], metadata: { version: 2 } });
    const [record] = await b.peers('a');
    expect(record?.methods).toEqual(['greet']);
    expect(record?.metadata).toEqual({ version: 2 });
    await eventually(() => expect(updates.map((u) => u.record?.methods)).toEqual([['greet']]));
  });

  it('keeps serving cached lookups through a registry outage and re-registers after it lost its data', async () => {
    store = randomBytes(4).toString('hex');
    const server = await started('server', { ttl: 300 });
    const client = await started('client', { ttl: 300 });
    echo(server);
    (await client.connect('server')).destroy();
    const warnings: SidecarError[] = [];
    server.on('warning', (w) => warnings.push(w));
    for (const app of [server, client]) (app.registry as MemoryRegistry).setOffline(true);
    const during = await client.connect('server');
    during.end('served from the cache');
    expect((await readAll(during)).toString()).toBe('served from the cache');
    await eventually(() => expect(warnings.map((w) => w.code)).toContain('SIDECAR_ERR_REGISTRY_UNAVAILABLE'));
    (server.registry as MemoryRegistry).wipe();
    for (const app of [server, client]) (app.registry as MemoryRegistry).setOffline(false);
    await eventually(async () =>
      expect((await client.peers('server')).map((r) => r.instanceId)).toEqual([server.instanceId]),
    );
  });

  it('names the package to install when a built-in plugin is missing', async () => {
    const err = await loadPluginPackage({ packageName: '@sidecar/not-installed', factory: 'x' }, {}).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(PluginNotInstalledError);
    expect((err as Error).message).toContain('npm i @sidecar/not-installed');
    expect((err as Error).message).toContain('pnpm add @sidecar/not-installed');
    expect((err as Error).message).not.toContain('defaults');
    // A default plugin's message also names everything the defaults need, not one at a time.
    expect(new PluginNotInstalledError('@sidecar/transport-tcp').message).toContain(
      'the defaults need @sidecar/registry-sql and @sidecar/transport-tcp: npm i sidecar installs them all',
    );
  });

  it('lets a wrapper plugin add members to groups and to the sidecar', async () => {
    store = randomBytes(4).toString('hex');
    const shout: WrapperPlugin<Duplex, { shout(text: string): number }, { hello(): string }> = {
      kind: 'wrapper',
      name: 'shout',
      create: () => (stream: Duplex) => stream,
      extendGroup: (group) => ({
        shout(text: string) {
          for (const stream of group.streams.keys()) stream.write(text.toUpperCase());
          return group.streams.size;
        },
      }),
      extendSidecar: (app) => ({ hello: () => `I am ${app.name}` }),
    };
    const hub = createSidecar({
      name: 'hub',
      registry: `memory:${store}`,
      transports: ['memory'],
      wrappers: [shout],
    });
    running.push(hub);
    await hub.start();
    expect(hub.hello()).toBe('I am hub');
    const listener = await started('listener');
    const heard = new Promise<string>((resolve) =>
      listener.on('stream', (s) => s.once('data', (d: Buffer) => resolve(d.toString()))),
    );
    await hub.to('list*').connectAll();
    expect(hub.to('list*').shout('hey')).toBe(1);
    expect(await heard).toBe('HEY');
  });

  it('has client-only sidecars that connect but never register, and registry access without a peer', async () => {
    store = randomBytes(4).toString('hex');
    const server = await started('server');
    echo(server);
    const client = await started('client', { register: false });
    const stream = await client.connect('server');
    stream.end('from a client that is not in the registry');
    expect((await readAll(stream)).toString()).toBe('from a client that is not in the registry');
    const registry = await openRegistry(`memory:${store}`);
    expect((await registry.list('*')).map((r) => r.name)).toEqual(['server']);
    await registry.stop();
  });

  it('lets in-flight streams finish when stopping with drain, and cuts them without', async () => {
    store = randomBytes(4).toString('hex');
    const slowReply = (app: Sidecar) =>
      app.on('stream', (stream) => {
        stream.resume();
        setTimeout(() => stream.end('late reply'), 300);
      });
    const graceful = await started('graceful');
    slowReply(graceful);
    const client = await started('client');
    const stream = await client.connect('graceful');
    stream.end('request');
    const reply = readAll(stream);
    await sleep(50);
    await graceful.stop({ drain: 2000 });
    expect((await reply).toString()).toBe('late reply');

    const abrupt = await started('abrupt');
    slowReply(abrupt);
    const cut = await client.connect('abrupt');
    cut.end('request');
    const outcome = readAll(cut).then(
      (data) => data.toString(),
      () => 'failed',
    );
    await sleep(50);
    await abrupt.stop();
    expect(await outcome).not.toBe('late reply');
  });

  it('never hands a wrapped stream to the user when a wrapper throws', async () => {
    store = randomBytes(4).toString('hex');
    const server = await started('server');
    echo(server);
    const client = await started('client', {
      wrappers: [
        () => {
          throw new Error('wrapper broke');
        },
      ],
    });
    await expect(client.connect('server')).rejects.toThrow('wrapper broke');
    expect(() => new PassThrough()).not.toThrow();
  });
});
