import type { Socket } from 'node:net';
import {
  type InstanceRecord,
  InvalidConfigError,
  InvalidRecordError,
  isPattern,
  NotStartedError,
  RegistryUnavailableError,
} from '@sidecar/core';
import { BaseRegistry } from '@sidecar/core/plugin-kit';
import { Cluster, type Redis } from 'ioredis';
import { acquireClient, type Lease } from './client-pool.js';
import { connectClient, createClient, describeTarget, type RedisClient, targetHost } from './connection.js';
import { hexName, KeyLayout } from './keys.js';
import {
  DEFAULT_CONNECT_TIMEOUT,
  DEFAULT_PREFIX,
  DEFAULT_SWEEP_BATCH,
  type RedisRegistryOptions,
} from './options.js';
import { serialize } from './rows.js';
import type { ScriptReply } from './scripts.js';

/** ioredis' message when a command got no reply within `commandTimeout`. */
const COMMAND_TIMEOUT = /Command timed out/i;

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
  /** The host of the URL, the first cluster node or the first Sentinel (see Registry.host). */
  readonly host: string | undefined;
  /** The keys this registry reads and writes. */
  readonly keys: KeyLayout;
  readonly #options: RedisRegistryOptions;
  readonly #target: string;
  #client: RedisClient | undefined;
  #lease: Lease | undefined;
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
    this.host = targetHost(options);
    this.keys = new KeyLayout(options.prefix ?? DEFAULT_PREFIX, this.namespace);
  }

  /** The ioredis client in use (a `Redis` or a `Cluster`), e.g. to inspect the keys. */
  get client(): Redis | Cluster {
    if (!this.#client) throw new NotStartedError('the Redis registry is not started: call start() first');
    return this.#client;
  }

  // ---- storage hooks -----------------------------------------------------------------------

  /** One client per server and options in the process, shared by its registries (see client-pool.ts). */
  protected async connect(signal?: AbortSignal): Promise<void> {
    const lease = await acquireClient({
      key: this.#connectionKey(),
      options: this.#options,
      target: this.#target,
      connectTimeout: this.#connectTimeout,
      user: { lost: (err) => this.#lost(err), back: () => this.#back() },
      ...(signal ? { signal } : {}),
    });
    this.#lease = lease;
    this.#client = lease.client;
    this.#outage = false;
  }

  protected async disconnect(): Promise<void> {
    this.#lease?.release();
    this.#lease = undefined;
    this.#client = undefined;
  }

  protected put(record: InstanceRecord, ttlMs: number): Promise<number> {
    const k = this.keys;
    const hex = hexName(record.name);
    return this.#c()
      .sidecarPut(
        k.ids,
        k.expiry,
        k.names,
        k.namePrefix + hex,
        k.channel,
        k.namePrefix,
        record.instanceId,
        hex,
        serialize(record),
        Math.max(0, Math.round(ttlMs)),
      )
      .then(this.#result);
  }

  protected touch(instanceId: string, ttlMs: number): Promise<boolean> {
    const k = this.keys;
    return this.#c()
      .sidecarTouch(
        k.ids,
        k.expiry,
        k.names,
        k.channel,
        k.namePrefix,
        instanceId,
        Math.max(0, Math.round(ttlMs)),
      )
      .then(this.#found);
  }

  protected async remove(instanceId: string): Promise<void> {
    const k = this.keys;
    this.#reply(await this.#c().sidecarRemove(k.ids, k.expiry, k.names, k.channel, k.namePrefix, instanceId));
  }

  protected fetchByName(name: string): Promise<unknown[]> {
    // JSON texts: BaseRegistry decodes and validates them.
    return this.#c().sidecarFetchByName(this.keys.expiry, this.keys.name(name)).then(this.#result);
  }

  protected async fetchAll(pattern: string): Promise<unknown[]> {
    if (!isPattern(pattern)) return this.fetchByName(pattern);
    const k = this.keys;
    return this.#reply(await this.#c().sidecarFetchAll(k.expiry, k.names, k.namePrefix));
  }

  protected async sweep(signal?: AbortSignal): Promise<void> {
    const client = this.#client;
    // While the server is away there is nothing to sweep; the outage was already reported.
    if (!client || client.status !== 'ready') return;
    const k = this.keys;
    for (let round = 0; round < MAX_SWEEP_ROUNDS && !signal?.aborted; round++) {
      const taken = this.#reply(
        await client.sidecarSweep(k.ids, k.expiry, k.names, k.channel, k.namePrefix, DEFAULT_SWEEP_BATCH),
      );
      if (taken < DEFAULT_SWEEP_BATCH) return;
    }
  }

  protected async subscribe(): Promise<void> {
    throw new Error('the Redis registry watches through its shared feed');
  }

  protected async unsubscribe(): Promise<void> {}

  /**
   * Registries of one process on the same server (same URL or the same options object) and
   * namespace share one subscriber connection and decode each change once (see BaseRegistry).
   */
  protected override feedKey(): string {
    return `${this.#connectionKey()}\u0000${this.keys.channel}`;
  }

  /** Same server, same options: the URL and the identity of each options object. */
  #connectionKey(): string {
    const o = this.#options;
    return `redis\u0000${o.url ?? ''}\u0000${identity(o.redis)}/${identity(o.sentinel)}/${identity(o.cluster)}`;
  }

  protected override async openFeed(
    sink: { deliver(change: unknown): void; reset(): void; failed(err: unknown): void },
    signal?: AbortSignal,
  ): Promise<() => void> {
    const subscriber = createClient(this.#options);
    await connectClient(subscriber, this.#target, this.#connectTimeout, signal);
    const channel = this.keys.channel;
    const target = this.#target;
    subscriber.on('message', (from: string, message: string) => {
      if (from === channel) sink.deliver(message); // JSON text: decoded once for the process
    });
    // ioredis resubscribes by itself after a reconnect; changes made meanwhile were missed.
    let lost = false;
    subscriber.on('ready', () => {
      lost = false;
      sink.reset();
    });
    subscriber.on('error', (err: unknown) => {
      if (lost) return;
      lost = true;
      sink.failed(this.unavailable(`lost the watch connection to Redis at ${target}; reconnecting`, err));
    });
    await subscriber.subscribe(channel);
    return () => subscriber.disconnect();
  }

  protected override localAddresses(): string[] {
    return this.#sockets().flatMap((socket) => (socket.localAddress ? [socket.localAddress] : []));
  }

  /**
   * Destroys every connection's socket; ioredis makes new ones at once (with Sentinel it asks
   * for the master again). Not `disconnect(true)`: that ends the socket gracefully, and on a
   * dead path the goodbye waits behind unacknowledged data for many minutes.
   */
  protected override reconnect(): void {
    for (const socket of this.#sockets()) socket.destroy();
  }

  /** The sockets of the client (every node of a Cluster). */
  #sockets(): Socket[] {
    const out: Socket[] = [];
    for (const client of [this.#client]) {
      if (!client) continue;
      const nodes = client instanceof Cluster ? client.nodes() : [client];
      for (const node of nodes) {
        const stream = (node as unknown as { stream?: Socket }).stream;
        if (stream) out.push(stream);
      }
    }
    return out;
  }

  protected override isTimeout(err: unknown): boolean {
    return err instanceof Error && COMMAND_TIMEOUT.test(err.message);
  }

  // ---- internals ---------------------------------------------------------------------------

  /** #reply as a callback made once (the hot paths add no closure per call). */
  readonly #result = <T>(reply: ScriptReply<T>): T => this.#reply(reply);
  readonly #found = (reply: ScriptReply<number>): boolean => this.#reply(reply) === 1;

  /** A script's result; the wrong-typed keys it skipped or moved aside are reported as warnings. */
  #reply<T>(reply: ScriptReply<T>): T {
    const [result, bad] = reply;
    if (bad === undefined || bad.length === 0) return result;
    for (const key of bad) {
      this.warn(
        new InvalidRecordError(
          `the Redis key ${key} does not hold what the registry stores there (written by another program?): the namespace keeps working without it`,
        ),
      );
    }
    return result;
  }

  get #connectTimeout(): number {
    return this.#options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT;
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

  /** The main connection is back: forget cached lookups, renew our records with a full lifetime. */
  #back(): void {
    this.#outage = false;
    this.connectionRestored();
  }
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;

/** A number per options object (0 for none): registries share a feed only with the same objects. */
function identity(options: object | undefined): number {
  if (options === undefined) return 0;
  let id = identities.get(options);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(options, id);
  }
  return id;
}
