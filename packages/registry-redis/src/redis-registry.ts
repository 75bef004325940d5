import {
  BaseRegistry,
  type InstanceRecord,
  InvalidConfigError,
  isPattern,
  NotStartedError,
  RegistryUnavailableError,
} from '@sidecar/core';
import type { Cluster, Redis } from 'ioredis';
import { connectClient, createClient, describeTarget, type RedisClient } from './connection.js';
import { hexName, KeyLayout } from './keys.js';
import {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_PREFIX,
  DEFAULT_SWEEP_BATCH,
  type RedisRegistryOptions,
} from './options.js';
import { parseOrRaw, rowsOf, serialize } from './rows.js';

/** At most this many sweep scripts run per sweep tick (each removes up to DEFAULT_SWEEP_BATCH). */
const MAX_SWEEP_ROUNDS = 20;

/**
 * A registry on Redis (standalone, Sentinel or Cluster) through ioredis. Every mutation is one
 * Lua script that also publishes the change, so watchers see `join`/`update`/`leave` and exactly
 * one sweeper announces each `timeout`. See the package README for the key layout.
 *
 * @example
 * ```ts
 * const registry = new RedisRegistry({ url: 'redis://127.0.0.1:6379', namespace: 'shop' });
 * await registry.start();
 * console.log(await registry.list('*'));
 * ```
 */
export class RedisRegistry extends BaseRegistry {
  readonly reach = 'network' as const;
  /** The keys this registry reads and writes. */
  readonly keys: KeyLayout;
  readonly #options: RedisRegistryOptions;
  readonly #target: string;
  /** Records this registry wrote and keeps alive, with their lifetime (restored after the server lost them). */
  readonly #own = new Map<string, { record: InstanceRecord; ttl: number }>();
  #client: RedisClient | undefined;
  #subscriber: Redis | Cluster | undefined;
  #outage = false;

  constructor(options: RedisRegistryOptions = {}) {
    super(options);
    if (options.url !== undefined && !/^rediss?:\/\//.test(options.url)) {
      throw new InvalidConfigError(
        `invalid Redis URL ${JSON.stringify(options.url)}: use redis://[user:pass@]host:port[/db] or rediss://`,
      );
    }
    if (options.redis?.keyPrefix || options.sentinel?.keyPrefix || options.cluster?.options?.keyPrefix) {
      throw new InvalidConfigError(
        "ioredis' keyPrefix is not supported by the Redis registry (its scripts build keys): use the `prefix` option",
      );
    }
    this.#options = options;
    this.#target = describeTarget(options);
    this.keys = new KeyLayout(options.prefix ?? DEFAULT_PREFIX, this.namespace);
  }

