import type { Duplex } from 'node:stream';
import {
  DialError,
  type InstanceRecord,
  InvalidConfigError,
  type PeerGroup,
  type PeerInfo,
  type Sidecar,
  validateName,
} from '@sidecar/core';
import { peerInfoOf } from '@sidecar/core/plugin-kit';
import { InvalidMethodUriError } from '../errors.js';
import { splitCallArgs } from '../protocol/call-args.js';
import type { CallOptions } from '../protocol/session.js';
import { PillionStream } from '../stream/pillion-stream.js';
import type { PillionGroup } from './group.js';
import { type MethodUri, parseMethodUri } from './method-uri.js';

/** One peer's outcome of a call through a method URI with a pattern. */
export type PeerResult<T = unknown> =
  | { peer: PeerInfo; ok: true; value: T }
  | { peer: PeerInfo; ok: false; error: Error };

/** A method URI whose peer part is a pattern (`ns://worker-?/m`, `ns://*\/m`): typed as many results. */
export type PatternMethodUri = `${string}://${string}${'*' | '?'}${string}/${string}`;

/** The promise-returning view of an API interface, as returned by `proxy<Api>()`. */
export type Remote<Api> = {
  [K in keyof Api as K extends string
    ? Api[K] extends (...args: never[]) => unknown
      ? K
      : never
    : never]: Api[K] extends (...args: infer A) => infer R ? (...args: A) => Promise<Awaited<R>> : never;
};

/** Options of `discover()`. */
export interface DiscoverOptions {
  /** Only peers whose name matches this glob. @default '*' */
  pattern?: string;
  /** Cancels the registry read. */
  signal?: AbortSignal;
}

/** What pillion adds to a sidecar. */
export interface PillionSidecar {
  /**
   * Calls a method by URI `namespace://peer/method` (namespace: this sidecar's registry
   * namespace). A peer name resolves like the call value of `stream.call`; a peer pattern calls
   * every matching live peer instance whose registry record lists the method and resolves with
   * one PeerResult per instance (never rejects because one peer failed). A trailing
   * `{ timeout?, signal? }` object is taken as call options.
   *
   * @example
   * ```ts
   * const receipt = await app.call('default://billing/charge', 10);
   * for (const r of await app.call('default://worker-?/resize', img)) if (!r.ok) console.error(r.peer.name, r.error);
   * ```
   */
  call<T = unknown>(uri: PatternMethodUri, ...args: unknown[]): Promise<PeerResult<T>[]>;
  call<T = unknown>(uri: string, ...args: unknown[]): Promise<T>;
  /** The live peers (other than this one) whose registry record lists `method`. */
  discover(method: string, options?: DiscoverOptions): Promise<InstanceRecord[]>;
  /**
   * A typed object whose methods call the peer's methods of the same name and return promises.
   *
   * @example
   * ```ts
   * interface Billing { charge(amount: number): Receipt }
   * const billing = app.proxy<Billing>('billing');
   * const receipt = await billing.charge(10);
   * ```
   */
  proxy<Api extends object>(name: string, options?: CallOptions): Remote<Api>;
  /** The RPC stream to `name` that `call()` and `proxy()` use: one per peer name, reopened after it closes. */
  rpc(name: string): PillionStream;
}

/** Pillion's state in one sidecar: cached streams and the methods its groups provide. */
export class PillionHost {
  readonly sidecar: Sidecar<PillionStream>;
  readonly #groups = new Map<PeerGroup<PillionStream>, PillionGroup>();
  readonly #streams = new Map<string, PillionStream>();
  readonly #connecting = new Map<string, Promise<unknown>>();
  #published = '';

  constructor(sidecar: Sidecar<PillionStream>) {
    this.sidecar = sidecar;
  }

  /** True if `group` belongs to this host's sidecar. */
  owns(group: PeerGroup<PillionStream>): boolean {
    return this.sidecar.group(group.pattern) === group;
  }

