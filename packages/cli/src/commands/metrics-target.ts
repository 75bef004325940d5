import { isIP } from 'node:net';
import type { InstanceRecord } from '@sidecar/core';

/** Where a peer serves its Prometheus text, as read (and checked) from its record. */
export interface MetricsTarget {
  host: string;
  port: number;
  path: string;
  /** `host:port`, IPv6 in brackets: the form Prometheus wants in `targets`. */
  address: string;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*$/;
const PATH = /^\/[A-Za-z0-9/_.~-]{0,255}$/;
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function isHost(value: unknown): value is string {
  return typeof value === 'string' && (isIP(value) !== 0 || HOSTNAME.test(value));
}

/**
 * The metrics endpoint a record advertises in `metadata.metrics` (`{ port, path, host? }`, set by
 * `@sidecar/metrics`), or undefined when it advertises none or something malformed. A record is
 * written by the peer itself, so the host must be one the record already advertises as an
 * endpoint (or loopback): a hostile record cannot point scrapers at some other machine.
 */
export function metricsTargetOf(record: InstanceRecord): MetricsTarget | undefined {
  const m = record.metadata?.metrics;
  if (!m || typeof m !== 'object' || Array.isArray(m)) return undefined;
  const { port, path = '/metrics', host } = m as { port?: unknown; path?: unknown; host?: unknown };
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return undefined;
  if (typeof path !== 'string' || !PATH.test(path)) return undefined;
  const endpointHosts = new Set(record.endpoints.map((e) => e.host));
  const chosen = host === undefined ? record.endpoints[0]?.host : host;
  if (!isHost(chosen)) return undefined;
  if (!LOOPBACK.has(chosen) && !endpointHosts.has(chosen)) return undefined;
  const address = isIP(chosen) === 6 ? `[${chosen}]:${port}` : `${chosen}:${port}`;
  return { host: chosen, port, path, address };
}
