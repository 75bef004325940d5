import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import {
  ConnectionLimitError,
  createSidecar,
  InvalidConfigError,
  type Sidecar,
  type SidecarConfig,
  type SidecarError,
} from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { encodeHello, readHello } from '@sidecar/core/wire';
import { afterEach, describe, expect, it } from 'vitest';
import { Admission } from '../src/pipeline/admission.js';
import { sourceAddress } from '../src/util/waiting-room.js';

const running: Sidecar[] = [];
const sockets: Socket[] = [];

async function pair(limits: Partial<SidecarConfig>) {
  const store = randomBytes(4).toString('hex');
  const server = createSidecar({
    name: 'callee',
    registry: `memory:${store}`,
    transports: ['tcp'],
    helloTimeout: 60_000, // so that only the limits close anything during a test
    ...limits,
  });
  // No standby connection, whatever the default: the limits below count the caller's connections.
  const client = createSidecar({
    name: 'caller',
    registry: `memory:${store}`,
    transports: ['tcp'],
    standby: 0,
  });
  running.push(server, client);
  const warnings: SidecarError[] = [];
  server.on('warning', (w) => warnings.push(w));
  server.on('stream', (s) => s.pipe(s));
  await server.start();
  await client.start();
  return { server, client, warnings };
}

function open(app: Sidecar, localAddress = '127.0.0.1'): Promise<Socket> {
  const { host, port } = app.record.endpoints[0] as { host: string; port: number };
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress }, () => resolve(socket));
    sockets.push(socket);
    socket.on('error', () => {});
    socket.once('error', reject);
  });
}

const isClosed = (s: Socket) => s.destroyed || s.readableEnded;
function watchClose(s: Socket): Socket {
  s.resume();
  s.once('end', () => s.destroy());
  return s;
}

async function echoOnce(client: Sidecar, text: string): Promise<string> {
  const stream = await client.connect('callee', { timeout: 3000 });
  stream.end(text);
  return (await readAll(stream)).toString();
}

function fullHello(socket: Socket, i: number): Promise<void> {
  socket.write(
    encodeHello({
      type: 'hello',
      from: { name: 'silent', instanceId: `s${i}`, namespace: 'default' },
      to: { name: 'callee' },
    }),
  );
  return readHello(socket).then((answer) => {
    expect(answer.type).toBe('welcome');
  });
}

describe('connection limits', () => {
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });

  it('keeps at most maxPendingHellos half-open hellos, closing the oldest, and still serves callers', async () => {
    const { server, client, warnings } = await pair({ maxPendingHellos: 4, maxPendingHellosPerAddress: 100 });
    const hostile: Socket[] = [];
    for (let i = 0; i < 10; i++) {
      const s = watchClose(await open(server));
      s.write(Buffer.from('SCAR')); // half a hello, then nothing
      hostile.push(s);
    }
    await eventually(() => expect(hostile.filter(isClosed)).toHaveLength(6));
    // The oldest went first: the last four are the ones still waiting.
    expect(hostile.slice(6).some(isClosed)).toBe(false);
    const limits = warnings.filter((w): w is ConnectionLimitError => w instanceof ConnectionLimitError);
    expect(limits).toHaveLength(6);
    expect(
      limits.every((w) => w.code === 'SIDECAR_ERR_CONNECTION_LIMIT' && w.limit === 'pending-hellos'),
    ).toBe(true);
    expect(limits[0]?.action).toBe('evicted');
    expect(await echoOnce(client, 'served')).toBe('served');
  });

  it('limits waiting connections per source address, so one address cannot evict another', async () => {
    const { server, client, warnings } = await pair({ maxPendingHellos: 100, maxPendingHellosPerAddress: 3 });
    const other = watchClose(await open(server, '127.0.0.2'));
    const flood: Socket[] = [];
    for (let i = 0; i < 10; i++) flood.push(watchClose(await open(server)));
    await eventually(() => expect(flood.filter(isClosed)).toHaveLength(7));
    expect(isClosed(other)).toBe(false);
    expect(warnings.every((w) => (w as ConnectionLimitError).limit === 'pending-hellos-per-address')).toBe(
      true,
    );
    expect(await echoOnce(client, 'still served')).toBe('still served');
  });

  it('at maxIncomingConnections closes the stream silent longest to make room for a caller', async () => {
    const { server, client, warnings } = await pair({ maxIncomingConnections: 3 });
    const silent: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = await open(server);
      await fullHello(s, i); // a full hello, then nothing
      silent.push(watchClose(s));
    }
    expect(await echoOnce(client, 'one')).toBe('one');
    await eventually(() => expect(isClosed(silent[0] as Socket)).toBe(true));
    expect(silent.slice(1).some(isClosed)).toBe(false);
    expect(await echoOnce(client, 'two')).toBe('two');
    const limits = warnings.filter((w): w is ConnectionLimitError => w instanceof ConnectionLimitError);
    expect(limits.map((w) => [w.limit, w.action])).toContainEqual(['incoming-connections', 'evicted']);
  });

  it('serves a legitimate burst of 600 concurrent streams from one address with the default limits', async () => {
    const store = randomBytes(4).toString('hex');
    const server = createSidecar({ name: 'callee', registry: `memory:${store}`, transports: ['tcp'] });
    const client = createSidecar({
      name: 'caller',
      registry: `memory:${store}`,
      transports: ['tcp'],
      register: false,
    });
    running.push(server, client);
    server.on('stream', (s) => s.pipe(s));
    await server.start();
    await client.start();
    const replies = await Promise.all(
      Array.from({ length: 600 }, async (_, i) => {
        const stream = client.to('callee');
        stream.end(`burst ${i}`);
        return (await readAll(stream)).toString();
      }),
    );
    expect(replies).toEqual(Array.from({ length: 600 }, (_, i) => `burst ${i}`));
  });

  it('refuses options that are not whole numbers of at least 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => createSidecar({ name: 'x', maxIncomingConnections: bad })).toThrow(InvalidConfigError);
      expect(() => createSidecar({ name: 'x', maxPendingHellos: bad })).toThrow(InvalidConfigError);
    }
  });
});

