/** A plugin author proves a registry with core's shared compliance suite, then uses it for real. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSidecar } from '@sidecar/core';
import { readAll, registryComplianceSuite } from '@sidecar/core/testing';
import { expect, it } from 'vitest';
import { DirectoryRegistry, directoryRegistry } from './directory-registry.js';

const dir = mkdtempSync(join(tmpdir(), 'sidecar-directory-registry-'));

registryComplianceSuite('directory (example plugin)', {
  create: (options) => new DirectoryRegistry({ ...options, dir, pollInterval: 20 }),
  injectMalformed: async (namespace, name) => {
    writeFileSync(
      join(dir, encodeURIComponent(namespace), 'broken.json'),
      `{"name":${JSON.stringify(name)},`,
    );
  },
  storeClockIsProcessClock: true, // expiry by this machine's clock (Date.now), fine for one machine
});

it('carries a stream by name between two sidecars', async () => {
  const registry = directoryRegistry({ dir: join(dir, 'e2e') });
  const server = createSidecar({ name: 'echo', registry, transports: ['tcp'] });
  const client = createSidecar({ name: 'client', registry, transports: ['tcp'] });
  await server.start();
  await client.start();
  server.on('stream', (stream) => stream.pipe(stream));
  const stream = await client.connect('echo');
  stream.end('through a third-party registry');
  expect((await readAll(stream)).toString()).toBe('through a third-party registry');
  await client.stop();
  await server.stop();
});
