import { randomBytes } from 'node:crypto';
import { createSidecar, type Sidecar } from '@sidecar/core';
import { readAll } from '@sidecar/core/testing';
import { tcp } from '@sidecar/transport-tcp';
import { afterEach, describe, expect, it } from 'vitest';

const running: Sidecar[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((app) => app.stop()));
});

describe('several TCP endpoints per record', () => {
  it('advertises every host of advertiseHost "A,B" and callers fall through to one that answers', async () => {
    const registry = `memory:${randomBytes(4).toString('hex')}` as const;
    // 0.0.0.0 first: a record a caller must never dial (dial policy), then the real address.
    const server = createSidecar({
      name: 'server',
      registry,
      transports: [tcp({ host: '127.0.0.1', advertiseHost: '0.0.0.0,127.0.0.1' })],
    });
    running.push(server);
    await server.start();
    server.on('stream', (stream) => stream.pipe(stream));
    const port = server.record.endpoints[0]?.port;
    expect(server.record.endpoints).toEqual([
      { transport: 'tcp', host: '0.0.0.0', port },
      { transport: 'tcp', host: '127.0.0.1', port },
    ]);
    const caller = createSidecar({ name: 'caller', registry, register: false, transports: ['tcp'] });
    running.push(caller);
    await caller.start();
    const stream = await caller.connect('server');
    stream.end('second endpoint');
    expect((await readAll(stream)).toString()).toBe('second endpoint');
  });
});