  /** Publishes the union of the methods every group provides in the sidecar's registry record. */
  publish(group: PeerGroup<PillionStream>, extension: PillionGroup): void {
    this.#groups.set(group, extension);
    const methods = new Set<string>();
    for (const ext of this.#groups.values()) for (const m of ext.providedMethods) methods.add(m);
    const sorted = [...methods].sort();
    const key = JSON.stringify(sorted);
    if (key === this.#published) return;
    this.#published = key;
    this.sidecar.updateRecord({ methods: sorted }).catch(() => {});
  }

  /** The members added to the sidecar. */
  members(): PillionSidecar {
    return {
      call: ((uri: string, ...args: unknown[]) => this.#call(uri, args)) as PillionSidecar['call'],
      discover: (method, options) => this.#discover(method, options),
      proxy: <Api extends object>(name: string, options: CallOptions = {}) => this.#proxy<Api>(name, options),
      rpc: (name) => this.#rpc(name),
    };
  }

  #rpc(name: string): PillionStream {
    validateName(name);
    const cached = this.#streams.get(name);
    if (cached && !cached.destroyed && !cached.writableEnded) return cached;
    const stream: Duplex = this.sidecar.to(name);
    if (!(stream instanceof PillionStream)) {
      stream.destroy();
      throw new InvalidConfigError('pillion must be the last stream wrapper for call(), proxy() and rpc()');
    }
    this.#streams.set(name, stream);
    stream.once('close', () => {
      if (this.#streams.get(name) === stream) this.#streams.delete(name);
    });
    return stream;
  }

  async #call(uri: string, args: unknown[]): Promise<unknown> {
    const { params, options } = splitCallArgs(args);
    const target = parseMethodUri(uri);
    if (target.namespace !== this.sidecar.namespace) {
      throw new InvalidMethodUriError(
        uri,
        `namespace "${target.namespace}" is not this peer's namespace "${this.sidecar.namespace}"; a sidecar reaches the peers of its own namespace only`,
      );
    }
    if (!target.pattern) return this.#rpc(target.peer).request(target.method, params, options);
    return this.#callEach(target, params, options);
  }

  async #callEach(target: MethodUri, params: unknown[], options: CallOptions): Promise<PeerResult[]> {
    const records = await this.#discover(target.method, { pattern: target.peer, signal: options.signal });
    if (records.length === 0) return [];
    const group = this.sidecar.group(target.peer);
    if (records.some((r) => !streamOf(group, r.instanceId))) await this.#connectAll(group);
    const results = await Promise.all(
      records.map(async (record): Promise<PeerResult> => {
        const peer = peerInfoOf(record);
        const stream = streamOf(group, record.instanceId);
        if (!stream) {
          const error = new DialError(
            `could not open a stream to instance ${record.instanceId} of "${record.name}"`,
          );
          return { peer, ok: false, error };
        }
        try {
          return { peer, ok: true, value: await stream.request(target.method, params, options) };
        } catch (error) {
          return { peer, ok: false, error: error as Error };
        }
      }),
    );
    return results.sort(
      (a, b) => compare(a.peer.name, b.peer.name) || compare(a.peer.instanceId, b.peer.instanceId),
    );
  }

  async #connectAll(group: PeerGroup<PillionStream>): Promise<void> {
    let connecting = this.#connecting.get(group.pattern);
    if (!connecting) {
      connecting = group.connectAll().finally(() => this.#connecting.delete(group.pattern));
      this.#connecting.set(group.pattern, connecting);
    }
    await connecting.catch(() => {});
  }

  async #discover(method: string, options: DiscoverOptions = {}): Promise<InstanceRecord[]> {
    const records = await this.sidecar.peers(options.pattern ?? '*', { signal: options.signal });
    return records.filter((r) => r.instanceId !== this.sidecar.instanceId && r.methods.includes(method));
  }

  #proxy<Api extends object>(name: string, options: CallOptions): Remote<Api> {
    validateName(name);
    const methods = new Map<string, (...args: unknown[]) => Promise<unknown>>();
    return new Proxy(Object.create(null) as object, {
      get: (_target, prop) => {
        if (typeof prop !== 'string' || prop === 'then' || prop === 'toJSON') return undefined;
        let fn = methods.get(prop);
        if (!fn) {
          fn = (...args: unknown[]) => this.#rpc(name).request(prop, args, options);
          methods.set(prop, fn);
        }
        return fn;
      },
    }) as Remote<Api>;
  }
}

function streamOf(group: PeerGroup<PillionStream>, instanceId: string): PillionStream | undefined {
  for (const [stream, peer] of group.streams) {
    if (peer.instanceId === instanceId && stream instanceof PillionStream && !stream.destroyed) return stream;
  }
  return undefined;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
