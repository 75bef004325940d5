import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { type DependencyContainer, container as rootContainer } from 'tsyringe';
import type { PluginContext, WrapperPlugin } from '../contracts/plugin.js';
import type { RecordInput, Registry, RegistryCallOptions } from '../contracts/registry.js';
import type { IncomingConnection, Listener, Transport } from '../contracts/transport.js';
import type { StreamWrapper, WrapperContext } from '../contracts/wrapper.js';
import { publishIncomingFailure, publishStreamOpen } from '../diagnostics.js';
import {
  InternalError,
  InvalidConfigError,
  isSidecarError,
  NotStartedError,
  type SidecarError,
} from '../errors.js';
import { isPattern, matchName, validateName, validateNamespace, validatePattern } from '../names.js';
import { type Endpoint, type InstanceRecord, type JsonValue, type PeerInfo, peerInfoOf } from '../records.js';
import { REGISTRY, resolveAllTokens, resolveToken, TRANSPORT, WRAPPER } from '../tokens.js';
import { delay, throwIfAborted } from '../util/abort.js';
import { Admission } from './admission.js';
import { loadRegistry, loadTransport, loadWrapper } from './builtins.js';
import {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_DIAL_TIMEOUT,
  DEFAULT_HELLO_TIMEOUT,
  DEFAULT_MAX_INCOMING_CONNECTIONS,
  DEFAULT_MAX_PENDING_HELLOS,
  DEFAULT_MAX_PENDING_HELLOS_PER_ADDRESS,
  DEFAULT_REGISTRY,
  DEFAULT_START_TIMEOUT,
  DEFAULT_TRANSPORTS,
  DEFAULT_TTL,
  type SidecarConfig,
} from './config.js';
import { type Connection, Connector } from './connector.js';
import { type GroupOf, PeerGroup } from './group.js';
import { Heartbeat } from './heartbeat.js';
import { acceptHello } from './incoming.js';
import { LazyStream } from './lazy-stream.js';
import { type StopOnSignalsOptions, stopOnSignals } from './signals.js';
import { typeSocketErrors } from './typed-errors.js';

/** Typed events of a Sidecar. */
export interface SidecarEvents<S> {
  /** Another peer opened a stream to this one. */
  stream: [stream: S, peer: PeerInfo];
  /** A peer of the namespace started (needs `events`, the default). */
  join: [peer: PeerInfo];
  /** A peer changed its record (endpoints, methods, metadata). */
  update: [peer: PeerInfo];
  /** A peer stopped gracefully. */
  leave: [peer: PeerInfo];
  /** A peer vanished without stopping; reported once across the network. */
  timeout: [peer: PeerInfo];
  /** Something non-fatal went wrong (garbage on a port, a malformed record, a retried heartbeat). */
  warning: [error: SidecarError];
  /** The sidecar is listening and registered. */
  started: [];
  /** The sidecar has deregistered and closed everything. */
  stopped: [];
}

/** Options of `connect()`. */
export interface ConnectOptions {
  /** Cancels the attempt. */
  signal?: AbortSignal;
  /** How long to wait for the name to appear and answer, in ms. @default config.connectTimeout (5000) */
  timeout?: number;
}

/** `to(name)` gives a stream; `to(pattern)` (with `*` or `?`) gives a group. */
export type ToResult<N extends string, S, G> = N extends `${string}${'*' | '?'}${string}` ? GroupOf<S, G> : S;

type State = 'stopped' | 'starting' | 'started' | 'stopping';

/** Options of `stop()`. */
export interface StopOptions {
  /**
   * How long open streams get to finish after this peer deregistered, in ms. New streams are
   * still accepted meanwhile (from callers whose cache still had this peer); whatever is open
   * when the time is up is closed.
   * @default 0
   */
  drain?: number;
}

const DRAIN_POLL_MS = 20;
const START_FIRST_BACKOFF = 100;
const START_MAX_BACKOFF = 2000;
const DRAIN_QUIET_MS = 150;

function noop(): void {}

