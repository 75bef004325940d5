import type { Duplex } from 'node:stream';
import { createNoopMeter, metrics as otelMetrics } from '@opentelemetry/api';
import type { Sidecar, StreamWrapper, WrapperPlugin } from '@sidecar/core';
import { collectDefaultMetrics, Registry as PromRegistry } from 'prom-client';
import { SidecarCollector } from './collector.js';
import { Instruments } from './instruments.js';
import { METRICS_METADATA_KEY, type MetricsOptions, resolveMetricsOptions } from './options.js';
import { MetricsServer } from './server.js';

/** What `metrics()` adds to the sidecar, as `app.metrics`. */
export interface SidecarMetrics {
  /** The prom-client registry holding this sidecar's metrics (undefined when Prometheus is off). */
  readonly registry: PromRegistry | undefined;
  /** The URL of the `/metrics` server once it listens, e.g. `http://127.0.0.1:9464/metrics`. */
  readonly url: string | undefined;
  /** The Prometheus text, as the server would answer. */
  text(): Promise<string>;
}

/** The plugin `metrics()` returns; it adds `app.metrics`. */
export type MetricsPlugin = WrapperPlugin<never, object, { metrics: SidecarMetrics }>;

const UNSPECIFIED = new Set(['0.0.0.0', '::', '']);
const NOOP_METER_CLASS = createNoopMeter().constructor;

/**
 * Metrics for a sidecar, opt-in: add it to `wrappers`, after the RPC wrapper so it also counts
 * pending callbacks. It records streams, connects, dial failures, hello refusals, registry
 * operations, heartbeats, known peers and pillion calls, through prom-client and the
 * OpenTelemetry metrics API, and serves `/metrics` on loopback, advertised in the record's
 * metadata (`metadata.metrics = { port, path, host? }`) for `sidecar metrics-sd`.
 *
 * @example
 * ```ts
 * import { createSidecar } from '@sidecar/core';
 * import { metrics } from '@sidecar/metrics';
 * import { pillion } from '@sidecar/wrapper-pillion';
 *
 * const app = createSidecar({ name: 'billing', wrappers: [pillion(), metrics({ port: 9464 })] });
 * await app.start();
 * console.log(app.metrics.url); // http://127.0.0.1:9464/metrics
 * ```
 */
export function metrics(options: MetricsOptions = {}): MetricsPlugin {
  const resolved = resolveMetricsOptions(options);
  /** The collector of each sidecar this plugin was given to, by instance id (wrappers name it in their context). */
  const collectors = new Map<string, SidecarCollector>();
  return {
    kind: 'wrapper',
    name: 'metrics',
    // Only the pending-callback gauge needs to see streams; every stream passes through unchanged.
    create: () =>
      ((stream, context) => {
        collectors.get(context.local.instanceId)?.track(stream);
        return stream;
      }) as StreamWrapper<Duplex, never>,
    extendSidecar(sidecar) {
      const prom =
        resolved.prometheus === true
          ? new PromRegistry()
          : resolved.prometheus === false
            ? undefined
            : resolved.prometheus;
      if (prom && resolved.processMetrics) collectDefaultMetrics({ register: prom });
      const provider = resolved.otel === true ? otelMetrics.getMeterProvider() : resolved.otel || undefined;
      // Without an SDK the global provider's meter is a no-op for good (the metrics API has no proxy
      // that a later SDK would fill in): skip it rather than call it on every recording.
      const found = provider?.getMeter('@sidecar/metrics', '0.1.0');
      const meter = found && found.constructor !== NOOP_METER_CLASS ? found : undefined;
      const collector = new SidecarCollector(sidecar as unknown as Sidecar, new Instruments(prom, meter));
      collectors.set(sidecar.instanceId, collector);
      collector.start();
      const render = async () => ({
        contentType: prom?.contentType ?? 'text/plain',
        body: prom ? await prom.metrics() : '',
      });
      let url: string | undefined;
      const server =
        prom && resolved.port !== false
          ? new MetricsServer(resolved.host, resolved.port, resolved.path, render)
          : undefined;
      const serve = () => {
        server?.start().then(
          (address) => {
            const host = address.host.includes(':') ? `[${address.host}]` : address.host;
            url = `http://${host}:${address.port}${resolved.path}`;
            const advertised = {
              port: address.port,
              path: resolved.path,
              ...(UNSPECIFIED.has(address.host) ? {} : { host: address.host }),
            };
            void sidecar.updateRecord({
              metadata: { ...sidecar.record.metadata, [METRICS_METADATA_KEY]: advertised },
            });
          },
          (err: Error) => sidecar.emit('warning', err as never),
        );
      };
      serve();
      sidecar.on('started', serve);
      sidecar.on('started', () => collectors.set(sidecar.instanceId, collector));
      sidecar.on('stopped', () => {
        collectors.delete(sidecar.instanceId);
        url = undefined;
        void server?.stop();
      });
      const extension: SidecarMetrics = {
        registry: prom,
        get url() {
          return url;
        },
        text: async () => (await render()).body,
      };
      return { metrics: extension };
    },
  };
}
