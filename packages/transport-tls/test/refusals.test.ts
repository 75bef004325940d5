import { connect as netConnect, createServer as netServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import {
  type Endpoint,
  type IncomingConnection,
  type Listener,
  ProtocolError,
  type SidecarError,
  TimeoutError,
} from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { CertificateError, PeerIdentityError, type PemPair, TlsTransport } from '@sidecar/transport-tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creds, makePki, type Pki } from './fixtures.js';

const SERVER = { name: 'server', namespace: 'default' };
let pki: Pki;
const listeners: Listener[] = [];
const sockets: Duplex[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(listeners.splice(0).map((l) => l.close()));
});

/** An echo server over TLS holding `pair`; every refusal lands in `errors`. */
async function echoServer(pair: PemPair = pki.server, handshakeTimeout = 5000) {
  const errors: SidecarError[] = [];
  const accepted: IncomingConnection[] = [];
  const transport = new TlsTransport(creds(pki.ca, pair, { handshakeTimeout }));
  const listener = await transport.listen(
    (connection) => {
      accepted.push(connection);
      sockets.push(connection.stream);
      connection.stream.on('error', () => {});
      connection.stream.pipe(connection.stream);
    },
    { reach: 'machine', onError: (e) => errors.push(e) },
  );
  listeners.push(listener);
  return { listener, errors, accepted };
}

/** Proves the server still serves a good client after a refusal. */
async function stillServes(endpoint: Endpoint): Promise<void> {
  const client = new TlsTransport(creds(pki.ca, pki.client));
  const stream = await client.dial(endpoint, { expect: SERVER });
  sockets.push(stream);
  stream.end('still here');
  expect((await readAll(stream)).toString()).toBe('still here');
}

/** A raw TCP connection that sends `bytes` (or nothing) and resolves when the server closes it. */
function rawClient(endpoint: Endpoint, bytes?: Buffer): Promise<void> {
  return new Promise((resolve) => {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port });
    sockets.push(socket);
    socket.on('error', () => {});
    socket.resume();
    if (bytes) socket.write(bytes);
    socket.once('close', () => resolve());
  });
}

/** A TLS client with the given certificate (or none): resolves when the server closes it. */
function tlsClient(endpoint: Endpoint, ca: PemPair, pair?: PemPair): Promise<void> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host: endpoint.host,
      port: endpoint.port,
      ca: ca.cert,
      ...(pair ? { cert: pair.cert, key: pair.key } : {}),
      checkServerIdentity: () => undefined,
    });
    sockets.push(socket);
    socket.on('error', () => {});
    socket.resume();
    socket.once('secureConnect', () => socket.write('hello?'));
    socket.once('close', () => resolve());
  });
}

