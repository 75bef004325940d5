import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import 'reflect-metadata'; // tsyringe needs it loaded first
import { type DependencyContainer, container as rootContainer } from 'tsyringe';
import type { SidecarConfig } from '../config/config.js';
import { resolveConfig } from '../config/resolve-config.js';
import { registerCoreServices } from '../container/core-services.js';
import { Plugins } from '../container/plugins.js';
import { DIALER, LIFECYCLE, LOGGER, resolve, STREAMS } from '../container/tokens.js';
import type { RecordInput, Registry, RegistryCallOptions } from '../contracts/registry.js';
import type { SidecarEvents } from '../contracts/services.js';
import type { StreamWrapper } from '../contracts/wrapper.js';
import { NotStartedError } from '../errors.js';
import { Lifecycle, type State } from '../lifecycle/lifecycle.js';
import { OwnRecord, type RecordPatch } from '../lifecycle/own-record.js';
import { type StopOnSignalsOptions, stopOnSignals } from '../lifecycle/signals.js';
import { isPattern, validateName, validatePattern } from '../names.js';
import type { ConnectOptions } from '../pipeline/dialer.js';
import { WrapperChain } from '../pipeline/wrapper-chain.js';
import type { InstanceRecord, PeerInfo } from '../records.js';
import { type GroupOf, PeerGroup } from './group.js';

export type { SidecarEvents } from '../contracts/services.js';
export type { ConnectOptions } from '../pipeline/dialer.js';

/** `to(name)` gives a stream; `to(pattern)` (with `*` or `?`) gives a group. */
export type ToResult<N extends string, S, G> = N extends `${string}${'*' | '?'}${string}` ? GroupOf<S, G> : S;

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

/**
 * A peer: it registers its name, accepts streams, and opens streams to other peers by name.
 * Made by `createSidecar`; `S` is the stream type its wrappers produce, `G` what they add to groups.
 * A facade: the work is done by the services in its `container` (docs/architecture.md).
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
  /** The sidecar's own DI container (a child of tsyringe's root): core's services and the plugins'. */
  readonly container: DependencyContainer;
  readonly #record: OwnRecord;
  readonly #wrappers: WrapperChain;
  readonly #plugins: Plugins;

  /** Use `createSidecar(config)`. */
  constructor(input: SidecarConfig) {
    super();
    const config = resolveConfig(input);
    this.name = config.name;
    this.namespace = config.namespace;
    this.instanceId = randomBytes(12).toString('base64url');
    const container = rootContainer.createChildContainer();
    this.container = container;
    this.#record = new OwnRecord(
      { ...this.self, endpoints: [], methods: [], metadata: config.metadata, registeredAt: Date.now() },
      { warn: (err) => resolve(container, LOGGER).warn(err) },
    );
    this.#wrappers = new WrapperChain(config.wrappers.map((w) => (typeof w === 'string' ? w : '')));
    registerCoreServices(container, {
      config,
      self: this.self,
      events: this as unknown as Sidecar,
      wrappers: this.#wrappers,
      lifecycle: (c) => new Lifecycle(c, { loadPlugins: () => this.#plugins.load(), record: this.#record }),
    });
    this.#plugins = new Plugins(container, config, {
      sidecar: this as unknown as Sidecar,
      wrappers: this.#wrappers,
      groups: () => resolve(container, STREAMS).groups.values(),
    });
  }

  /** `'stopped'`, `'starting'`, `'started'` or `'stopping'`. */
  get state(): State {
    return resolve(this.container, LIFECYCLE).state;
  }

  /** The registry in use (available once `start()` has loaded the plugins). */
  get registry(): Registry {
    const registry = resolve(this.container, LIFECYCLE).registry;
    if (!registry) throw new NotStartedError('the registry is not loaded yet: call await start() first');
    return registry;
  }

  /** This peer's record as published in the registry. */
  get record(): RecordInput {
    return this.#record.current;
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
    return resolve(this.container, LIFECYCLE).start(options);
  }

  /**
   * Deregisters, closes every listener and stream, and disconnects from the registry. Idempotent.
   * With `drain`, open streams get that long to finish after the deregistration (a graceful leave).
   */
  stop(options: StopOptions = {}): Promise<void> {
    return resolve(this.container, LIFECYCLE).stop(options.drain ?? 0);
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
    return resolve(this.container, DIALER).open(name) as ToResult<N, S, G>;
  }

  /**
   * The group of every stream, incoming or outgoing, now and later, whose peer matches `pattern`.
   * It forwards the methods of the wrapped streams (e.g. the original pillion's `provide`).
   */
  group(pattern: string): GroupOf<S, G> {
    validatePattern(pattern);
    const groups = resolve(this.container, STREAMS).groups;
    let group = groups.get(pattern);
    if (!group) {
      const dialer = resolve(this.container, DIALER);
      group = new PeerGroup<Duplex>(pattern, { connectAll: (g, options) => dialer.connectAll(g, options) });
      for (const extend of this.#plugins.groupExtenders) Object.assign(group, extend(group));
      groups.set(pattern, group);
    }
    return group as unknown as GroupOf<S, G>;
  }

  /** Resolves with a connected, wrapped stream to `name`, or rejects with a typed error. */
  async connect(name: string, options: ConnectOptions = {}): Promise<S> {
    validateName(name);
    return (await resolve(this.container, DIALER).connect(name, options)) as S;
  }

  /** Appends a stream wrapper (the original sidecar's name for `config.wrappers`). */
  addStreamWrapper<O extends Duplex>(wrapper: StreamWrapper<S, O>): Sidecar<O, G> {
    this.#wrappers.add(wrapper as unknown as StreamWrapper);
    return this as unknown as Sidecar<O, G>;
  }

  /** The live instances whose name matches `pattern` (all of the namespace by default). */
  async peers(pattern = '*', options: RegistryCallOptions = {}): Promise<InstanceRecord[]> {
    await resolve(this.container, LIFECYCLE).ready(options.signal);
    return this.registry.list(pattern, options);
  }

  /**
   * Changes what this peer publishes (provided methods, metadata) and, when started, writes it to
   * the registry at once. Wrappers use it to publish the methods they provide.
   */
  updateRecord(patch: RecordPatch): Promise<void> {
    return this.#record.update(patch);
  }
}
