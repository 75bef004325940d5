/**
 * How an app tests itself without any server: the same code, with `registry: 'memory'` and
 * `transports: ['memory']`. Nothing leaves the process; each test gets its own store.
 */
import { randomUUID } from 'node:crypto';
import { createSidecar, PeerNotFoundError } from '@sidecar/core';
import { describe, expect, it } from 'vitest';
import { greet, startGreeter } from './greeter.js';

function memory() {
  return { registry: `memory:${randomUUID()}`, transports: ['memory'] } as const;
}

describe('greeter app, tested on the memory adapters', () => {
  it('greets by name', async () => {
    const adapters = memory();
    await using greeter = await startGreeter(adapters);
    await using client = createSidecar({ name: 'test-client', ...adapters });
    await client.start();
    expect(greeter.state).toBe('started');
    expect(await greet(client, 'bob')).toBe('hi there, bob');
  });

  it('fails fast with a typed error when the greeter is not running', async () => {
    await using client = createSidecar({ name: 'test-client', ...memory(), connectTimeout: 100 });
    await client.start();
    await expect(greet(client, 'bob')).rejects.toBeInstanceOf(PeerNotFoundError);
  });
});
