import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { MetricsListenError } from './errors.js';

/** Where a `/metrics` server listens. */
export interface MetricsAddress {
  host: string;
  port: number;
}

/**
 * A small HTTP server answering `GET <path>` with the Prometheus text and 404 otherwise.
 * Idempotent start/stop; it never keeps the process alive.
 */
export class MetricsServer {
  #server: Server | undefined;
  #starting: Promise<MetricsAddress> | undefined;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly path: string,
    private readonly render: () => Promise<{ contentType: string; body: string }>,
  ) {}

  /** Listens (once) and resolves with the bound address. */
  start(): Promise<MetricsAddress> {
    this.#starting ??= new Promise<MetricsAddress>((resolve, reject) => {
      const server = createServer((req, res) => {
        const path = (req.url ?? '/').split('?')[0];
        if ((req.method !== 'GET' && req.method !== 'HEAD') || path !== this.path) {
          res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
          return;
        }
        this.render().then(
          ({ contentType, body }) => res.writeHead(200, { 'content-type': contentType }).end(body),
          (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
        );
      });
      server.once('error', (err) => {
        this.#starting = undefined;
        reject(
          new MetricsListenError(`cannot serve metrics on ${this.host}:${this.port}: ${err.message}`, {
            cause: err,
          }),
        );
      });
      server.listen(this.port, this.host, () => {
        server.unref();
        this.#server = server;
        const a = server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
    return this.#starting;
  }

  /** Closes the server and its connections. */
  async stop(): Promise<void> {
    const starting = this.#starting;
    this.#starting = undefined;
    await starting?.catch(() => undefined);
    const server = this.#server;
    this.#server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
