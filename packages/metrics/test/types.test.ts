import { createSidecar } from '@sidecar/core';
import { type PillionStream, pillion } from '@sidecar/wrapper-pillion';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { metrics, type SidecarMetrics } from '../src/index.js';

describe('metrics() in the plugin list', () => {
  it('leaves the stream type of the chain alone and adds app.metrics', () => {
    const app = createSidecar({
      name: 'typed',
      registry: 'memory:types',
      wrappers: [pillion()],
      plugins: [metrics({ port: false })],
    });
    expectTypeOf(app.to('other')).toEqualTypeOf<PillionStream>();
    expectTypeOf(app.metrics).toEqualTypeOf<SidecarMetrics>();
    expectTypeOf(app.call).toBeFunction();
    expect(app.metrics.url).toBeUndefined();
  });
});
