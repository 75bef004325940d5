import { TLSSocket } from 'node:tls';
import {
  createSidecar,
  HelloRefusedError,
  NoCommonTransportError,
  PeerUnreachableError,
  type Sidecar,
  type SidecarError,
  type TransportPlugin,
} from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { tcp } from '@sidecar/transport-tcp';
import { issuePeerCertificate, PeerIdentityError, type PemPair, tls } from '@sidecar/transport-tls';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creds, makePki, type Pki, uniqueRegistry } from './fixtures.js';

let pki: Pki;
let mallory: PemPair;
const started: Sidecar[] = [];

beforeAll(async () => {
  pki = await makePki();
  mallory = await issuePeerCertificate(pki.ca, { name: 'mallory' });
});
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

async function peer(name: string, registry: string, transports: TransportPlugin[]): Promise<Sidecar> {
  const sidecar = createSidecar({
    name,
    registry: registry as `memory:${string}`,
    transports,
    connectTimeout: 1500,
    dialTimeout: 1000,
  });
  started.push(sidecar);
  await sidecar.start();
  return sidecar;
}

/** A peer that echoes every stream it accepts. */
async function echoPeer(name: string, registry: string, transports: TransportPlugin[]) {
  const sidecar = await peer(name, registry, transports);
  const warnings: SidecarError[] = [];
  const callers: string[] = [];
  sidecar.on('warning', (e) => warnings.push(e));
  sidecar.on('stream', (stream, from) => {
    callers.push(from.name);
    stream.pipe(stream);
  });
  return { sidecar, warnings, callers };
}

describe('two sidecars over mutual TLS', () => {
  it('connects by name, carries data, and names the caller by its certificate', async () => {
    const registry = uniqueRegistry();
    const server = await echoPeer('server', registry, [tls(creds(pki.ca, pki.server))]);
    const client = await peer('client', registry, [tls(creds(pki.ca, pki.client))]);
    const stream = await client.connect('server');
    expect(stream).toBeInstanceOf(TLSSocket);
    stream.end('over tls');
    expect((await readAll(stream)).toString()).toBe('over tls');
    expect(server.callers).toEqual(['client']);
  });

  it("refuses a caller whose hello claims another name than its certificate's", async () => {
    const registry = uniqueRegistry();
    const server = await echoPeer('server', registry, [tls(creds(pki.ca, pki.server))]);
    // Its certificate says "client", its hello says "mallory".
    const liar = await peer('mallory', registry, [tls(creds(pki.ca, pki.client))]);
    const err = await liar.connect('server').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerUnreachableError);
    expect((err as PeerUnreachableError).attempts.some((a) => a instanceof HelloRefusedError)).toBe(true);
    await eventually(() =>
      expect(
        server.warnings.some((w) => w instanceof HelloRefusedError && w.reason === 'identity-mismatch'),
      ).toBe(true),
    );
    expect(server.callers).toEqual([]);
    // The honest owner of a "mallory" certificate gets in.
    const honest = await peer('mallory', registry, [tls(creds(pki.ca, mallory))]);
    const stream = await honest.connect('server');
    stream.end('ok');
    expect((await readAll(stream)).toString()).toBe('ok');
  });

  it('refuses to hand out a stream to a callee whose certificate names another peer', async () => {
    const registry = uniqueRegistry();
    // Registered as "server", but holding the certificate of "impostor".
    await echoPeer('server', registry, [tls(creds(pki.ca, pki.impostor))]);
    const client = await peer('client', registry, [tls(creds(pki.ca, pki.client))]);
    const err = await client.connect('server').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PeerUnreachableError);
    const attempts = (err as PeerUnreachableError).attempts;
    expect(attempts.length).toBeGreaterThan(0);
    expect(attempts.every((a) => a instanceof PeerIdentityError)).toBe(true);
  });

  it('reports a caller with an expired certificate as a warning on the callee', async () => {
    const registry = uniqueRegistry();
    const server = await echoPeer('server', registry, [tls(creds(pki.ca, pki.server))]);
    const client = await peer('client', registry, [tls(creds(pki.ca, pki.expiredClient))]);
    await expect(client.connect('server')).rejects.toBeInstanceOf(PeerUnreachableError);
    expect(server.warnings.some((w) => w.code === 'SIDECAR_ERR_CERTIFICATE')).toBe(true);
    expect(server.callers).toEqual([]);
  });
});

describe('transport negotiation', () => {
  it("advertises both endpoints and uses the caller's first common transport", async () => {
    const registry = uniqueRegistry();
    const server = await echoPeer('server', registry, [tls(creds(pki.ca, pki.server)), tcp()]);
    expect(server.sidecar.record.endpoints.map((e) => e.transport)).toEqual(['tls', 'tcp']);

    const both = await peer('client', registry, [tls(creds(pki.ca, pki.client)), tcp()]);
    const secure = await both.connect('server');
    expect(secure).toBeInstanceOf(TLSSocket);
    secure.end('a');
    expect((await readAll(secure)).toString()).toBe('a');

    const tcpFirst = await peer('client', registry, [tcp(), tls(creds(pki.ca, pki.client))]);
    const plainFirst = await tcpFirst.connect('server');
    expect(plainFirst).not.toBeInstanceOf(TLSSocket);
    plainFirst.destroy();

    const plainOnly = await peer('client', registry, [tcp()]);
    const plain = await plainOnly.connect('server');
    expect(plain).not.toBeInstanceOf(TLSSocket);
    plain.end('b');
    expect((await readAll(plain)).toString()).toBe('b');
  });

  it("the built-in names 'tls' and 'tcp' load these packages with transportOptions", async () => {
    const registry = uniqueRegistry();
    const server = createSidecar({
      name: 'server',
      registry,
      transports: ['tls', 'tcp'],
      transportOptions: { tls: creds(pki.ca, pki.server) },
    });
    started.push(server);
    await server.start();
    server.on('stream', (stream) => stream.pipe(stream));
    expect(server.record.endpoints.map((e) => e.transport)).toEqual(['tls', 'tcp']);
    const client = createSidecar({
      name: 'client',
      registry,
      transports: ['tls'],
      transportOptions: { tls: creds(pki.ca, pki.client) },
    });
    started.push(client);
    await client.start();
    const stream = await client.connect('server');
    expect(stream).toBeInstanceOf(TLSSocket);
    stream.end('by name');
    expect((await readAll(stream)).toString()).toBe('by name');
  });

  it('mandatory encryption: a tls-only caller never downgrades to a tcp-only callee', async () => {
    const registry = uniqueRegistry();
    const server = await echoPeer('server', registry, [tcp()]);
    const client = await peer('client', registry, [tls(creds(pki.ca, pki.client))]);
    const err = await client.connect('server').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NoCommonTransportError);
    expect((err as NoCommonTransportError).offered).toEqual(['tcp']);
    expect((err as NoCommonTransportError).spoken).toEqual(['tls']);
    expect(server.callers).toEqual([]);
  });
});
