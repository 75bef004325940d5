import type { EventEmitter } from 'node:events';
import type { DependencyContainer } from 'tsyringe';
import type { ResolvedConfig } from '../config/resolve-config.js';
import {
  ACCEPTOR,
  CLOCK,
  CONFIG,
  DIALER,
  EVENTS,
  LOGGER,
  REGISTRY,
  resolve,
  STREAMS,
  TRANSPORTS,
} from '../container/tokens.js';
import type { Registry, RegistryCallOptions } from '../contracts/registry.js';
import type { Clock, EventBus, Logger } from '../contracts/services.js';
import type { Listener } from '../contracts/transport.js';
import { isSidecarError, NotStartedError, type SidecarError } from '../errors.js';
import { type Endpoint, type InstanceRecord, peerInfoOf } from '../records.js';
import { delay, throwIfAborted } from '../util/abort.js';
import { Heartbeat } from './heartbeat.js';
import type { OwnRecord } from './own-record.js';

/** Where a sidecar is in its life. */
export type State = 'stopped' | 'starting' | 'started' | 'stopping';

/** The registry changes a sidecar forwards as events of its own. */
const PEER_EVENTS = new Set(['join', 'update', 'leave', 'timeout']);

const START_FIRST_BACKOFF = 100;
const START_MAX_BACKOFF = 2000;

function noop(): void {}

/**
 * Start and stop: load the plugins, listen on every transport, register this peer's record, keep
 * it alive (heartbeat), watch the registry; then the reverse, with an optional drain. Start
 * retries while the failure may pass (`startTimeout`). Both are idempotent.
 */
export class Lifecycle {
  #state: State = 'stopped';
  #starting: Promise<void> | undefined;
  #stopping: Promise<void> | undefined;
  #cancelStart: AbortController | undefined;
  #retryingStart = false;
  #registry: Registry | undefined;
  #listeners: Listener[] = [];
  #heartbeat: Heartbeat | undefined;
  #unsubscribe: Array<() => void> = [];
  readonly #container: DependencyContainer;
  readonly #config: ResolvedConfig;
  readonly #events: EventBus;
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #loadPlugins: () => Promise<void>;
  readonly #record: OwnRecord;

  constructor(
    container: DependencyContainer,
    parts: { loadPlugins: () => Promise<void>; record: OwnRecord },
  ) {
    this.#container = container;
    this.#config = resolve(container, CONFIG);
    this.#events = resolve(container, EVENTS);
    this.#logger = resolve(container, LOGGER);
    this.#clock = resolve(container, CLOCK);
    this.#loadPlugins = parts.loadPlugins;
    this.#record = parts.record;
  }

  get state(): State {
    return this.#state;
  }

