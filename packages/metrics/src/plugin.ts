import { createNoopMeter, metrics as otelMetrics } from '@opentelemetry/api';
import type { ServicePlugin } from '@sidecar/core';
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

/** The plugin `metrics()` returns: a service plugin that adds `app.metrics`. */
export type MetricsPlugin = ServicePlugin<{ metrics: SidecarMetrics }>;

const UNSPECIFIED = new Set(['0.0.0.0', '::', '']);
const NOOP_METER_CLASS = createNoopMeter().constructor;

/**
 * Metrics for a sidecar, opt-in: add it to `plugins`. A service plugin: it resolves the sidecar's
 * identity, event bus and lifecycle from the sidecar's container. It records streams, connects, dial failures, hello refusals, registry
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
 * const app = createSidecar({ name: 'billing', wrappers: [pillion()], plugins: [metrics({ port: 9464 })] });
 * await app.start();
 * console.log(app.metrics.url); // http://127.0.0.1:9464/metrics
 * ```
 */
export function metrics(options: MetricsOptions = {}): MetricsPlugin {
  const resolved = resolveMetricsOptions(options);
  /** The instruments install() made for the sidecar extendSidecar() is called with next. */
  let installed: { prom: PromRegistry | undefined } | undefined;
  return {
    kind: 'service',
    name: 'metrics',
    install(container) {
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
      new SidecarCollector(container, new Instruments(prom, meter)).start();
      installed = { prom };
    },
    extendSidecar(sidecar) {
      const prom = installed?.prom;
      installed = undefined;
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
      sidecar.on('stopped', () => {
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