describe('the server refuses bad callers, reports a typed error, and keeps serving', () => {
  it('refuses a plain TCP client sending garbage (ProtocolError)', async () => {
    const { listener, errors } = await echoServer();
    await rawClient(listener.endpoint, Buffer.from('\x16\x03\x01\x00\x05garbage and more garbage'));
    await eventually(() => expect(errors[0]).toBeInstanceOf(ProtocolError));
    await stillServes(listener.endpoint);
  });

  it('refuses an HTTP request (ProtocolError)', async () => {
    const { listener, errors } = await echoServer();
    await rawClient(listener.endpoint, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await eventually(() => expect(errors[0]).toBeInstanceOf(ProtocolError));
    expect(errors[0]?.message).toMatch(/not a TLS client/);
    await stillServes(listener.endpoint);
  });

  it('drops a silent client after the handshake timeout (TimeoutError)', async () => {
    const { listener, errors } = await echoServer(pki.server, 200);
    await rawClient(listener.endpoint);
    await eventually(() => expect(errors[0]).toBeInstanceOf(TimeoutError));
    expect(errors[0]?.message).toMatch(/did not finish within 200 ms/);
    await stillServes(listener.endpoint);
  });

  it('refuses an expired client certificate (CertificateError CERT_HAS_EXPIRED)', async () => {
    const { listener, errors, accepted } = await echoServer();
    await tlsClient(listener.endpoint, pki.ca, pki.expiredClient);
    await eventually(() => expect(errors[0]).toBeInstanceOf(CertificateError));
    expect((errors[0] as CertificateError).reason).toBe('CERT_HAS_EXPIRED');
    expect(accepted).toHaveLength(0);
    await stillServes(listener.endpoint);
  });

  it('refuses a client certificate from another CA (CertificateError)', async () => {
    const { listener, errors, accepted } = await echoServer();
    await tlsClient(listener.endpoint, pki.ca, pki.foreignClient);
    await eventually(() => expect(errors[0]).toBeInstanceOf(CertificateError));
    expect((errors[0] as CertificateError).reason).toMatch(/UNABLE_TO_|SELF_SIGNED|UNKNOWN_CA/);
    expect(accepted).toHaveLength(0);
    await stillServes(listener.endpoint);
  });

  it('refuses a TLS client without a certificate (CertificateError)', async () => {
    const { listener, errors, accepted } = await echoServer();
    await tlsClient(listener.endpoint, pki.ca);
    await eventually(() => expect(errors[0]).toBeInstanceOf(CertificateError));
    expect(accepted).toHaveLength(0);
    await stillServes(listener.endpoint);
  });

  it('hands the verified caller name to core with every accepted connection', async () => {
    const { listener, accepted } = await echoServer();
    await stillServes(listener.endpoint);
    expect(accepted[0]?.identity).toEqual({ name: 'client', namespace: 'default' });
  });
});

describe('the caller refuses a callee it cannot trust', () => {
  async function dialFails(pair: PemPair, expect_ = SERVER) {
    const { listener, accepted } = await echoServer(pair);
    const client = new TlsTransport(creds(pki.ca, pki.client));
    const failure = await client.dial(listener.endpoint, { expect: expect_ }).then(
      () => undefined,
      (err: unknown) => err,
    );
    // Whatever the server accepted is closed: the stream is never handed out.
    await eventually(() => expect(accepted.every((c) => c.stream.destroyed)).toBe(true));
    await stillServes(listener.endpoint).catch(() => {});
    return failure;
  }

  it('rejects a callee whose certificate names another peer (PeerIdentityError)', async () => {
    const err = await dialFails(pki.impostor);
    expect(err).toBeInstanceOf(PeerIdentityError);
    expect((err as PeerIdentityError).actual).toEqual([{ name: 'impostor', namespace: 'default' }]);
    expect((err as PeerIdentityError).code).toBe('SIDECAR_ERR_PEER_IDENTITY');
  });

  it('rejects a callee of the right name in another namespace (PeerIdentityError)', async () => {
    const err = await dialFails(pki.server, { name: 'server', namespace: 'staging' });
    expect(err).toBeInstanceOf(PeerIdentityError);
  });

  it('rejects an expired callee certificate (CertificateError)', async () => {
    const err = await dialFails(pki.expiredServer);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).reason).toBe('CERT_HAS_EXPIRED');
  });

  it('rejects a callee certificate from another CA (CertificateError)', async () => {
    const err = await dialFails(pki.foreignServer);
    expect(err).toBeInstanceOf(CertificateError);
    expect((err as CertificateError).code).toBe('SIDECAR_ERR_CERTIFICATE');
  });

  it('times out against a server that never answers the handshake (TimeoutError)', async () => {
    const held: Socket[] = [];
    let closed = 0;
    const silent: Server = netServer((socket) => {
      held.push(socket);
      socket.on('error', () => {});
      socket.resume();
      socket.once('close', () => closed++);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const address = silent.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const client = new TlsTransport(creds(pki.ca, pki.client, { handshakeTimeout: 200 }));
      await expect(
        client.dial({ transport: 'tls', host: '127.0.0.1', port }, { expect: SERVER }),
      ).rejects.toBeInstanceOf(TimeoutError);
      // The client's socket is gone: the server sees it close.
      await eventually(() => expect(closed).toBe(1));
    } finally {
      for (const s of held) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });
});
