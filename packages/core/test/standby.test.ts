/**
 * Standby connections (config.standby): after a first stream to an instance, the caller keeps one
 * connection that has already said hello, and the next stream to that instance uses it (no new
 * dial). The callee sees it as a stream only once used. Hostile and old peers first.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { type Duplex, PassThrough } from 'node:stream';
import { createSidecar, InvalidConfigError, MemoryRegistry, type SidecarError } from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { ACTIVATE, encodeHello, HELLO_MAGIC, readHello } from '@sidecar/core/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { StandbyPool } from '../src/pipeline/standby-pool.js';
import { plugin, RecordingTransport, roundTrip, started, stopAll, storeUrl } from './dial-helpers.js';

afterEach(stopAll);

async function echoServer(extra = {}) {
  const app = await started('server', extra);
  const streams: unknown[] = [];
  const warnings: SidecarError[] = [];
  app.on('warning', (w) => warnings.push(w));
  app.on('stream', (stream) => {
    streams.push(stream);
    stream.pipe(stream);
  });
  return { app, streams, warnings };
}

describe('standby connections', () => {
  it('a hello with standby that sends data before ACTIVATE is refused with a warning and never becomes a stream', async () => {
    const { app, streams, warnings } = await echoServer();
    const caller = new RecordingTransport('memory');
    const socket = await caller.dial(app.record.endpoints[0] as never, {
      expect: { name: 'server', namespace: 'default' },
    });
    socket.on('error', () => {});
    socket.write(
      encodeHello({
        type: 'hello',
        from: { name: 'mallory', instanceId: 'm1', namespace: 'default' },
        to: { name: 'server', instanceId: app.instanceId },
        standby: true,
      }),
    );
    const welcome = await readHello(socket);
    expect(welcome.type).toBe('welcome');
    socket.write('GET / HTTP/1.1\r\n\r\n');
    await eventually(() => expect(warnings.map((w) => w.code)).toContain('SIDECAR_ERR_PROTOCOL'));
    await eventually(() => expect(socket.destroyed || socket.readableEnded).toBe(true));
    expect(streams).toHaveLength(0);
  });

  it('a flood of standby hellos that never activate is held to maxIncomingConnections, and callers are still served', async () => {
    const { app, streams } = await echoServer({ maxIncomingConnections: 4 });
    const attacker = new RecordingTransport('memory');
    const parked: Duplex[] = [];
    for (let i = 0; i < 20; i++) {
      const socket = await attacker.dial(app.record.endpoints[0] as never, {
        expect: { name: 'server', namespace: 'default' },
      });
      socket.on('error', () => {});
      socket.write(
        encodeHello({
          type: 'hello',
          from: { name: 'mallory', instanceId: `m${i}`, namespace: 'default' },
          to: { name: 'server', instanceId: app.instanceId },
          standby: true,
        }),
      );
      socket.resume();
      parked.push(socket);
    }
    // The callee keeps no more than its limit: the standbys silent longest are closed to make room.
    await eventually(() =>
      expect(parked.filter((s) => !s.destroyed && !s.readableEnded).length).toBeLessThanOrEqual(4),
    );
    expect(streams).toHaveLength(0);
    const caller = await started('caller');
    expect(await roundTrip(caller, 'still served')).toBe('still served');
  });

  it('refuses a standby count that is not a whole number of at least 0', () => {
    for (const bad of [-1, 1.5, Number.NaN, '1' as unknown as number]) {
      expect(() => createSidecar({ name: 'x', registry: 'memory', standby: bad })).toThrow(
        InvalidConfigError,
      );
    }
    expect(() => createSidecar({ name: 'x', registry: 'memory', strategy: 'nope' as never })).toThrow(
      InvalidConfigError,
    );
  });

  it('a standby hello whose standby is not a boolean is refused as a bad hello', async () => {
    const { app, warnings } = await echoServer();
    const socket = await new RecordingTransport('memory').dial(app.record.endpoints[0] as never, {
      expect: { name: 'server', namespace: 'default' },
    });
    socket.on('error', () => {});
    const frame = encodeHello({
      type: 'hello',
      from: { name: 'mallory', instanceId: 'm1', namespace: 'default' },
      to: { name: 'server' },
    });
    const body = JSON.parse(frame.subarray(HELLO_MAGIC.length + 3).toString()) as Record<string, unknown>;
    body.standby = 'yes';
    socket.write(encodeHello(body as never));
    const answer = await readHello(socket);
    expect(answer).toMatchObject({ type: 'refuse', reason: 'bad-hello' });
    await eventually(() => expect(warnings.map((w) => w.code)).toContain('SIDECAR_ERR_HELLO_REFUSED'));
  });

  it('the second stream to an instance uses the standby connection: no new dial, the callee sees two streams', async () => {
    const { streams } = await echoServer();
    const transport = new RecordingTransport('memory');
    const caller = await started('caller', { transports: [plugin(transport)], standby: 1 });
    expect(await roundTrip(caller, 'one')).toBe('one');
    await eventually(() => expect(transport.dialed).toHaveLength(2)); // the first stream, then its standby
    expect(streams).toHaveLength(1); // the standby is no stream yet
    expect(await roundTrip(caller, 'two')).toBe('two');
    expect(streams).toHaveLength(2);
    await eventually(() => expect(transport.dialed).toHaveLength(3)); // refilled after use
    // to() takes a standby connection as well, and bytes flow both ways on it
    const stream = caller.to('server');
    stream.end('three');
    expect((await readAll(stream)).toString()).toBe('three');
    await eventually(() => expect(transport.dialed).toHaveLength(4));
  });

  it('standby: 0 opens every stream on a new connection', async () => {
    await echoServer();
    const transport = new RecordingTransport('memory');
    const caller = await started('caller', { transports: [plugin(transport)], standby: 0 });
    expect(await roundTrip(caller, 'one')).toBe('one');
    expect(await roundTrip(caller, 'two')).toBe('two');
    expect(transport.dialed).toHaveLength(2);
  });

  it('by default (standby: 0) every stream is a new connection and no standby is opened', async () => {
    const { streams } = await echoServer();
    const transport = new RecordingTransport('memory');
    const caller = createSidecar({
      name: 'caller',
      registry: storeUrl(),
      transports: [plugin(transport)],
      register: false,
    });
    try {
      await caller.start();
      expect(await roundTrip(caller, 'one')).toBe('one');
      expect(await roundTrip(caller, 'two')).toBe('two');
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(transport.dialed).toHaveLength(2);
      expect(streams).toHaveLength(2);
    } finally {
      await caller.stop();
    }
  });

  it('a callee stopping with a drain does not wait for standby connections, and closes them', async () => {
    const { app } = await echoServer();
    const transport = new RecordingTransport('memory');
    const caller = await started('caller', { transports: [plugin(transport)], standby: 1 });
    expect(await roundTrip(caller, 'one')).toBe('one');
    await eventually(() => expect(transport.dialed).toHaveLength(2));
    const began = performance.now();
    await app.stop({ drain: 5000 });
    expect(performance.now() - began).toBeLessThan(4000); // a bound, not a speed claim
  });

  it('a standby the callee closes (it died, or dropped it) is never handed out: the next stream dials anew', async () => {
    const hellos: Array<Record<string, unknown>> = [];
    // A callee from the hello format that offers standbys, then closes each one it gets (FIN).
    const callee = await rawCallee(hellos, { features: ['standby'], onStandby: 'close' });
    const registry = await registerRaw(callee);
    try {
      const caller = await started('caller', { transports: ['tcp'], standby: 1 });
      expect(await roundTrip(caller, 'one')).toBe('one');
      await eventually(() => expect(hellos.filter((h) => h.standby === true)).toHaveLength(1));
      await new Promise((r) => setTimeout(r, 100)); // its FIN has arrived
      expect(await roundTrip(caller, 'two')).toBe('two'); // a new connection, not the dead standby
      expect(hellos.filter((h) => h.standby === undefined)).toHaveLength(2);
    } finally {
      await registry.stop();
      callee.close();
    }
  });

  it('a callee that writes on an unused standby gets it closed, never handed out: its bytes reach no stream', async () => {
    const hellos: Array<Record<string, unknown>> = [];
    const callee = await rawCallee(hellos, { features: ['standby'], onStandby: 'talk' });
    const registry = await registerRaw(callee);
    try {
      const caller = await started('caller', { transports: ['tcp'], standby: 1 });
      expect(await roundTrip(caller, 'one')).toBe('one');
      await eventually(() => expect(hellos.filter((h) => h.standby === true)).toHaveLength(1));
      await new Promise((r) => setTimeout(r, 100)); // its bytes have arrived
      // A new connection: the reply is the echo alone, not 'unasked' + the echo.
      expect(await roundTrip(caller, 'two')).toBe('two');
      expect(hellos.filter((h) => h.standby === undefined)).toHaveLength(2);
    } finally {
      await registry.stop();
      callee.close();
    }
  });

  it('an old callee (no standby feature in its welcome) never gets a standby hello', async () => {
    const hellos: Array<Record<string, unknown>> = [];
    const old = await rawCallee(hellos);
    const registry = await registerRaw(old);
    try {
      const caller = await started('caller', { transports: ['tcp'], standby: 1 });
      for (const text of ['one', 'two']) expect(await roundTrip(caller, text)).toBe(text);
      await new Promise((r) => setTimeout(r, 200));
      expect(hellos).toHaveLength(2);
      expect(hellos.every((h) => h.standby === undefined)).toBe(true);
    } finally {
      await registry.stop();
      old.close();
    }
  });
});

/**
 * A callee written from the hello format (wire/hello.ts), not with core: it echoes every stream.
 * By default it speaks as before standby connections (its welcome lists no features).
 * `onStandby`: what it does on each standby connection right after its welcome: close it, or
 * write to it before any ACTIVATE (a hostile callee).
 */
