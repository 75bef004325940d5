import { afterEach, describe, expect, it } from 'vitest';
import { server, started, stopAll } from './dial-helpers.js';

describe('one AbortSignal shared by many operations', () => {
  afterEach(stopAll);

  it('50 concurrent connects, lookups and waits on one signal print no MaxListenersExceededWarning', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      const srv = await server((port) => [{ transport: 'memory', host: 'memory', port }]);
      srv.app.on('stream', () => {});
      const caller = await started('caller', { register: false, connectTimeout: 300 });
      const { signal } = new AbortController();
      const ops: Promise<unknown>[] = [];
      for (let i = 0; i < 50; i++) {
        ops.push(caller.connect('server', { signal }).then((s) => s.destroy()));
        ops.push(caller.connect('nobody-here', { signal }).catch(() => {}));
        ops.push(caller.peers('*', { signal }));
      }
      await Promise.all(ops);
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
