/**
 * A sidecar forwards the registry's changes as events only for the kinds the app listens to, so a
 * peer that never asks for `join` does not handle every join in the namespace.
 */
import type { PeerInfo } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { started, stopAll } from './dial-helpers.js';

afterEach(stopAll);

describe('peer events on demand', () => {
  it('forwards nothing nobody listens to, and starts forwarding when a listener comes', async () => {
    const quiet = await started('quiet');
    const registry = quiet.registry as unknown as { listenerCount(event: string): number };
    expect(registry.listenerCount('join')).toBe(0);
    expect(registry.listenerCount('leave')).toBe(0);
    const joined: PeerInfo[] = [];
    quiet.on('join', (peer) => joined.push(peer)); // added after start()
    expect(registry.listenerCount('join')).toBe(1);
    expect(registry.listenerCount('leave')).toBe(0);
    const other = await started('other');
    await eventually(() => expect(joined.map((p) => p.instanceId)).toContain(other.instanceId));
  });
});