function rawCallee(
  hellos: Array<Record<string, unknown>>,
  options: { features?: string[]; onStandby?: 'close' | 'talk' } = {},
): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
      socket.on('error', () => {});
      void readHello(socket).then((frame) => {
        hellos.push(frame as unknown as Record<string, unknown>);
        const from = { name: 'server', instanceId: 'raw1', namespace: 'default' };
        const features = options.features;
        socket.write(encodeHello(features ? { type: 'welcome', from, features } : { type: 'welcome', from }));
        const standby = (frame as { standby?: boolean }).standby === true;
        if (standby && options.onStandby === 'close') socket.end();
        else if (standby && options.onStandby === 'talk') socket.write('unasked');
        else socket.pipe(socket);
      });
    });
    server.listen(0, '127.0.0.1', () => resolve(server));
  });
}

/** Registers the raw callee as instance raw1 of "server" in the test's memory store. */
async function registerRaw(server: Server): Promise<MemoryRegistry> {
  const registry = new MemoryRegistry({ store: storeUrl().slice('memory:'.length) });
  await registry.start();
  const port = (server.address() as { port: number }).port;
  await registry.register(
    {
      name: 'server',
      instanceId: 'raw1',
      namespace: 'default',
      endpoints: [{ transport: 'tcp', host: '127.0.0.1', port }],
      methods: [],
      metadata: {},
      registeredAt: Date.now(),
    },
    60_000,
  );
  return registry;
}

