import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { InvalidConfigError, type Listener, type SidecarError } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import {
  CertificateError,
  createDevCa,
  issuePeerCertificate,
  type PemPair,
  TlsTransport,
} from '@sidecar/transport-tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creds, makePki, type Pki, tempDir } from './fixtures.js';

const SERVER = { expect: { name: 'server', namespace: 'default' } };
let pki: Pki;
const cleanup: Array<() => Promise<void>> = [];
const streams: Duplex[] = [];

beforeAll(async () => {
  pki = await makePki();
});
afterEach(async () => {
  for (const s of streams.splice(0)) s.destroy();
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** Writes a CA and a server certificate to `dir` (what a certificate tool would do). */
async function writeFiles(dir: string, ca: PemPair, pair: PemPair): Promise<void> {
  await writeFile(join(dir, 'ca.crt'), ca.cert);
  await writeFile(join(dir, 'server.crt'), pair.cert);
  await writeFile(join(dir, 'server.key'), pair.key);
}

async function fileServer(extra: { watch?: boolean; watchInterval?: number } = {}) {
  const { dir, remove } = await tempDir();
  cleanup.push(remove);
  await writeFiles(dir, pki.ca, pki.server);
  const transport = new TlsTransport({
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'server.crt'),
    key: join(dir, 'server.key'),
    ...extra,
  });
  const errors: SidecarError[] = [];
  const listener: Listener = await transport.listen(({ stream }) => stream.pipe(stream), {
    reach: 'machine',
    onError: (e) => errors.push(e),
  });
  cleanup.push(() => listener.close());
  return { dir, transport, listener, errors };
}

/** Dials, proves data flows, and returns the socket (left open). */
async function dial(client: TlsTransport, listener: Listener): Promise<TLSSocket> {
  const socket = (await client.dial(listener.endpoint, SERVER)) as TLSSocket;
  streams.push(socket);
  socket.write('x');
  await new Promise((resolve) => socket.once('data', resolve));
  return socket;
}

const serialOf = (socket: TLSSocket) => socket.getPeerCertificate().serialNumber;
const serialOfPem = async (pem: string) =>
  new (await import('node:crypto')).X509Certificate(pem).serialNumber;
const noResume = () => new TlsTransport(creds(pki.ca, pki.client, { sessionCacheSize: 0 }));

describe('certificate reload without restart', () => {
  it('reload() reads the rotated files: new connections get the new certificate, open ones stay', async () => {
    const { dir, transport, listener } = await fileServer();
    const client = noResume();
    const before = await dial(client, listener);
    expect(serialOf(before)).toBe(await serialOfPem(pki.server.cert));

    const next = await issuePeerCertificate(pki.ca, { name: 'server' });
    await writeFiles(dir, pki.ca, next);
    await transport.reload();
    const after = await dial(client, listener);
    expect(serialOf(after)).toBe(await serialOfPem(next.cert));
    // The connection opened before the reload still carries data.
    before.write('y');
    await new Promise((resolve) => before.once('data', resolve));
  });

  it('watch: picks up rotated files by itself', async () => {
    const { dir, listener } = await fileServer({ watch: true, watchInterval: 50 });
    const next = await issuePeerCertificate(pki.ca, { name: 'server' });
    const wanted = await serialOfPem(next.cert);
    await writeFiles(dir, pki.ca, next);
    const client = noResume();
    await eventually(async () => {
      const socket = await dial(client, listener);
      const serial = serialOf(socket);
      socket.destroy();
      expect(serial).toBe(wanted);
    }, 5000);
  });

  it('rotating to a new CA refuses callers of the old CA and accepts callers of the new one', async () => {
    const { transport, listener, errors } = await fileServer();
    const newCa = await createDevCa();
    const [server2, client2] = await Promise.all([
      issuePeerCertificate(newCa, { name: 'server' }),
      issuePeerCertificate(newCa, { name: 'client' }),
    ]);
    await transport.reload({ ca: newCa.cert, cert: server2.cert, key: server2.key });
    const oldClient = new TlsTransport(creds(pki.ca, pki.client));
    await expect(oldClient.dial(listener.endpoint, SERVER)).rejects.toBeInstanceOf(CertificateError);
    const newClient = new TlsTransport(creds(newCa, client2));
    await dial(newClient, listener);
    expect(errors.every((e) => e instanceof CertificateError)).toBe(true);
  });

  it('a reload with unusable material rejects and keeps the current certificate', async () => {
    const { transport, listener } = await fileServer();
    await expect(transport.reload({ key: pki.client.key })).rejects.toBeInstanceOf(InvalidConfigError);
    const socket = await dial(noResume(), listener);
    expect(serialOf(socket)).toBe(await serialOfPem(pki.server.cert));
  });
});

describe('TLS 1.3 session resumption', () => {
  it('resumes the session on the next dial to the same peer, and starts afresh after a reload', async () => {
    const { transport, listener } = await fileServer();
    const client = new TlsTransport(creds(pki.ca, pki.client));
    const first = await dial(client, listener);
    expect(first.isSessionReused()).toBe(false);
    await eventually(() => expect(client.cachedSessions).toBe(1));
    const second = await dial(client, listener);
    expect(second.isSessionReused()).toBe(true);

    // A new server certificate invalidates the server's tickets: a full handshake checks it again.
    await transport.reload();
    const third = await dial(client, listener);
    expect(third.isSessionReused()).toBe(false);
    expect(serialOf(third)).toBe(await serialOfPem(pki.server.cert));

    // The client's own reload drops its tickets.
    await eventually(() => expect(client.cachedSessions).toBe(1));
    await client.reload();
    expect(client.cachedSessions).toBe(0);
  });

  it('never offers a session to another expected peer', async () => {
    const { listener } = await fileServer();
    const client = new TlsTransport(creds(pki.ca, pki.client));
    await dial(client, listener);
    await eventually(() => expect(client.cachedSessions).toBe(1));
    // Same address, another expected name: no resumption, so the certificate is checked.
    await expect(
      client.dial(listener.endpoint, { expect: { name: 'billing', namespace: 'default' } }),
    ).rejects.toMatchObject({ code: 'SIDECAR_ERR_PEER_IDENTITY' });
  });
});