  /** The ioredis client in use (a `Redis` or a `Cluster`), e.g. to inspect the keys. */
  get client(): Redis | Cluster {
    if (!this.#client) throw new NotStartedError('the Redis registry is not started: call start() first');
    return this.#client;
  }

  // ---- storage hooks -----------------------------------------------------------------------

  protected async connect(signal?: AbortSignal): Promise<void> {
    const client = createClient(this.#options);
    await connectClient(client, this.#target, this.#connectTimeout, signal);
    client.on('error', (err: unknown) => this.#lost(err));
    client.on('ready', () => void this.#back());
    this.#client = client;
    this.#outage = false;
  }

  protected async disconnect(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
    this.#client?.disconnect();
    this.#client = undefined;
    this.#own.clear();
  }

  protected async put(record: InstanceRecord): Promise<void> {
    await this.#put(this.#c(), record, false);
    this.#own.set(record.instanceId, { record, ttl: Math.max(0, record.expiresAt - Date.now()) });
  }

  protected async touch(instanceId: string, expiresAt: number): Promise<boolean> {
    const k = this.keys;
    const found =
      (await this.#c().sidecarTouch(
        k.ids,
        k.expiry,
        k.names,
        k.channel,
        k.namePrefix,
        instanceId,
        expiresAt,
        Date.now(),
      )) === 1;
    const own = this.#own.get(instanceId);
    if (found && own) {
      this.#own.set(instanceId, {
        record: { ...own.record, expiresAt },
        ttl: Math.max(0, expiresAt - Date.now()),
      });
    } else if (!found) this.#own.delete(instanceId);
    return found;
  }

  protected async remove(instanceId: string): Promise<void> {
    const k = this.keys;
    this.#own.delete(instanceId);
    await this.#c().sidecarRemove(k.ids, k.expiry, k.names, k.channel, k.namePrefix, instanceId);
  }

  protected async fetchByName(name: string): Promise<unknown[]> {
    return rowsOf(await this.#c().hvals(this.keys.name(name)));
  }

  protected async fetchAll(pattern: string): Promise<unknown[]> {
    if (!isPattern(pattern)) return this.fetchByName(pattern);
    return rowsOf(await this.#c().sidecarFetchAll(this.keys.names, this.keys.namePrefix));
  }

  protected async sweep(now: number): Promise<void> {
    const client = this.#client;
    // While the server is away there is nothing to sweep; the outage was already reported.
    if (!client || client.status !== 'ready') return;
    const k = this.keys;
    for (let round = 0; round < MAX_SWEEP_ROUNDS; round++) {
      const taken = await client.sidecarSweep(
        k.ids,
        k.expiry,
        k.names,
        k.channel,
        k.namePrefix,
        now,
        DEFAULT_SWEEP_BATCH,
      );
      if (taken < DEFAULT_SWEEP_BATCH) return;
    }
  }

  protected async subscribe(deliver: (change: unknown) => void): Promise<void> {
    const subscriber = this.#c().duplicate();
    await connectClient(subscriber, this.#target, this.#connectTimeout);
    const channel = this.keys.channel;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) deliver(parseOrRaw(message));
    });
    // ioredis resubscribes by itself after a reconnect; changes made meanwhile were missed.
    subscriber.on('ready', () => {
      this.#outage = false;
      this.invalidateCache();
    });
    subscriber.on('error', (err: unknown) => this.#lost(err));
    this.#subscriber = subscriber;
    await subscriber.subscribe(channel);
  }

  protected async unsubscribe(): Promise<void> {
    this.#subscriber?.disconnect();
    this.#subscriber = undefined;
  }

  // ---- internals ---------------------------------------------------------------------------

  get #connectTimeout(): number {
    return this.#options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
  }

  #put(client: RedisClient, record: InstanceRecord, onlyIfAbsent: boolean): Promise<number> {
    const k = this.keys;
    return client.sidecarPut(
      k.ids,
      k.expiry,
      k.names,
      k.name(record.name),
      k.channel,
      k.namePrefix,
      record.instanceId,
      hexName(record.name),
      serialize(record),
      record.expiresAt,
      onlyIfAbsent ? '1' : '0',
    );
  }

  #c(): RedisClient {
    if (!this.#client) throw new RegistryUnavailableError('the Redis registry is not connected');
    return this.#client;
  }

  /** A connection error: reported once per outage; ioredis keeps reconnecting. */
  #lost(err: unknown): void {
    if (this.#outage || !this.#client) return;
    this.#outage = true;
    this.warn(this.unavailable(`lost the connection to Redis at ${this.#target}; reconnecting`, err));
  }

  /** The main connection is back: forget cached lookups, and write back our records if lost. */
  async #back(): Promise<void> {
    this.#outage = false;
    this.invalidateCache();
    const client = this.#client;
    if (!client || this.#options.restoreOnReconnect === false) return;
    // A full lifetime from now: heartbeats failed during the outage, so the stored expiry may be
    // about to pass, and a sweeper would report a live peer as timed out.
    for (const { record, ttl } of [...this.#own.values()]) {
      const restored = { ...record, expiresAt: Date.now() + ttl };
      await this.#put(client, restored, true).catch((err: unknown) =>
        this.warn(this.unavailable('restoring a record after a reconnect failed', err)),
      );
    }
  }
}
