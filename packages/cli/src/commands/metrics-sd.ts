import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchName, openRegistry, type Registry, validatePattern } from '@sidecar/core';
import { type GlobalOptions, openArgs, untilInterrupted } from '../options.js';
import { metricsTargetOf } from './metrics-target.js';

/** Default port of `sidecar metrics-sd`. */
export const DEFAULT_METRICS_SD_PORT = 9465;
/** Default address `sidecar metrics-sd` binds to. */
export const DEFAULT_METRICS_SD_HOST = '127.0.0.1';

/** Options of `sidecar metrics-sd`. */
export interface MetricsSdOptions extends GlobalOptions {
  /** Port to serve on (0: any free one). @default 9465 */
  port?: number;
  /** Address to bind. @default '127.0.0.1' */
  host?: string;
  /** Print the target groups once as JSON and exit (for `file_sd_configs`). @default false */
  once?: boolean;
}

/** One Prometheus HTTP service-discovery target group. */
export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** The target groups of every live peer matching `pattern` that advertises a metrics endpoint. */
export async function targetGroups(registry: Registry, pattern = '*'): Promise<TargetGroup[]> {
  const records = await registry.list(pattern);
  const groups: TargetGroup[] = [];
  for (const record of records) {
    if (!matchName(pattern, record.name)) continue;
    const target = metricsTargetOf(record);
    if (!target) continue;
    groups.push({
      targets: [target.address],
      labels: {
        __metrics_path__: target.path,
        sidecar_name: record.name,
        sidecar_instance: record.instanceId,
        sidecar_namespace: record.namespace,
      },
    });
  }
  return groups.sort((a, b) =>
    (a.labels.sidecar_instance as string).localeCompare(b.labels.sidecar_instance as string),
  );
}

/** Serves `targetGroups` as JSON on every GET (fresh from the registry each time). */
export function serveTargets(
  registry: Registry,
  pattern: string,
  port: number,
  host: string,
): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    targetGroups(registry, pattern).then(
      (groups) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(groups)),
      (err: unknown) =>
        res
          .writeHead(503, { 'content-type': 'text/plain' })
          .end(`registry unavailable: ${(err as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

/** `sidecar metrics-sd [pattern]`: Prometheus HTTP service discovery from the registry. */
export async function metricsSd(pattern: string, options: MetricsSdOptions): Promise<void> {
  validatePattern(pattern);
  const registry = await openRegistry(...openArgs(options));
  try {
    if (options.once) {
      process.stdout.write(`${JSON.stringify(await targetGroups(registry, pattern), null, 2)}\n`);
      return;
    }
    const server = await serveTargets(
      registry,
      pattern,
      options.port ?? DEFAULT_METRICS_SD_PORT,
      options.host ?? DEFAULT_METRICS_SD_HOST,
    );
    const { address, port } = server.address() as AddressInfo;
    const shown = address.includes(':') ? `[${address}]` : address;
    process.stderr.write(
      `serving Prometheus http_sd targets of namespace "${registry.namespace}" on http://${shown}:${port}/ (Ctrl-C to stop)\n`,
    );
    await untilInterrupted();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  } finally {
    await registry.stop();
  }
}

/** Parses a `--port` value: a whole number 0-65535 (0: any free port). */
export function portNumber(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new Error(`expected a port number 0-65535, got "${value}"`);
  return n;
}