  /** The registry, once start() has made it. */
  get registry(): Registry | undefined {
    return this.#registry;
  }

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
        this.#events.emit('started');
      },
      async (err: unknown) => {
        await this.#teardown();
        this.#state = 'stopped';
        throw err;
      },
    );
    return this.#starting;
  }

  async stop(drain = 0): Promise<void> {
    if (this.#state === 'starting') {
      // A start that already failed once and waits to retry (startTimeout) ends now; a first try finishes.
      if (this.#retryingStart)
        this.#cancelStart?.abort(new NotStartedError(`"${this.#config.name}" stopped while starting`));
      await this.#starting?.catch(noop);
    }
    if (this.#state === 'stopping') return this.#stopping;
    if (this.#state !== 'started') return;
    this.#state = 'stopping';
    this.#stopping = this.#teardown(drain).then(() => {
      this.#state = 'stopped';
      this.#events.emit('stopped');
    });
    return this.#stopping;
  }

  /** Resolves once started (waiting for a start in progress); rejects with NotStartedError otherwise. */
  async ready(signal?: AbortSignal): Promise<void> {
    if (this.#state === 'starting') await this.#starting;
    throwIfAborted(signal);
    if (this.#state !== 'started') {
      throw new NotStartedError(
        `sidecar "${this.#config.name}" is ${this.#state}: call await start() before opening streams`,
      );
    }
  }

  /**
   * Runs the start, and while it fails for a reason that may pass (registry unreachable, network
   * down: a retryable error) tries again with a backoff until `startTimeout` or the signal ends it.
   * Each failed try is undone and reported as a warning.
   */
  async #startRetrying(signal: AbortSignal): Promise<void> {
    const deadline = this.#clock.now() + this.#config.startTimeout;
    let backoff = START_FIRST_BACKOFF;
    this.#retryingStart = false;
    for (;;) {
      try {
        await this.#start(signal);
        return;
      } catch (err) {
        const left = deadline - this.#clock.now();
        if (!isSidecarError(err) || !err.retryable || signal.aborted || left <= 0) throw err;
        this.#retryingStart = true;
        this.#logger.warn(err);
        await this.#teardown();
        await delay(Math.min(backoff, left), signal);
        backoff = Math.min(backoff * 2, START_MAX_BACKOFF);
      }
    }
  }

  async #start(signal: AbortSignal): Promise<void> {
    await this.#loadPlugins();
    throwIfAborted(signal);
    const registry = resolve(this.#container, REGISTRY);
    this.#registry = registry;
    const acceptor = resolve(this.#container, ACCEPTOR);
    acceptor.accepting = true;
    this.#forward(registry, 'warning', (err: SidecarError) => this.#events.emit('warning', err));
    await registry.start({ signal });
    if (!this.#config.register) {
      if (this.#config.events) await this.#watch(registry, signal);
      return;
    }
    for (const transport of resolve(this.#container, TRANSPORTS)) {
      this.#listeners.push(
        await transport.listen((connection) => void acceptor.accept(connection, transport.name), {
          signal,
          reach: registry.reach,
          ...(registry.host ? { registryHost: registry.host } : {}),
          onError: (err) => this.#logger.warn(err),
          onEndpointChange: () => void this.#record.update({ endpoints: this.#advertised() }),
        }),
      );
    }
    await this.#record.update({ endpoints: this.#advertised() });
    await registry.register(this.#record.current, this.#config.ttl, { signal });
    this.#record.publishTo(registry, this.#config.ttl);
    this.#heartbeat = new Heartbeat(
      registry,
      () => this.#record.current,
      this.#config.ttl,
      this.#config.heartbeatInterval,
      { onFailure: (err) => this.#logger.warn(err), onReregistered: noop },
    );
    this.#heartbeat.start();
    if (this.#config.events) await this.#watch(registry, signal);
  }

  /** Every endpoint of every listener, in transport order. */
  #advertised(): Endpoint[] {
    return this.#listeners.flatMap((l) => [...(l.endpoints ?? [l.endpoint])]);
  }

  /**
   * Watches the registry, and forwards its changes as events, each kind only once the app
   * listens for it: a peer that never asks for `join` does not pay for every join in the
   * namespace (with N peers starting, that was N x N deliveries).
   */
  async #watch(registry: Registry, signal: AbortSignal): Promise<void> {
    const self = this.#record.current.instanceId;
    const forwarded = new Set<string>();
    const forward = (type: string) => {
      if (!PEER_EVENTS.has(type) || forwarded.has(type)) return;
      forwarded.add(type);
      const kind = type as 'join' | 'update' | 'leave' | 'timeout';
      this.#forward(registry, kind, (record: InstanceRecord) => {
        if (record.instanceId !== self) this.#events.emit(kind, peerInfoOf(record));
      });
    };
    for (const type of PEER_EVENTS) if (this.#events.listenerCount(type as 'join') > 0) forward(type);
    const bus = this.#events as unknown as EventEmitter;
    bus.on('newListener', forward);
    this.#unsubscribe.push(() => bus.off('newListener', forward));
    await registry.watch({ signal });
  }

  async #teardown(drain = 0): Promise<void> {
    const registry = this.#registry;
    this.#record.publishTo(undefined);
    await registry?.unwatch().catch(noop);
    this.#heartbeat?.stop();
    this.#heartbeat = undefined;
    if (registry && this.#listeners.length > 0) {
      await registry
        .deregister(this.#record.current.instanceId)
        .catch((err: unknown) => this.#logger.warn(err));
    }
    resolve(this.#container, DIALER).close();
    const streams = resolve(this.#container, STREAMS);
    if (drain > 0) await streams.drain(drain, () => this.#clock.now());
    resolve(this.#container, ACCEPTOR).stop();
    await Promise.all(this.#listeners.map((l) => l.close().catch(noop)));
    this.#listeners = [];
    streams.destroyAll();
    await registry?.stop().catch(noop);
    for (const off of this.#unsubscribe) off();
    this.#unsubscribe = [];
  }

  #forward<A extends unknown[]>(registry: Registry, event: string, fn: (...args: A) => void): void {
    const listener = fn as unknown as () => void;
    registry.on(event as 'warning', listener);
    this.#unsubscribe.push(() => registry.off(event as 'warning', listener));
  }
}
