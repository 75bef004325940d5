import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AggregationTemporality, MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { createSidecar } from '@sidecar/core';
import { tcp } from '@sidecar/transport-tcp';
import { pillion } from '@sidecar/wrapper-pillion';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS, metrics } from '../src/index.js';

/** A reader the test collects from on demand (the SDK's own pull path). */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE });
  }
  protected async onForceFlush(): Promise<void> {}
  protected async onShutdown(): Promise<void> {}
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sidecar-otel-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('metrics through the OpenTelemetry SDK', () => {
  it('records the same figures with OTel names, units and attributes', async () => {
    const registry = `sqlite:${join(dir, 'registry.db')}` as const;
    const reader = new TestReader();
    const provider = new MeterProvider({ readers: [reader] });
    const server = createSidecar({
      name: 'otel-server',
      registry,
      transports: [tcp()],
      wrappers: [pillion()],
      plugins: [metrics({ otel: provider, prometheus: false })],
    });
    const client = createSidecar({
      name: 'otel-client',
      registry,
      transports: [tcp()],
      wrappers: [pillion()],
    });
    await server.start();
    await client.start();
    try {
      server.to('*').provide('echo', (text: string, cb: (reply: string) => void) => cb(text));
      const stream = client.to('otel-server');
      for (let i = 0; i < 4; i++) expect(await stream.call('echo', `hi ${i}`)).toBe(`hi ${i}`);
      // Prometheus off: no server, nothing advertised, no text.
      expect(server.metrics.url).toBeUndefined();
      expect(await server.metrics.text()).toBe('');

      const { resourceMetrics, errors } = await reader.collect();
      expect(errors).toEqual([]);
      const all = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics);
      const byName = new Map(all.map((m) => [m.descriptor.name, m]));
      const served = byName.get(METRICS.rpcServer.otel);
      expect(served?.descriptor.unit).toBe('s');
      const point = served?.dataPoints.find((p) => p.attributes['rpc.method'] === 'echo');
      expect(point?.attributes['rpc.system']).toBe('pillion');
      expect((point?.value as { count: number }).count).toBe(4);
      const opened = byName.get(METRICS.streamsOpened.otel);
      expect(opened?.dataPoints.find((p) => p.attributes.direction === 'incoming')?.value).toBe(1);
      const active = byName.get(METRICS.streamsActive.otel);
      expect(active?.dataPoints.find((p) => p.attributes.transport === 'tcp')?.value).toBe(1);
      const known = byName.get(METRICS.peersKnown.otel);
      expect(known?.dataPoints.find((p) => p.attributes['peer.name'] === 'otel-client')?.value).toBe(1);
    } finally {
      await client.stop();
      await server.stop();
      await provider.shutdown();
    }
  });
});
