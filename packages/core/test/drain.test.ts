import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { createSidecar, type Sidecar } from '@sidecar/core';
import { eventually, readAll } from '@sidecar/core/testing';
import { encodeHello, readHello } from '@sidecar/core/wire';
import { afterEach, describe, expect, it } from 'vitest';

const running: Sidecar[] = [];

function raw(app: Sidecar): Promise<Socket> {
  const { host, port } = app.record.endpoints[0] as { host: string; port: number };
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, allowHalfOpen: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('stop({ drain }) as documented', () => {
  afterEach(async () => {
    await Promise.all(running.splice(0).map((app) => app.stop()));
  });

  it('accepts and serves new connections while it drains (callers with a stale cache), then closes', async () => {
    const server = createSidecar({
      name: 'leaving',
      registry: `memory:${randomBytes(4).toString('hex')}`,
      transports: ['tcp'],
    });
    running.push(server);
    let served = 0;
    server.on('stream', (stream) => {
      served++;
      stream.pipe(stream);
    });
    await server.start();
    // A stream open before the stop keeps the drain busy.
    const early = await raw(server);
    early.write(
      encodeHello({
        type: 'hello',
        from: { name: 'early', instanceId: 'e1', namespace: 'default' },
        to: { name: 'leaving' },
      }),
    );
    expect((await readHello(early)).type).toBe('welcome');
    await eventually(() => expect(served).toBe(1));

    const stopped = server.stop({ drain: 3000 });
    expect(server.state).toBe('stopping');
    // A caller whose cache still had this peer connects now: it must be welcomed and served.
    const late = await raw(server);
    late.write(
      encodeHello({
        type: 'hello',
        from: { name: 'late', instanceId: 'l1', namespace: 'default' },
        to: { name: 'leaving' },
      }),
    );
    const answer = await readHello(late);
    expect(answer.type).toBe('welcome');
    late.end('served while draining');
    expect((await readAll(late)).toString()).toBe('served while draining');
    expect(served).toBe(2);
    early.end();
    await readAll(early);
    await stopped;
    expect(server.state).toBe('stopped');
  });
});