/**
 * A peer: it registers its name, accepts streams, and opens streams to other peers by name.
 * Made by `createSidecar`; `S` is the stream type its wrappers produce, `G` what they add to groups.
 *
 * @example
 * ```ts
 * await using app = createSidecar({ name: 'billing' });
 * await app.start();
 * app.on('stream', (stream, peer) => stream.pipe(stream));   // an echo server
 * const reply = app.to('ledger');                            // a Duplex, connected on first use
 * reply.write('hello');
 * ```
 */
export class Sidecar<S extends Duplex = Duplex, G extends object = object> extends EventEmitter<
  SidecarEvents<S>
> {
  /** This peer's name. */
  readonly name: string;
  /** This peer's registry namespace. */
  readonly namespace: string;
  /** Random id of this instance, new for every Sidecar object. */
  readonly instanceId: string;
  /** The sidecar's own DI container (a child of tsyringe's root container). */
  readonly container: DependencyContainer;

  readonly #config: SidecarConfig;
  readonly #env: Readonly<Record<string, string | undefined>>;
  readonly #ttl: number;
  /** The configured wrappers, one slot per `config.wrappers` entry; a name until its plugin loads. */
  readonly #slots: Array<StreamWrapper[] | string>;
  /** Wrappers added with addStreamWrapper, after the configured ones. */
  readonly #extra: StreamWrapper[] = [];
  /** The full chain, cached until a wrapper is added or loaded. */
  #chain: StreamWrapper[] | undefined;
  readonly #wrapperPlugins: WrapperPlugin[] = [];
  readonly #groups = new Map<string, PeerGroup<S> & G>();
  readonly #open = new Set<Duplex>();
  #state: State = 'stopped';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #plugins: Promise<void> | undefined;
  #registry: Registry | undefined;
  #transports: Transport[] = [];
  #listeners: Listener[] = [];
  #heartbeat: Heartbeat | undefined;
  #connector: Connector | undefined;
  #registryHost: string | undefined;
  #cancelStart: AbortController | undefined;
  #retryingStart = false;
  #record: RecordInput;
  #recordUpdate: Promise<unknown> = Promise.resolve();
  readonly #forwarders: Array<[string, (...args: never[]) => void]> = [];
  readonly #admission: Admission;

  /** Use `createSidecar(config)`. */
  constructor(config: SidecarConfig) {
    super();
    this.name = validateName(config.name);
    this.#env = config.env ?? process.env;
    this.namespace = config.namespace ?? this.#env.SIDECAR_NAMESPACE ?? 'default';
    try {
      validateNamespace(this.namespace);
    } catch (err) {
      throw new InvalidConfigError((err as Error).message, { cause: err });
    }
    this.instanceId = randomBytes(12).toString('base64url');
    this.#config = config;
    this.#ttl = positive(config.ttl, DEFAULT_TTL, 'ttl');
    for (const key of ['heartbeatInterval', 'connectTimeout', 'dialTimeout', 'helloTimeout'] as const) {
      if (config[key] !== undefined) positive(config[key], 1, key);
    }
    for (const key of ['endpointStagger', 'startTimeout'] as const) {
      const v = config[key];
      if (v !== undefined && (typeof v !== 'number' || Number.isNaN(v) || v < 0)) {
        throw new InvalidConfigError(`config.${key} must be a number of milliseconds >= 0, got ${String(v)}`);
      }
    }
    if (config.dialPolicy !== undefined && typeof config.dialPolicy !== 'function') {
      throw new InvalidConfigError('config.dialPolicy must be a function (endpoint) => boolean');
    }
    this.#admission = new Admission(
      {
        maxPendingHellos: count(config.maxPendingHellos, DEFAULT_MAX_PENDING_HELLOS, 'maxPendingHellos'),
        maxPendingHellosPerAddress: count(
          config.maxPendingHellosPerAddress,
          DEFAULT_MAX_PENDING_HELLOS_PER_ADDRESS,
          'maxPendingHellosPerAddress',
        ),
        maxIncomingConnections: count(
          config.maxIncomingConnections,
          DEFAULT_MAX_INCOMING_CONNECTIONS,
          'maxIncomingConnections',
        ),
      },
      (err) => this.#warn(err),
    );
    this.container = rootContainer.createChildContainer();
    this.#record = {
      name: this.name,
      instanceId: this.instanceId,
      namespace: this.namespace,
      endpoints: [],
      methods: [],
      metadata: config.metadata ?? {},
      registeredAt: Date.now(),
    };
    this.#slots = (config.wrappers ?? []).map((spec) =>
      typeof spec === 'string'
        ? spec
        : typeof spec === 'function'
          ? [spec]
          : this.#registerWrapperPlugin(spec),
    );
  }

  /** `'stopped'`, `'starting'`, `'started'` or `'stopping'`. */
  get state(): State {
    return this.#state;
  }

  /** The registry in use (available once `start()` has loaded the plugins). */
  get registry(): Registry {
    if (!this.#registry)
      throw new NotStartedError('the registry is not loaded yet: call await start() first');
    return this.#registry;
  }

  /** This peer's record as published in the registry. */
  get record(): RecordInput {
    return this.#record;
  }

  /** This peer's identity. */
  get self(): PeerInfo {
    return { name: this.name, instanceId: this.instanceId, namespace: this.namespace };
  }

  /**
   * Loads the plugins, listens on every transport, registers this peer, starts the heartbeat
   * and (unless `events: false`) the registry watch. Idempotent; concurrent calls share one start.
   */
  start(options: RegistryCallOptions = {}): Promise<void> {
    if (this.#state === 'started') return Promise.resolve();
    if (this.#state === 'starting' && this.#starting) return this.#starting;
    if (this.#state === 'stopping' && this.#stopping) return this.#stopping.then(() => this.start(options));
    this.#state = 'starting';
    // stop() during a start that waits for the network ends the wait through this controller.
    const cancel = new AbortController();
    this.#cancelStart = cancel;
    const signal = options.signal ? AbortSignal.any([options.signal, cancel.signal]) : cancel.signal;
    this.#starting = this.#startRetrying(signal).then(
      () => {
        this.#state = 'started';
        this.emit('started');
      },
      async (err: unknown) => {
        await this.#teardown();
        this.#state = 'stopped';
        throw err;
      },
    );
    return this.#starting;
  }

  /**
   * Deregisters, closes every listener and stream, and disconnects from the registry. Idempotent.
   * With `drain`, open streams get that long to finish after the deregistration (a graceful leave).
   */
  async stop(options: StopOptions = {}): Promise<void> {
    if (this.#state === 'starting') {
      // A start that already failed once and waits to retry (startTimeout) ends now; a first try finishes.
      if (this.#retryingStart)
        this.#cancelStart?.abort(new NotStartedError(`"${this.name}" stopped while starting`));
      await this.#starting?.catch(noop);
    }
    if (this.#state === 'stopping') return this.#stopping;
    if (this.#state !== 'started') return;
    this.#state = 'stopping';
    this.#stopping = this.#teardown(options.drain ?? 0).then(() => {
      this.#state = 'stopped';
      this.emit('stopped');
    });
    return this.#stopping;
  }

  /** Stops this sidecar on SIGINT / SIGTERM, then exits the process (see `stopOnSignals`). */
  stopOnSignals(options?: StopOnSignalsOptions): () => void {
    return stopOnSignals(this, options);
  }

  /** `await using app = createSidecar(...)` stops it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  /**
   * A stream to the peer called `name`, returned at once and connected on first use; or, for a
   * pattern with `*` or `?`, the group of every matching stream (see `group`). Connection
   * failures destroy the stream with a typed error (PeerNotFoundError, PeerUnreachableError...).
   */
  to<N extends string>(name: N): ToResult<N, S, G> {
    if (isPattern(validatePattern(name))) return this.group(name) as ToResult<N, S, G>;
    const lazy = new LazyStream((signal) => this.#connectByName(name, signal));
    const context: Omit<WrapperContext, 'takeConnection'> = {
      direction: 'outgoing',
      local: this.self,
      remoteName: name,
      connected: lazy.connected,
    };
    const stream = this.#wrap(lazy, context);
    this.#track(lazy);
    lazy.connected.then((peer) => {
      context.peer = peer;
      this.#dispatch(stream, peer);
    }, noop);
    return stream as ToResult<N, S, G>;
  }

  /**
   * The group of every stream, incoming or outgoing, now and later, whose peer matches `pattern`.
   * It forwards the methods of the wrapped streams (e.g. the original pillion's `provide`).
   */
  group(pattern: string): GroupOf<S, G> {
    validatePattern(pattern);
    let group = this.#groups.get(pattern);
    if (!group) {
      group = new PeerGroup<S>(pattern, {
        connectAll: (g, options) => this.#connectAll(g, options),
      }) as PeerGroup<S> & G;
      for (const plugin of this.#wrapperPlugins) this.#extendGroup(group, plugin);
      this.#groups.set(pattern, group);
    }
    return group as GroupOf<S, G>;
  }

  /** Resolves with a connected, wrapped stream to `name`, or rejects with a typed error. */
  async connect(name: string, options: ConnectOptions = {}): Promise<S> {
    validateName(name);
    const { socket, peer } = await this.#connectByName(name, options.signal, options.timeout);
    const stream = this.#wrap(socket, {
      direction: 'outgoing',
      local: this.self,
      remoteName: name,
      peer,
      connected: Promise.resolve(peer),
    });
    this.#dispatch(stream, peer);
    return stream;
  }

  /** Appends a stream wrapper (the original sidecar's name for `config.wrappers`). */
  addStreamWrapper<O extends Duplex>(wrapper: StreamWrapper<S, O>): Sidecar<O, G> {
    this.#extra.push(wrapper as unknown as StreamWrapper);
    this.#chain = undefined;
    return this as unknown as Sidecar<O, G>;
  }

  /** The live instances whose name matches `pattern` (all of the namespace by default). */
  async peers(pattern = '*', options: RegistryCallOptions = {}): Promise<InstanceRecord[]> {
    await this.#ready(options.signal);
    return this.registry.list(pattern, options);
  }

  /**
   * Changes what this peer publishes (provided methods, metadata) and, when started, writes it to
   * the registry at once. Wrappers use it to publish the methods they provide.
   */
  updateRecord(patch: {
    methods?: string[];
    metadata?: { [key: string]: JsonValue };
    endpoints?: Endpoint[];
  }): Promise<void> {
    this.#record = { ...this.#record, ...patch };
    const write = this.#recordUpdate.then(async () => {
      if ((this.#state === 'started' || this.#state === 'starting') && this.#config.register !== false) {
        await this.#registry?.register(this.#record, this.#ttl).catch((err: unknown) => this.#warn(err));
      }
    });
    this.#recordUpdate = write;
    return write;
  }

  // ---- start and stop ------------------------------------------------------------------------

  /**
   * Runs the start, and while it fails for a reason that may pass (registry unreachable, network
   * down: a retryable error) tries again with a backoff until `startTimeout` or the signal ends it.
   * Each failed try is undone and reported as a warning.
   */
  async #startRetrying(signal: AbortSignal | undefined): Promise<void> {
    const limit = this.#config.startTimeout ?? DEFAULT_START_TIMEOUT;
    const deadline = Date.now() + limit;
    let backoff = START_FIRST_BACKOFF;
    this.#retryingStart = false;
    for (;;) {
      try {
        await this.#start(signal);
        return;
      } catch (err) {
        const left = deadline - Date.now();
        if (!isSidecarError(err) || !err.retryable || signal?.aborted || left <= 0) throw err;
        this.#retryingStart = true;
        this.#warn(err);
        await this.#teardown();
        await delay(Math.min(backoff, left), signal);
        backoff = Math.min(backoff * 2, START_MAX_BACKOFF);
      }
    }
  }

  async #start(signal: AbortSignal | undefined): Promise<void> {
    this.#plugins ??= this.#loadPlugins();
    await this.#plugins;
    throwIfAborted(signal);
    const registry = this.registry;
    this.#subscribe(registry, 'warning', (err: SidecarError) => this.emit('warning', err));
    await registry.start({ signal });
    if (this.#config.register === false) {
      if (this.#config.events !== false) await this.#watch(registry, signal);
      return;
    }
    for (const transport of this.#transports) {
      this.#listeners.push(
        await transport.listen((connection) => void this.#accept(connection), {
          signal,
          reach: registry.reach,
          ...(this.#registryHost ? { registryHost: this.#registryHost } : {}),
          onError: (err) => this.#warn(err),
          onEndpointChange: () => void this.updateRecord({ endpoints: this.#advertised() }),
        }),
      );
    }
    this.#record = { ...this.#record, endpoints: this.#advertised() };
    await registry.register(this.#record, this.#ttl, { signal });
    this.#heartbeat = new Heartbeat(
      registry,
      () => this.#record,
      this.#ttl,
      this.#config.heartbeatInterval ?? this.#ttl / 3,
      {
        onFailure: (err) => this.#warn(err),
        onReregistered: () => {},
      },
    );
    this.#heartbeat.start();
    if (this.#config.events !== false) await this.#watch(registry, signal);
  }

  /** Every endpoint of every listener, in transport order. */
  #advertised(): Endpoint[] {
    return this.#listeners.flatMap((l) => [...(l.endpoints ?? [l.endpoint])]);
  }

  async #watch(registry: Registry, signal: AbortSignal | undefined): Promise<void> {
    for (const type of ['join', 'update', 'leave', 'timeout'] as const) {
      this.#subscribe(registry, type, (record: InstanceRecord) => {
        if (record.instanceId !== this.instanceId) this.emit(type, peerInfoOf(record));
      });
    }
    await registry.watch({ signal });
  }

  async #teardown(drain = 0): Promise<void> {
    const registry = this.#registry;
    await registry?.unwatch().catch(noop);
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    if (registry && this.#listeners.length > 0) {
      await registry.deregister(this.instanceId).catch((err: unknown) => this.#warn(err));
    }
    if (drain > 0) await this.#drain(drain);
    await Promise.all(this.#listeners.map((l) => l.close().catch(noop)));
    this.#listeners = [];
    for (const stream of this.#open) stream.destroy();
    this.#open.clear();
    await registry?.stop().catch(noop);
    for (const [event, fn] of this.#forwarders) registry?.off(event as 'warning', fn as () => void);
    this.#forwarders.length = 0;
  }

  async #loadPlugins(): Promise<void> {
    const config = this.#config;
    const context: PluginContext = { peerName: this.name, namespace: this.namespace, env: this.#env };
    const registrySpec = config.registry ?? this.#env.SIDECAR_REGISTRY ?? DEFAULT_REGISTRY;
    const registryPlugin =
      typeof registrySpec === 'string'
        ? await loadRegistry(registrySpec, config.registryOptions)
        : registrySpec;
    registryPlugin.register(this.container, context);
    this.#registryHost = registryHostOf(registrySpec, config.registryOptions);
    for (const spec of config.transports ?? DEFAULT_TRANSPORTS) {
      const plugin =
        typeof spec === 'string' ? await loadTransport(spec, config.transportOptions?.[spec]) : spec;
      plugin.register(this.container, context);
    }
    // Wrappers named in the config load now, into the slot the config gave them.
    for (const [i, slot] of this.#slots.entries()) {
      if (typeof slot === 'string') {
        this.#slots[i] = this.#registerWrapperPlugin(await loadWrapper(slot, config.wrapperOptions?.[slot]));
        this.#chain = undefined;
      }
    }
    this.#registry = resolveToken(this.container, REGISTRY);
    this.#transports = resolveAllTokens(this.container, TRANSPORT);
    if (this.#transports.length === 0)
      throw new InvalidConfigError('no transport configured: set config.transports');
    this.#connector = new Connector({
      registry: this.#registry,
      transports: this.#transports,
      local: this.self,
      strategy: config.strategy ?? 'round-robin',
      dialTimeout: config.dialTimeout ?? DEFAULT_DIAL_TIMEOUT,
      dialPolicy: config.dialPolicy,
      endpointStagger: config.endpointStagger,
    });
  }

  /** Registers a wrapper plugin and returns the wrappers it added to the container, in order. */
  #registerWrapperPlugin(plugin: WrapperPlugin): StreamWrapper[] {
    const before = resolveAllTokens(this.container, WRAPPER).length;
    plugin.register(this.container, { peerName: this.name, namespace: this.namespace, env: this.#env });
    const added = resolveAllTokens(this.container, WRAPPER).slice(before);
    this.#wrapperPlugins.push(plugin);
    if (plugin.extendSidecar) Object.assign(this, plugin.extendSidecar(this as unknown as Sidecar<Duplex>));
    for (const group of this.#groups.values()) this.#extendGroup(group, plugin);
    return added;
  }

  #extendGroup(group: PeerGroup<S> & G, plugin: WrapperPlugin): void {
    if (plugin.extendGroup) Object.assign(group, plugin.extendGroup(group as unknown as PeerGroup<Duplex>));
  }

  // ---- streams ------------------------------------------------------------------------------

  async #ready(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'starting') await this.#starting;
    throwIfAborted(signal);
    if (this.#state !== 'started') {
      throw new NotStartedError(
        `sidecar "${this.name}" is ${this.#state}: call await start() before opening streams`,
      );
    }
  }

  async #connectByName(name: string, signal?: AbortSignal, timeout?: number): Promise<Connection> {
    await this.#ready(signal);
    const started = Date.now();
    const deadline = started + (timeout ?? this.#config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT);
    const connection = await (this.#connector as Connector).connect(name, { deadline, signal }, started);
    this.#track(connection.socket);
    typeSocketErrors(connection.socket, name);
    publishStreamOpen(this.instanceId, connection.socket, 'outgoing', connection.transport);
    return connection;
  }

  async #connectAll(group: PeerGroup<S>, options: { signal?: AbortSignal }): Promise<S[]> {
    await this.#ready(options.signal);
    const records = await this.registry.list(group.pattern, options);
    const fresh = records.filter((r) => r.instanceId !== this.instanceId && !group.has(r.instanceId));
    const opened: S[] = [];
    await Promise.all(
      fresh.map(async (record) => {
        const deadline = Date.now() + (this.#config.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT);
        try {
          const { socket, peer, transport } = await (this.#connector as Connector).connectInstance(record, {
            deadline,
            signal: options.signal,
          });
          this.#track(socket);
          typeSocketErrors(socket, record.name);
          publishStreamOpen(this.instanceId, socket, 'outgoing', transport);
          const stream = this.#wrap(socket, {
            direction: 'outgoing',
            local: this.self,
            remoteName: record.name,
            peer,
            connected: Promise.resolve(peer),
          });
          this.#dispatch(stream, peer);
          opened.push(stream);
        } catch (err) {
          this.#warn(err);
        }
      }),
    );
    return opened;
  }

  async #accept(connection: IncomingConnection): Promise<void> {
    const { stream: socket } = connection;
    socket.on('error', noop);
    // While stopping, listeners stay open only as long as a drain lasts: what they accept then
    // comes from callers whose cache still had this peer, and is served (see StopOptions.drain).
    if (this.#state === 'stopped') {
      socket.destroy();
      return;
    }
    const admitted = this.#admission.admit(connection);
    if (!admitted) return;
    this.#track(socket);
    const helloTimeout = this.#config.helloTimeout ?? DEFAULT_HELLO_TIMEOUT;
    const accepted = await acceptHello(connection, this.self, helloTimeout).catch((err: unknown) => {
      publishIncomingFailure(this.instanceId, err);
      // A connection evicted to make room was reported already; its hello fails as it closes.
      if (!admitted.evicted) this.#warn(err);
      return undefined;
    });
    if (!accepted || socket.destroyed) return;
    this.#admission.established(admitted);
    typeSocketErrors(socket, accepted.name);
    publishStreamOpen(this.instanceId, socket, 'incoming');
    const stream = this.#wrap(socket, {
      direction: 'incoming',
      local: this.self,
      remoteName: accepted.name,
      peer: accepted,
      connected: Promise.resolve(accepted),
    });
    this.emit('stream', stream, accepted);
    this.#dispatch(stream, accepted);
  }

  #wrap(stream: Duplex, context: Omit<WrapperContext, 'takeConnection'>): S {
    let chain: StreamWrapper[];
    try {
      chain = this.#wrapperChain();
    } catch (err) {
      stream.destroy();
      throw err;
    }
    let wrapped = stream;
    try {
      for (const [i, wrapper] of chain.entries()) {
        const takeConnection = i === 0 ? handOver(stream) : () => Promise.resolve(undefined);
        // Inherits from the shared context, so `peer` set on connect shows through.
        wrapped = wrapper(
          wrapped,
          Object.assign(Object.create(context) as WrapperContext, { takeConnection }),
        );
      }
    } catch (err) {
      stream.destroy(err as Error);
      throw err;
    }
    return wrapped as S;
  }

  /** The configured wrappers then the added ones, built once per change rather than per stream. */
  #wrapperChain(): StreamWrapper[] {
    if (this.#chain) return this.#chain;
    if (this.#slots.some((slot) => typeof slot === 'string')) {
      throw new NotStartedError(
        'wrappers given by name load in start(): call await start() before opening streams',
      );
    }
    this.#chain = [...(this.#slots as StreamWrapper[][]).flat(), ...this.#extra];
    return this.#chain;
  }

  #dispatch(stream: S, peer: PeerInfo): void {
    for (const group of this.#groups.values())
      if (matchName(group.pattern, peer.name)) group.add(stream, peer);
  }

  /**
   * Waits up to `ms` for the open streams to finish. Listeners stay open meanwhile: a caller whose
   * cache still had this peer is served, so a stream counts as drained only after a quiet moment.
   */
  async #drain(ms: number): Promise<void> {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const empty = this.#open.size === 0;
      await delay(Math.min(empty ? DRAIN_QUIET_MS : DRAIN_POLL_MS, Math.max(0, deadline - Date.now())));
      if (empty && this.#open.size === 0) return;
    }
  }

  #track(stream: Duplex): void {
    this.#open.add(stream);
    stream.once('close', () => this.#open.delete(stream));
  }

  #subscribe<A extends unknown[]>(registry: Registry, event: string, fn: (...args: A) => void): void {
    registry.on(event as 'warning', fn as unknown as () => void);
    this.#forwarders.push([event, fn as unknown as (...args: never[]) => void]);
  }

  #warn(err: unknown): void {
    this.emit('warning', isSidecarError(err) ? err : new InternalError(String(err), { cause: err }));
  }
}

