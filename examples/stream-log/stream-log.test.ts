/**
 * The stream-log plugin (stream-log.ts) on two real sidecars over TCP and a SQLite registry file:
 * it sees both directions through the event bus, and its own service resolves from the container.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSidecar, resolve } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { STREAM_LOG, streamLog } from './stream-log.js';

const dir = mkdtempSync(join(tmpdir(), 'stream-log-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('a third-party plugin observing streams through the event bus', () => {
  it('logs streams both ways, and its service resolves from the container', async () => {
    const registry = `sqlite:${join(dir, 'registry.db')}` as const;
    const lines: string[] = [];
    await using server = createSidecar({
      name: 'echo',
      registry,
      plugins: [streamLog({ print: (l) => lines.push(l) })],
    });
    await using client = createSidecar({
      name: 'caller',
      registry,
      plugins: [streamLog({ print: () => {} })],
    });
    server.on('stream', (stream) => stream.pipe(stream));
    await server.start();
    await client.start();

    const stream = await client.connect('echo');
    stream.end('hello');
    const echoed: Buffer[] = [];
    for await (const chunk of stream) echoed.push(chunk as Buffer);
    expect(Buffer.concat(echoed).toString()).toBe('hello');

    const serverLog = resolve(server.container, STREAM_LOG);
    const clientLog = resolve(client.container, STREAM_LOG);
    await eventually(() => expect(serverLog.entries[0]?.closedAt).toBeDefined());
    expect(clientLog.entries).toHaveLength(1);
    expect(clientLog.entries[0]).toMatchObject({ direction: 'outgoing', transport: 'tcp', local: 'caller' });
    expect(clientLog.entries[0]?.peer.name).toBe('echo');
    expect(serverLog.entries[0]).toMatchObject({ direction: 'incoming', transport: 'tcp', local: 'echo' });
    expect(serverLog.entries[0]?.peer.instanceId).toBe(client.instanceId);
    expect(serverLog.entries[0]?.bytesWritten).toBeGreaterThanOrEqual(5);
    expect(lines[0]).toBe('echo incoming caller over tcp: open');
    expect(lines[1]).toMatch(/^echo incoming caller: closed after \d+ ms$/);
  });

  it('is refused at once when it is not a service plugin', () => {
    expect(() =>
      createSidecar({ name: 'x', registry: 'memory', plugins: [{ kind: 'wrapper' } as never] }),
    ).toThrow(/config\.plugins takes service plugins/);
  });
});
