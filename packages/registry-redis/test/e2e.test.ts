import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createSidecar, type Sidecar } from '@sidecar/core';
import { afterEach, describe, expect, it } from 'vitest';
import { redisUrl } from './helpers.js';

function firstChunk(stream: Duplex): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    stream.once('data', (chunk: Buffer) => resolve(chunk));
    stream.once('error', reject);
  });
}

describe('redis registry: end to end', () => {
  const apps: Sidecar[] = [];

  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.stop()));
  });

  it('lets two sidecars found through a redis:// URL exchange bytes by name', async () => {
    const namespace = `e2e-${randomBytes(4).toString('hex')}`;
    const url = redisUrl() as `redis://${string}`;
    const server = createSidecar({ name: 'echo:{server}', registry: url, namespace });
    const client = createSidecar({ name: 'client', registry: url, namespace });
    apps.push(server, client);
    server.on('stream', (stream) => stream.pipe(stream));
    await server.start();
    await client.start();
    expect(server.registry.constructor.name).toBe('RedisRegistry');

    const stream = client.to('echo:{server}');
    const reply = firstChunk(stream);
    stream.write(Buffer.from([0, 1, 2, 254, 255]));
    expect([...(await reply)]).toEqual([0, 1, 2, 254, 255]);
    stream.end();

    const peers = await client.peers('*');
    expect(peers.map((p) => p.name).sort()).toEqual(['client', 'echo:{server}']);
  });
});
