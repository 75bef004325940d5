import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSidecar } from '@sidecar/core';
import { tls } from '@sidecar/transport-tls';
import { describe, expect, it } from 'vitest';
import { runCli } from './run-cli.js';

describe('sidecar certs', { timeout: 60_000 }, () => {
  it('writes the files the TLS docs name, and two peers talk mutual TLS with them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sidecar-certs-'));
    const out = join(dir, 'certs');
    const first = await runCli(['certs', 'billing', 'shop', '--out', out]);
    expect(first.code).toBe(0);
    expect(first.out).toContain('sidecar://default/billing');
    // A second run adds a peer with the same CA.
    const second = await runCli(['certs', 'ledger', '--out', out]);
    expect(second.out).toContain('using the CA');
    for (const file of ['ca.key', 'billing.key', 'shop.key', 'ledger.key'])
      expect(statSync(join(out, file)).mode & 0o077).toBe(0);

    const registry = `memory:certs-${process.pid}` as const;
    const files = (name: string) => ({
      ca: join(out, 'ca.crt'),
      cert: join(out, `${name}.crt`),
      key: join(out, `${name}.key`),
    });
    const billing = createSidecar({ name: 'billing', registry, transports: [tls(files('billing'))] });
    const shop = createSidecar({ name: 'shop', registry, transports: [tls(files('shop'))] });
    billing.on('stream', (stream, caller) => stream.end(`hello ${caller.name}`));
    await billing.start();
    await shop.start();
    try {
      const stream = await shop.connect('billing');
      let text = '';
      for await (const chunk of stream) text += chunk;
      expect(text).toBe('hello shop');
    } finally {
      await shop.stop();
      await billing.stop();
    }
  });

  it('refuses a bad name or no name with a usage error', async () => {
    expect((await runCli(['certs', 'a b'])).code).toBe(2);
    expect((await runCli(['certs'])).code).toBe(2);
  });
});
