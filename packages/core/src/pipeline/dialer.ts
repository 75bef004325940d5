import type { Duplex } from 'node:stream';
import type { DependencyContainer } from 'tsyringe';
import type { ResolvedConfig } from '../config/resolve-config.js';
import {
  CLOCK,
  CONFIG,
  LIFECYCLE,
  LOGGER,
  REGISTRY,
  resolve,
  SELF,
  STREAMS,
  TRANSPORTS,
} from '../container/tokens.js';
import type { Clock, Logger } from '../contracts/services.js';
import { publishStreamOpen } from '../diagnostics.js';
import type { Lifecycle } from '../lifecycle/lifecycle.js';
import type { InstanceRecord, PeerInfo } from '../records.js';
import type { PeerGroup } from '../sidecar/group.js';
import { type Connection, Connector } from './connector.js';
import { typeConnectionErrors } from './handshake.js';
import { LazyStream } from './lazy-stream.js';
import { StandbyPool } from './standby-pool.js';
import type { Streams } from './streams.js';

/** Options of one `connect()`. */
export interface ConnectOptions {
  /** Cancels the attempt. */
  signal?: AbortSignal | undefined;
  /** How long to wait for the name to appear and answer, in ms. @default config.connectTimeout */
  timeout?: number | undefined;
}

/** What the `DIALER` token holds: the outgoing path. Replace it (in tests) with any object of this shape. */
export interface Dialer {
  /** A wrapped stream to `name`, returned at once and connected on first use (`to(name)`). */
  open(name: string): Duplex;
  /** Resolves with a connected, wrapped stream to `name`, or rejects with a typed error. */
  connect(name: string, options?: ConnectOptions): Promise<Duplex>;
  /** Opens a stream to every live instance matching the group's pattern that it has none with yet. */
  connectAll(group: PeerGroup<Duplex>, options?: { signal?: AbortSignal }): Promise<Duplex[]>;
  /** Lets go of what it holds between streams (the sidecar stops). */
  close(): void;
}

/**
 * The outgoing path, one for `to()`, `connect()` and groups: name (or record) -> instance ->
 * transport -> dial -> handshake (the Connector) -> wrap -> dispatch (Streams).
 */
export class DefaultDialer implements Dialer {
  readonly #container: DependencyContainer;
  readonly #config: ResolvedConfig;
  readonly #self: PeerInfo;
  readonly #clock: Clock;
  readonly #logger: Logger;
  readonly #streams: Streams;
  readonly #lifecycle: Lifecycle;
  #made: Connector | undefined;
  #pool: StandbyPool | undefined;

  constructor(container: DependencyContainer) {
    this.#container = container;
    this.#config = resolve(container, CONFIG);
    this.#self = resolve(container, SELF);
    this.#clock = resolve(container, CLOCK);
    this.#logger = resolve(container, LOGGER);
    this.#streams = resolve(container, STREAMS);
    this.#lifecycle = resolve(container, LIFECYCLE);
  }

  /** A wrapped stream to `name`, returned at once and connected on first use (`to(name)`). */
  open(name: string): Duplex {
    let transport: string | undefined;
    const lazy = new LazyStream(async (signal) => {
      const connection = await this.#dial(name, { signal });
      transport = connection.transport;
      return connection;
    });
    this.#streams.track(lazy);
    return this.#streams.deliver(lazy, this.#context(name, lazy.connected), () => transport);
  }

  /** Resolves with a connected, wrapped stream to `name`, or rejects with a typed error. */
  async connect(name: string, options: ConnectOptions = {}): Promise<Duplex> {
    const { socket, peer, transport } = await this.#dial(name, options);
    return this.#streams.deliver(
      socket,
      { ...this.#context(name, Promise.resolve(peer)), peer },
      () => transport,
    );
  }

  /** Opens a stream to every live instance matching the group's pattern that it has none with yet. */
  async connectAll(group: PeerGroup<Duplex>, options: { signal?: AbortSignal } = {}): Promise<Duplex[]> {
    await this.#lifecycle.ready(options.signal);
    const registry = resolve(this.#container, REGISTRY);
    const records = await registry.list(group.pattern, options);
    const fresh = records.filter((r) => r.instanceId !== this.#self.instanceId && !group.has(r.instanceId));
    const opened: Duplex[] = [];
    await Promise.all(
      fresh.map(async (record) => {
        try {
          const { socket, peer, transport } = await this.#dialInstance(record, options.signal);
          const context = { ...this.#context(record.name, Promise.resolve(peer)), peer };
          opened.push(this.#streams.deliver(socket, context, () => transport));
        } catch (err) {
          this.#logger.warn(err);
        }
      }),
    );
    return opened;
  }

  async #dial(name: string, options: ConnectOptions): Promise<Connection> {
    await this.#lifecycle.ready(options.signal);
    const started = this.#clock.now();
    const deadline = started + (options.timeout ?? this.#config.connectTimeout);
    const limits = { deadline, signal: options.signal };
    return this.#opened(name, await this.#connector().connect(name, limits, started));
  }

  async #dialInstance(record: InstanceRecord, signal: AbortSignal | undefined): Promise<Connection> {
    const deadline = this.#clock.now() + this.#config.connectTimeout;
    return this.#opened(record.name, await this.#connector().connectInstance(record, { deadline, signal }));
  }

  /** A connection that said hello: counted, its errors typed, announced to diagnostics. */
  #opened(name: string, connection: Connection): Connection {
    this.#streams.track(connection.socket);
    typeConnectionErrors(connection.socket, name);
    publishStreamOpen(this.#self.instanceId, connection.socket, 'outgoing', connection.transport);
    return connection;
  }

  #context(name: string, connected: Promise<PeerInfo>) {
    return { direction: 'outgoing' as const, local: this.#self, remoteName: name, connected };
  }

  /** Closes the standby connections (the sidecar stops); a later dial opens new ones. */
  close(): void {
    this.#pool?.close();
    this.#pool = undefined;
    this.#made = undefined;
  }

  /** Made at the first dial, after start() loaded the registry and transport plugins. */
  #connector(): Connector {
    if (this.#made) return this.#made;
    const pool: StandbyPool | undefined =
      this.#config.standby > 0
        ? new StandbyPool(this.#config.standby, (record): Promise<Connection> => {
            const deadline = this.#clock.now() + this.#config.dialTimeout;
            return connector.connectInstance(record, { deadline }, true);
          })
        : undefined;
    this.#pool = pool;
    const connector: Connector = new Connector({
      registry: resolve(this.#container, REGISTRY),
      transports: [...resolve(this.#container, TRANSPORTS)],
      local: this.#self,
      strategy: this.#config.strategy,
      dialTimeout: this.#config.dialTimeout,
      dialPolicy: this.#config.dialPolicy,
      endpointStagger: this.#config.endpointStagger,
      now: () => this.#clock.now(),
      standby: pool,
    });
    this.#made = connector;
    return connector;
  }
}
