import type { Socket } from 'node:net';
import { AbortError } from '@sidecar/core';
import { PillionStream } from '@sidecar/wrapper-pillion';
import { afterEach, describe, expect, it } from 'vitest';
import { socketPair } from './helpers.js';

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

describe('pillion calls sharing one AbortSignal', () => {
  it('50 pending calls on one signal print no MaxListenersExceededWarning, and all abort', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const [a, b] = await socketPair();
      sockets.push(a, b);
      b.resume(); // a peer that never answers
      const stream = new PillionStream(a, { remoteName: 'silent' });
      const controller = new AbortController();
      const calls = Array.from({ length: 50 }, (_, i) =>
        stream.call('never', i, { signal: controller.signal }).catch((e: unknown) => e),
      );
      await new Promise((resolve) => setImmediate(resolve));
      controller.abort();
      for (const result of await Promise.all(calls)) expect(result).toBeInstanceOf(AbortError);
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
