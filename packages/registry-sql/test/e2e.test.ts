import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createSidecar, type Sidecar, type SidecarConfig } from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { postgresUrl, removeTempDirs, tempDbPath } from './helpers.js';

const running: Sidecar[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
});
afterAll(removeTempDirs);

async function started(config: SidecarConfig): Promise<Sidecar> {
  const app = createSidecar(config);
  running.push(app);
  await app.start();
  return app;
}

const registries: Array<[string, () => string]> = [
  ['sqlite', () => `sqlite:${tempDbPath()}`],
  ['postgres', () => postgresUrl()],
];

describe.each(registries)('end to end: two sidecars on %s exchange bytes by name', (_label, url) => {
  it('connects by name, echoes bytes, and reports join and leave', async () => {
    const registry = url() as SidecarConfig['registry'];
    const namespace = `e2e-${randomBytes(4).toString('hex')}`;
    const server = await started({ name: 'echo-server', registry, namespace });
    server.on('stream', (stream) => stream.pipe(stream));
    const client = await started({ name: 'echo-client', registry, namespace });
    const left: string[] = [];
    client.on('leave', (peer) => left.push(peer.name));

    const payload = randomBytes(256 * 1024);
    const stream = await client.connect('echo-server');
    stream.end(payload);
    expect((await readAll(stream)).equals(payload)).toBe(true);
    expect((await client.peers('echo-*')).map((r) => r.name).sort()).toEqual(['echo-client', 'echo-server']);
    expect(client.registry.reach).toBe(registry?.toString().startsWith('sqlite:') ? 'machine' : 'network');

    await server.stop();
    await eventually(() => expect(left).toEqual(['echo-server']), 3000);
  });
});

describe("end to end: registry 'sql' with no URL", () => {
  it('uses the per-user default file, so two sidecars find each other with no configuration', async () => {
    const dir = tempDbPath().replace(/\/registry\.db$/, '');
    const env = { ...process.env, XDG_STATE_HOME: dir, SIDECAR_REGISTRY: undefined };
    const server = await started({ name: 'zero-conf-server', registry: 'sql', env });
    server.on('stream', (stream) => stream.end('hello from the default registry'));
    const client = await started({ name: 'zero-conf-client', env });
    expect((await readAll(await client.connect('zero-conf-server'))).toString()).toBe(
      'hello from the default registry',
    );
    expect(existsSync(join(dir, 'sidecar', 'registry.db'))).toBe(true);
  });
});