describe('Admission (the policy alone)', () => {
  const counted = (bytes: number) => Object.assign(new PassThrough(), { bytesRead: bytes, bytesWritten: 0 });

  it('refuses the newcomer with a readable busy refusal when every stream is moving bytes', async () => {
    const warnings: ConnectionLimitError[] = [];
    const admission = new Admission(
      { maxPendingHellos: 10, maxPendingHellosPerAddress: 10, maxIncomingConnections: 2 },
      (w) => warnings.push(w),
    );
    const streams = [counted(0), counted(0)];
    for (const stream of streams) {
      const entry = admission.admit({ stream, remoteAddress: '10.0.0.1:1' });
      admission.established(entry as NonNullable<typeof entry>);
      stream.bytesRead = 100; // both move bytes after their hello
    }
    const newcomer = new PassThrough();
    const answer = readHello(newcomer);
    expect(admission.admit({ stream: newcomer, remoteAddress: '10.0.0.2:1' })).toBeUndefined();
    expect(await answer).toMatchObject({ type: 'refuse', reason: 'busy' });
    expect(warnings.map((w) => [w.limit, w.action])).toEqual([['incoming-connections', 'refused']]);
    expect(admission.total).toBe(2);
    // Silent since that look, the one silent longest makes room for the next newcomer.
    (streams[1] as ReturnType<typeof counted>).bytesRead = 200; // the second moved again
    expect(admission.admit({ stream: counted(0), remoteAddress: '10.0.0.3:1' })).toBeDefined();
    expect(streams[0]?.destroyed).toBe(true);
    expect(streams[1]?.destroyed).toBe(false);
  });

  it('at the total limit sheds a stream silent for longer than the oldest wait for a hello', async () => {
    const warnings: ConnectionLimitError[] = [];
    const admission = new Admission(
      { maxPendingHellos: 10, maxPendingHellosPerAddress: 10, maxIncomingConnections: 2 },
      (w) => warnings.push(w),
    );
    const silent = counted(0);
    const entry = admission.admit({ stream: silent, remoteAddress: '10.0.0.1:1' });
    admission.established(entry as NonNullable<typeof entry>);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const waiting = new PassThrough(); // a caller whose hello has not been read yet
    admission.admit({ stream: waiting, remoteAddress: '10.0.0.2:1' });
    expect(admission.admit({ stream: new PassThrough(), remoteAddress: '10.0.0.3:1' })).toBeDefined();
    expect(silent.destroyed).toBe(true);
    expect(waiting.destroyed).toBe(false);
    expect(warnings[0]?.message).toMatch(/silent for \d+ ms/);
  });

  it('counts IPv4, IPv4-mapped and IPv6 (per /64) sources', () => {
    expect(sourceAddress('127.0.0.1:5000')).toBe('127.0.0.1');
    expect(sourceAddress('::ffff:10.1.2.3:5000')).toBe('10.1.2.3');
    expect(sourceAddress('2001:db8:1:2:aaaa::1:443')).toBe('2001:db8:1:2::/64');
    expect(sourceAddress('2001:db8:1:2:bbbb:cccc:dddd:eeee:443')).toBe('2001:db8:1:2::/64');
    expect(sourceAddress('::1:80')).toBe('0:0:0:0::/64');
    expect(sourceAddress(undefined)).toBe('unknown');
  });
});
