import { readFile } from 'node:fs/promises';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type InstanceRecord, openRegistry, type Registry, validatePattern } from '@sidecar/core';
import { type GlobalOptions, openArgs, untilInterrupted } from '../options.js';
import { type ChangeView, DashboardState } from './dashboard-state.js';

/** Default port of `sidecar dashboard`. */
export const DEFAULT_DASHBOARD_PORT = 9466;
/** Default address `sidecar dashboard` binds to: loopback only. */
export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
/** Default interval between registry reads (and pushes to the page), in ms. */
export const DEFAULT_DASHBOARD_INTERVAL = 1000;
/** Interval between scrapes of the peers' `/metrics`, in ms. */
export const DASHBOARD_SCRAPE_INTERVAL = 2000;

/** Options of `sidecar dashboard`. */
export interface DashboardOptions extends GlobalOptions {
  /** Port to serve the page on (0: any free one). @default 9466 */
  port?: number;
  /** Address to bind. @default '127.0.0.1' */
  host?: string;
  /** Interval between registry reads, in ms. @default 1000 */
  interval?: number;
}

/** The page's files, shipped in the package (`dashboard/`), by URL path. */
const ASSETS: { [path: string]: [file: string, type: string] } = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
};
const ASSET_DIR = new URL('../../dashboard/', import.meta.url);
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'",
  'x-content-type-options': 'nosniff',
  'cache-control': 'no-store',
};

/** A running dashboard: its URL and its stop function. */
export interface RunningDashboard {
  url: string;
  stop(): Promise<void>;
}

/** Serves the dashboard of `registry` (already started) until `stop()`. */
export async function serveDashboard(
  registry: Registry,
  pattern: string,
  options: { port?: number; host?: string; interval?: number; label?: string } = {},
): Promise<RunningDashboard> {
  const state = new DashboardState(registry, pattern);
  const clients = new Set<ServerResponse>();
  const send = (event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    for (const res of clients) res.write(frame);
  };
  const snapshot = () => ({
    namespace: registry.namespace,
    registry: options.label ?? '',
    pattern,
    now: Date.now(),
    peers: state.view(),
  });
  for (const type of ['join', 'update', 'leave', 'timeout'] as const) {
    registry.on(type, (record: InstanceRecord) => {
      const change: ChangeView = state.change(type, record);
      send('change', change);
      send('snapshot', snapshot());
    });
  }
  await registry.watch();
  await state.refresh().catch(() => undefined);
  let busy = false;
  const tick = setInterval(() => {
    if (busy) return;
    busy = true;
    state
      .refresh()
      .then(() => send('snapshot', snapshot()))
      .catch((err: unknown) => send('problem', { message: `registry: ${(err as Error).message}` }))
      .finally(() => {
        busy = false;
      });
  }, options.interval ?? DEFAULT_DASHBOARD_INTERVAL);
  const scraper = setInterval(() => void state.scrapeAll(), DASHBOARD_SCRAPE_INTERVAL);
  void state.scrapeAll();

  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0] as string;
    if (req.method !== 'GET') {
      res.writeHead(405, { allow: 'GET' }).end();
      return;
    }
    if (path === '/events') {
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        ...SECURITY_HEADERS,
        connection: 'keep-alive',
      });
      res.write(`event: log\ndata: ${JSON.stringify(state.log)}\n\n`);
      res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot())}\n\n`);
      clients.add(res);
      req.once('close', () => clients.delete(res));
      return;
    }
    if (path === '/api/state') {
      res
        .writeHead(200, { 'content-type': 'application/json', ...SECURITY_HEADERS })
        .end(JSON.stringify(snapshot()));
      return;
    }
    const asset = ASSETS[path];
    if (!asset) {
      res.writeHead(404, { 'content-type': 'text/plain', ...SECURITY_HEADERS }).end('not found\n');
      return;
    }
    readFile(new URL(asset[0], ASSET_DIR)).then(
      (body) => res.writeHead(200, { 'content-type': asset[1], ...SECURITY_HEADERS }).end(body),
      () => res.writeHead(500, { 'content-type': 'text/plain' }).end('dashboard assets missing\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? DEFAULT_DASHBOARD_PORT, options.host ?? DEFAULT_DASHBOARD_HOST, () =>
      resolve(),
    );
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address.includes(':') ? `[${address}]` : address}:${port}/`,
    async stop() {
      clearInterval(tick);
      clearInterval(scraper);
      for (const res of clients) res.end();
      clients.clear();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await registry.unwatch();
    },
  };
}

/** `sidecar dashboard [pattern]`: a live web page of the peers of one registry and namespace. */
export async function dashboard(pattern: string, options: DashboardOptions): Promise<void> {
  validatePattern(pattern);
  const registry = await openRegistry(...openArgs(options));
  try {
    const running = await serveDashboard(registry, pattern, {
      ...(options.port !== undefined ? { port: options.port } : {}),
      ...(options.host !== undefined ? { host: options.host } : {}),
      ...(options.interval !== undefined ? { interval: options.interval } : {}),
      label: registry.constructor.name,
    });
    process.stderr.write(
      `dashboard of namespace "${registry.namespace}" on ${running.url} (Ctrl-C to stop)\n`,
    );
    await untilInterrupted();
    await running.stop();
  } finally {
    await registry.stop();
  }
}
