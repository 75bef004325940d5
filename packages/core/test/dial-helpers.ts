import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import {
  createSidecar,
  DialError,
  type DialOptions,
  type Endpoint,
  type IncomingConnection,
  type Listener,
  type ListenOptions,
  MemoryTransport,
  type Sidecar,
  type SidecarConfig,
  type SidecarError,
  type Transport,
  type TransportPlugin,
} from '@sidecar/core';
import { readAll } from '@sidecar/core/testing';

/** How the recording transport answers a dial to a host (every other host goes to the memory transport). */
export type Behaviour = 'unreachable' | 'refused' | 'silent';

/**
 * A caller-side transport that records every endpoint it is asked to dial, fails some hosts the
 * way a kernel would (ENETUNREACH at once, ECONNREFUSED at once, or a SYN never answered), and
 * hands the rest to the in-memory transport. Nothing leaves the process.
 */
export class RecordingTransport implements Transport {
  readonly dialed: Endpoint[] = [];
  readonly #memory = new MemoryTransport();
  constructor(
    readonly name: string,
    readonly behaviour: Record<string, Behaviour> = {},
  ) {}

  listen(onConnection: (c: IncomingConnection) => void, options: ListenOptions): Promise<Listener> {
    return this.#memory.listen(onConnection, options);
  }

  async dial(endpoint: Endpoint, options: DialOptions): Promise<Duplex> {
    this.dialed.push(endpoint);
    const how = this.behaviour[endpoint.host];
    if (how === 'silent') {
      return new Promise((_, reject) =>
        options.signal?.addEventListener('abort', () => reject(options.signal?.reason), { once: true }),
      );
    }
    if (how) {
      const code = how === 'unreachable' ? 'ENETUNREACH' : 'ECONNREFUSED';
      const cause = Object.assign(new Error(`connect ${code} ${endpoint.host}:${endpoint.port}`), { code });
      throw new DialError(
        `cannot connect to ${endpoint.host}:${endpoint.port} (${this.name}): ${cause.message}`,
        {
          cause,
        },
      );
    }
    return this.#memory.dial({ ...endpoint, transport: 'memory' }, options);
  }
}

export function plugin(transport: Transport): TransportPlugin {
  return {
    kind: 'transport',
    name: transport.name,
    create: () => transport,
  };
}

const running: Sidecar[] = [];
let store = randomBytes(4).toString('hex');

/** Stops every sidecar a test started and moves to a fresh in-memory registry store. */
export async function stopAll(): Promise<void> {
  await Promise.all(running.splice(0).map((app) => app.stop()));
  store = randomBytes(4).toString('hex');
}

/** The memory registry every sidecar of the current test shares. */
export function storeUrl(): `memory:${string}` {
  return `memory:${store}`;
}

export async function started(name: string, extra: Partial<SidecarConfig> = {}): Promise<Sidecar> {
  const app = createSidecar({
    name,
    registry: `memory:${store}`,
    transports: ['memory'],
    connectTimeout: 1500,
    // These tests count dials: a standby connection would add one per instance, whatever the default.
    standby: 0,
    ...extra,
  });
  running.push(app);
  await app.start();
  return app;
}

/** An echo server whose record advertises `endpoints` (its real memory port is `memory:PORT`). */
export async function server(endpoints: (port: number) => Endpoint[], extra: Partial<SidecarConfig> = {}) {
  const app = await started('server', extra);
  const warnings: SidecarError[] = [];
  app.on('warning', (e) => warnings.push(e));
  app.on('stream', (stream) => stream.pipe(stream));
  const port = app.record.endpoints[0]?.port as number;
  await app.updateRecord({ endpoints: endpoints(port) });
  return { app, port, warnings };
}

export async function roundTrip(caller: Sidecar, text: string): Promise<string> {
  const stream = await caller.connect('server');
  stream.end(text);
  return (await readAll(stream)).toString();
}