/** `takeConnection` of the first wrapper: the socket itself, once, when connected. */
function handOver(stream: Duplex): () => Promise<Duplex | undefined> {
  let taken = false;
  return async () => {
    if (taken) return undefined;
    taken = true;
    if (!(stream instanceof LazyStream)) return stream;
    await stream.connected;
    return stream.detach();
  };
}

/** The host of a network registry given by URL (or by a `host` option), for the advertised-address order. */
function registryHostOf(spec: unknown, options: object | undefined): string | undefined {
  if (typeof spec === 'string' && /^(rediss?|postgres(ql)?):\/\//.test(spec)) {
    try {
      const host = new URL(spec).hostname.replace(/^\[|\]$/g, '');
      return host || undefined;
    } catch {
      return undefined;
    }
  }
  const { host, url } = (options ?? {}) as { host?: unknown; url?: unknown };
  if (typeof url === 'string') return registryHostOf(url, undefined);
  return typeof host === 'string' && host ? host : undefined;
}

function positive(value: number | undefined, fallback: number, key: string): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw new InvalidConfigError(
      `config.${key} must be a positive number of milliseconds, got ${String(value)}`,
    );
  }
  return v;
}

function count(value: number | undefined, fallback: number, key: string): number {
  const v = value ?? fallback;
  if (!Number.isInteger(v) || v < 1) {
    throw new InvalidConfigError(`config.${key} must be a whole number of at least 1, got ${String(value)}`);
  }
  return v;
}
