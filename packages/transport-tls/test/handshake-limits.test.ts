import { connect, type Socket } from 'node:net';
import { ConnectionLimitError, createSidecar, type Sidecar, type SidecarError } from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { tls } from '@sidecar/transport-tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creds, makePki, type Pki, uniqueRegistry } from './fixtures.js';

let pki: Pki;
const started: Sidecar[] = [];
const sockets: Socket[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

function open(app: Sidecar, localAddress = '127.0.0.1'): Promise<Socket> {
  const { host, port } = app.record.endpoints[0] as { host: string; port: number };
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, localAddress }, () => resolve(socket));
    sockets.push(socket);
    socket.on('error', () => {});
    socket.once('error', reject);
    socket.resume();
  });
}

const isClosed = (s: Socket) => s.destroyed || s.readableEnded;

describe('TLS: connections that never finish their handshake are limited', () => {
  it('keeps at most maxPendingHandshakes (and per address), closing the oldest, and still serves callers', async () => {
    const registry = uniqueRegistry();
    const server = createSidecar({
      name: 'server',
      registry,
      transports: [
        tls(
          creds(pki.ca, pki.server, {
            handshakeTimeout: 60_000,
            maxPendingHandshakes: 6,
            maxPendingHandshakesPerAddress: 4,
          }),
        ),
      ],
    });
    const client = createSidecar({ name: 'client', registry, transports: [tls(creds(pki.ca, pki.client))] });
    started.push(server, client);
    const warnings: SidecarError[] = [];
    server.on('warning', (w) => warnings.push(w));
    server.on('stream', (s) => s.pipe(s));
    await server.start();
    await client.start();

    // One address opens 10 silent TCP connections: only its newest 4 wait for their handshake.
    const flood: Socket[] = [];
    for (let i = 0; i < 10; i++) flood.push(await open(server));
    await eventually(() => expect(flood.filter(isClosed)).toHaveLength(6));
    expect(flood.slice(6).some(isClosed)).toBe(false);
    // Another address is not evicted by the first one's flood; the total limit (6) applies to both.
    const other = [await open(server, '127.0.0.2'), await open(server, '127.0.0.2')];
    for (let i = 0; i < 3; i++) flood.push(await open(server));
    await eventually(() => expect(flood.filter(isClosed)).toHaveLength(9));
    expect(other.some(isClosed)).toBe(false);

    const limits = warnings.filter((w): w is ConnectionLimitError => w instanceof ConnectionLimitError);
    expect(new Set(limits.map((w) => w.limit))).toEqual(new Set(['pending-handshakes-per-address']));
    expect(limits).toHaveLength(9);

    const stream = await client.connect('server');
    stream.end('served through the flood');
    expect((await readAll(stream)).toString()).toBe('served through the flood');
  });
});
