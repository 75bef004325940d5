import type { MeterProvider } from '@opentelemetry/api';
import type { Registry as PromRegistry } from 'prom-client';

/** Default address the `/metrics` server binds to: loopback only. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';
/** Default port of the `/metrics` server: `0` picks a free one (it is advertised in the record). */
export const DEFAULT_METRICS_PORT = 0;
/** Default HTTP path of the Prometheus text. */
export const DEFAULT_METRICS_PATH = '/metrics';
/** The key of the peer's record metadata that advertises its `/metrics` endpoint. */
export const METRICS_METADATA_KEY = 'metrics';
/** Most distinct peer names reported by `sidecar_peers_known` (the rest are summed under `*other*`). */
export const MAX_KNOWN_NAMES = 1000;

/** Options of `metrics()`. */
export interface MetricsOptions {
  /**
   * Port of the HTTP server serving the Prometheus text on `path`, advertised in the record's
   * metadata (`metadata.metrics`). `false` serves nothing (use `app.metrics.text()` or OTel).
   * @default 0 (a free port)
   */
  port?: number | false;
  /** Address the server binds to. `'0.0.0.0'` exposes it to the network. @default '127.0.0.1' */
  host?: string;
  /** HTTP path of the Prometheus text. @default '/metrics' */
  path?: string;
  /**
   * Prometheus: `true` makes a registry of its own, a prom-client `Registry` adds the metrics to
   * that one, `false` turns Prometheus off (and the server with it).
   * @default true
   */
  prometheus?: boolean | PromRegistry;
  /**
   * OpenTelemetry: `true` records through the global MeterProvider (`@opentelemetry/api`; a no-op
   * until an SDK is registered), a `MeterProvider` records through that one, `false` turns it off.
   * @default true
   */
  otel?: boolean | MeterProvider;
  /** Also collect prom-client's default process metrics (CPU, memory, event loop). @default false */
  processMetrics?: boolean;
}

/** Options with every default applied. */
export interface ResolvedMetricsOptions {
  port: number | false;
  host: string;
  path: string;
  prometheus: boolean | PromRegistry;
  otel: boolean | MeterProvider;
  processMetrics: boolean;
}

/** Applies the defaults. */
export function resolveMetricsOptions(options: MetricsOptions): ResolvedMetricsOptions {
  const port = options.port ?? DEFAULT_METRICS_PORT;
  if (port !== false && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new RangeError(`metrics port must be an integer 0-65535 or false, got ${String(port)}`);
  }
  const path = options.path ?? DEFAULT_METRICS_PATH;
  if (!path.startsWith('/'))
    throw new RangeError(`metrics path must start with '/', got ${JSON.stringify(path)}`);
  return {
    port,
    host: options.host ?? DEFAULT_METRICS_HOST,
    path,
    prometheus: options.prometheus ?? true,
    otel: options.otel ?? true,
    processMetrics: options.processMetrics ?? false,
  };
}