describe('the standby pool', () => {
  const record = (host: string) => ({
    name: 'server',
    instanceId: 'i1',
    namespace: 'default',
    endpoints: [{ transport: 'tcp', host, port: 7000 }],
    methods: [],
    metadata: {},
    registeredAt: 0,
    expiresAt: 0,
  });

  /** A pool of one whose connections are PassThroughs, with its first standby in place. */
  async function filledPool() {
    const sockets: PassThrough[] = [];
    const pool = new StandbyPool(1, async (r) => {
      const socket = new PassThrough();
      sockets.push(socket);
      return { socket, peer: r, endpoint: r.endpoints[0] };
    });
    pool.refill(record('10.0.0.5'));
    await eventually(() => expect(sockets).toHaveLength(1));
    await new Promise((r) => setImmediate(r));
    return { pool, sockets };
  }

  it('closes a standby dialled at an address the record no longer lists (the peer moved), and uses none', async () => {
    const { pool, sockets } = await filledPool();
    expect(pool.take(record('10.0.0.9'))).toBeUndefined();
    expect(sockets[0]?.destroyed).toBe(true);
    pool.close();
  });

  it('hands a standby out once, activated, and refills', async () => {
    const { pool, sockets } = await filledPool();
    const taken = pool.take(record('10.0.0.5'));
    expect(taken?.socket).toBe(sockets[0]);
    expect((sockets[0]?.read() as Buffer)[0]).toBe(ACTIVATE);
    expect(pool.take(record('10.0.0.5'))).toBeUndefined(); // the refill is still under way
    await eventually(() => expect(sockets).toHaveLength(2));
    pool.close();
    expect(sockets[1]?.destroyed).toBe(true);
  });
});
