import type { Duplex } from 'node:stream';
import { createSidecar, type Endpoint, type Sidecar } from '@sidecar/core';
import { readAll, sleep } from '@sidecar/core/testing';
import { TlsTransport, tls } from '@sidecar/transport-tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creds, makePki, type Pki, uniqueRegistry } from './fixtures.js';

let pki: Pki;
const started: Sidecar[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function pair(): Promise<{ server: Sidecar; client: Sidecar }> {
  const registry = uniqueRegistry();
  const server = createSidecar({ name: 'server', registry, transports: [tls(creds(pki.ca, pki.server))] });
  const client = createSidecar({ name: 'client', registry, transports: [tls(creds(pki.ca, pki.client))] });
  started.push(server, client);
  await server.start();
  await client.start();
  // The callee answers once the caller has ended its side: the reply needs half-close.
  server.on('stream', (stream: Duplex) => {
    let received = 0;
    stream.on('data', (chunk: Buffer) => {
      received += chunk.length;
    });
    stream.once('end', () => stream.end(`reply after ${received} bytes`));
  });
  return { server, client };
}

describe('TLS half-close', () => {
  it('a caller that ends at once, with no data, still gets the reply (to()), also on resumed sessions', async () => {
    const { client } = await pair();
    for (let i = 0; i < 20; i++) {
      const stream = client.to('server');
      stream.end();
      expect((await readAll(stream)).toString(), `stream ${i}`).toBe('reply after 0 bytes');
    }
  });

  it('a caller that ends right after connect(), with no data, still gets the reply', async () => {
    const { client } = await pair();
    for (let i = 0; i < 20; i++) {
      const stream = await client.connect('server');
      stream.end();
      expect((await readAll(stream)).toString(), `stream ${i}`).toBe('reply after 0 bytes');
    }
  });

  it('20 callers at once that end with no data all get their reply', async () => {
    const { client } = await pair();
    const replies = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const stream = client.to('server');
        stream.end();
        return (await readAll(stream)).toString();
      }),
    );
    expect(replies).toEqual(Array(20).fill('reply after 0 bytes'));
  });

  it('and with data', async () => {
    const { client } = await pair();
    const stream = client.to('server');
    stream.end('abc');
    expect((await readAll(stream)).toString()).toBe('reply after 3 bytes');
  });
});

/** Reaches the socket a dial opens before its handshake is done, as the transport itself holds it. */
class EarlyEnd extends TlsTransport {
  openEarly(endpoint: Endpoint) {
    return this.openSocket(endpoint, { expect: { name: 'server', namespace: 'default' } });
  }
}

describe('TLS half-close before the handshake finished (the node:tls bug)', () => {
  it('end() with no data right after connecting still delivers the end and the reply', async () => {
    const server = new TlsTransport(creds(pki.ca, pki.server));
    const listener = await server.listen(
      ({ stream }) => {
        stream.resume();
        stream.once('end', () => stream.end('reply'));
      },
      { reach: 'machine' },
    );
    try {
      const client = new EarlyEnd(creds(pki.ca, pki.client));
      await client
        .dial(listener.endpoint, { expect: { name: 'server', namespace: 'default' } })
        .then((s) => s.destroy()); // loads the credentials
      const { socket, ready } = client.openEarly(listener.endpoint);
      socket.end(); // before the handshake: Node 20 alone would hang here
      await ready;
      const reply = await Promise.race([
        readAll(socket).then(String),
        sleep(3000).then(() => 'no reply within 3 s'),
      ]);
      socket.destroy();
      expect(reply).toBe('reply');
    } finally {
      await listener.close();
    }
  });
});
