import {
  createSidecar,
  HelloRefusedError,
  PeerUnreachableError,
  type Sidecar,
  type SidecarError,
  type TransportPlugin,
} from '@sidecar/core';
import { CertificateError, tls } from '@sidecar/transport-tls';
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

/** A connect timeout far beyond the test's own: only failing at once can pass. */
const FOREVER = 600_000;

async function peer(name: string, registry: string, transports: TransportPlugin[]) {
  const sidecar = createSidecar({
    name,
    registry: registry as `memory:${string}`,
    transports,
    connectTimeout: FOREVER,
  });
  started.push(sidecar);
  const warnings: SidecarError[] = [];
  sidecar.on('warning', (e) => warnings.push(e));
  sidecar.on('stream', (stream) => stream.pipe(stream));
  await sidecar.start();
  return { sidecar, warnings };
}

async function failure(caller: Sidecar): Promise<PeerUnreachableError> {
  const err = await caller.connect('server').catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PeerUnreachableError);
  return err as PeerUnreachableError;
}

describe('TLS refusals fail at once, not retryable, saying what to fix', () => {
  it('a caller whose certificate the callee refuses learns why (and the callee warns once)', async () => {
    const registry = uniqueRegistry();
    const server = await peer('server', registry, [tls(creds(pki.ca, pki.server))]);
    const caller = await peer('client', registry, [tls(creds(pki.ca, pki.foreignClient))]);
    const err = await failure(caller.sidecar);
    expect(err.retryable).toBe(false);
    expect(err.attempts).toHaveLength(1);
    expect(err.attempts[0]).toBeInstanceOf(HelloRefusedError);
    expect((err.attempts[0] as HelloRefusedError).reason).toBe('certificate');
    expect(err.message).toContain("the caller's certificate was refused (UNABLE_TO_VERIFY_LEAF_SIGNATURE)");
    expect(err.message).toContain('signed by the CA the callee trusts');
    expect(server.warnings.filter((w) => w instanceof CertificateError)).toHaveLength(1);
  });

  it('an expired caller certificate is named as such', async () => {
    const registry = uniqueRegistry();
    await peer('server', registry, [tls(creds(pki.ca, pki.server))]);
    const caller = await peer('client', registry, [tls(creds(pki.ca, pki.expiredClient))]);
    const err = await failure(caller.sidecar);
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('CERT_HAS_EXPIRED');
  });

  it("a callee whose certificate the caller refuses: the caller's error names the CA to fix", async () => {
    const registry = uniqueRegistry();
    await peer('server', registry, [tls(creds(pki.ca, pki.foreignServer))]);
    const caller = await peer('client', registry, [tls(creds(pki.ca, pki.client))]);
    const err = await failure(caller.sidecar);
    expect(err.retryable).toBe(false);
    expect(err.attempts.every((a) => a instanceof CertificateError)).toBe(true);
    expect(err.message).toContain("signed by this side's CA");
  });

  it("a caller whose hello claims another name than its certificate's fails at once", async () => {
    const registry = uniqueRegistry();
    await peer('server', registry, [tls(creds(pki.ca, pki.server))]);
    const liar = await peer('mallory', registry, [tls(creds(pki.ca, pki.client))]);
    const err = await failure(liar.sidecar);
    expect(err.retryable).toBe(false);
    expect((err.attempts[0] as HelloRefusedError).reason).toBe('identity-mismatch');
  });
});
