import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { readAll } from '@sidecar/core/testing';
import {
  createDevCa,
  issuePeerCertificate,
  parsePeerUri,
  peersNamedBy,
  peerUri,
  TlsTransport,
} from '@sidecar/transport-tls';
import { describe, expect, it } from 'vitest';
import { tempDir } from './fixtures.js';

const run = promisify(execFile);
const packageDir = join(dirname(fileURLToPath(import.meta.url)), '..');

describe('the peer name in a certificate', () => {
  it('is the URI SAN sidecar://<namespace>/<name>, percent-encoded', () => {
    expect(peerUri({ name: 'billing', namespace: 'default' })).toBe('sidecar://default/billing');
    expect(peerUri({ name: 'a:b%c#d', namespace: 'prod' })).toBe('sidecar://prod/a%3Ab%25c%23d');
    for (const name of ['billing', 'a:b%c#d', 'ünïcødé', 'x,y"z', "o'brien"]) {
      expect(parsePeerUri(peerUri({ name, namespace: 'n-1' }))).toEqual({ name, namespace: 'n-1' });
    }
    expect(parsePeerUri('https://default/billing')).toBeUndefined();
    expect(parsePeerUri('sidecar://default/a/b')).toBeUndefined();
    expect(parsePeerUri('sidecar://default/')).toBeUndefined();
  });

  it("reads Node's subjectaltname text, quoted entries included", () => {
    expect(peersNamedBy('DNS:x, URI:sidecar://default/a, URI:https://e.com')).toEqual([
      { name: 'a', namespace: 'default' },
    ]);
    expect(peersNamedBy('URI:"sidecar://default/a, b", URI:sidecar://ns/c')).toEqual([
      { name: 'a, b', namespace: 'default' },
      { name: 'c', namespace: 'ns' },
    ]);
    expect(peersNamedBy(undefined)).toEqual([]);
  });

  it('issuePeerCertificate binds the name, is signed by the CA, and honours validity', async () => {
    const ca = await createDevCa();
    const pair = await issuePeerCertificate(ca, { name: 'a:b', namespace: 'prod', days: 2 });
    const cert = new X509Certificate(pair.cert);
    expect(cert.subjectAltName).toBe('URI:sidecar://prod/a%3Ab');
    expect(cert.verify(new X509Certificate(ca.cert).publicKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(ca.cert))).toBe(true);
    const days = (Date.parse(cert.validTo) - Date.parse(cert.validFrom)) / 86_400_000;
    expect(Math.round(days)).toBe(2);
    expect(pair.key).toMatch(/^-----BEGIN PRIVATE KEY-----/);
  });
});

describe('scripts/make-certs.ts', () => {
  it('writes a CA and one certificate per name that the transport accepts', async () => {
    const { dir, remove } = await tempDir();
    try {
      const args = ['exec', 'tsx', '--conditions=@sidecar/source', 'scripts/make-certs.ts', '--out', dir];
      await run('pnpm', [...args, 'server', 'client'], { cwd: packageDir });
      // A second run reuses the CA and adds a peer.
      await run('pnpm', [...args, 'a:b'], { cwd: packageDir });
      expect((await readdir(dir)).sort()).toEqual(
        [
          'a%3Ab.crt',
          'a%3Ab.key',
          'ca.crt',
          'ca.key',
          'client.crt',
          'client.key',
          'server.crt',
          'server.key',
        ].sort(),
      );
      const ca = new X509Certificate(await readFile(join(dir, 'ca.crt')));
      expect(new X509Certificate(await readFile(join(dir, 'a%3Ab.crt'))).checkIssued(ca)).toBe(true);

      const file = (n: string) => join(dir, n);
      const server = new TlsTransport({
        ca: file('ca.crt'),
        cert: file('server.crt'),
        key: file('server.key'),
      });
      const client = new TlsTransport({
        ca: file('ca.crt'),
        cert: file('client.crt'),
        key: file('client.key'),
      });
      const listener = await server.listen(({ stream }) => stream.pipe(stream), { reach: 'machine' });
      try {
        const stream = await client.dial(listener.endpoint, {
          expect: { name: 'server', namespace: 'default' },
        });
        stream.end('made by the script');
        expect((await readAll(stream)).toString()).toBe('made by the script');
      } finally {
        await listener.close();
      }
    } finally {
      await remove();
    }
  }, 20_000);
});
