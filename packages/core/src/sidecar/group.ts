import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { PeerInfo } from '../records.js';

/** Events of a PeerGroup. */
export interface PeerGroupEvents<S> {
  /** A stream to or from a matching peer was established. */
  stream: [stream: S, peer: PeerInfo];
}

/** What a group needs from its sidecar to open streams itself. */
export interface GroupHost<S> {
  /** Opens a stream to every live instance that matches and is not yet in the group. */
  connectAll(group: PeerGroup<S>, options: { signal?: AbortSignal }): Promise<S[]>;
}

/** Members a group never forwards: the group's own, the Duplex ones, and names tools probe. */
type NotForwarded = keyof PeerGroup<unknown> | keyof Duplex | 'then' | 'catch' | 'finally';

/**
 * What a group forwards from its streams: each method of the stream type `S` that is not a
 * Duplex or group member (nor in `Own`, what plugins added) can be called on the group; the
 * call is applied to every matching stream, open now or opened later. E.g. with the original
 * pillion as the last wrapper, `app.to('*').provide('greet', (name, cb) => cb('hi ' + name))`.
 */
export type GroupForward<S, Own = unknown> = {
  [K in Exclude<keyof S, NotForwarded | keyof Own> as S[K] extends (...args: never[]) => unknown
    ? K
    : never]: S[K] extends (...args: infer A) => unknown ? (...args: A) => void : never;
};

/** A group as `to(pattern)` returns it: its members, what plugins added (`G`), and the forwarded stream methods. */
export type GroupOf<S, G = unknown> = PeerGroup<S> & G & GroupForward<S, G>;

/** Property names the forwarding proxy leaves alone (promise, JSON and test-tool probes). */
const NOT_FORWARDED = new Set<string>([
  'then',
  'catch',
  'finally',
  'toJSON',
  'constructor',
  'asymmetricMatch',
  'nodeType',
  'tagName',
  'inspect',
  'toString',
  'valueOf',
  'toLocaleString',
]);

/** A forwarded call: replayed on every stream that joins the group later. */
interface ForwardedCall {
  method: string;
  args: unknown[];
}

/**
 * Every stream, incoming or outgoing, now and later, whose peer name matches a pattern.
 * Returned by `sidecar.to('worker-?')`; wrappers may add members (pillion adds `provide`).
 *
 * Besides its own members, a group forwards the methods of the streams its sidecar's wrapper
 * chain produces (see GroupForward): `group.provide(...)` over the original pillion calls
 * `provide` on every matching stream, now and later. A stream without that method is skipped.
 * Forwarded calls are set-up calls, replayed on every stream that joins later: one per method
 * and first argument (a second `provide('greet', fn)` replaces the first), so what a group keeps
 * stays as small as its set-up. For anything per stream or per request, use `forEach` or `streams`.
 *
 * @example
 * ```ts
 * app.to('*').forEach((stream, peer) => stream.write(`hello ${peer.name}\n`));
 * await app.to('worker-*').connectAll();
 * ```
 */
export class PeerGroup<S = Duplex> extends EventEmitter<PeerGroupEvents<S>> {
  readonly #streams = new Map<S, PeerInfo>();
  readonly #host: GroupHost<S>;

  /** The set-up calls to replay, by method and first argument (a later call replaces an earlier one). */
  readonly #forwarded = new Map<string, ForwardedCall>();
  #replaying = false;

  constructor(
    /** The glob this group matches peer names against. */
    readonly pattern: string,
    host: GroupHost<S>,
  ) {
    super();
    this.setMaxListeners(0);
    this.#host = host;
    // The proxy forwards unknown method names to the streams; the group's own members (and
    // those plugins assign) are used as is, bound to the group so its private fields work.
    const bound = new Map<PropertyKey, unknown>();
    // biome-ignore lint/correctness/noConstructorReturn: the group is its forwarding proxy
    return new Proxy(this, {
      get: (target, prop) => {
        if (prop in target || typeof prop !== 'string' || NOT_FORWARDED.has(prop) || /^[_$@]/.test(prop)) {
          const value: unknown = Reflect.get(target, prop, target);
          if (typeof value !== 'function') return value;
          let fn = bound.get(prop);
          if (!fn || (fn as { original?: unknown }).original !== value) {
            fn = Object.assign((value as (...a: unknown[]) => unknown).bind(target), { original: value });
            bound.set(prop, fn);
          }
          return fn;
        }
        let forward = bound.get(prop);
        if (!forward) {
          forward = (...args: unknown[]) => target.#forward(prop, args);
          bound.set(prop, forward);
        }
        return forward;
      },
    });
  }

  /** Calls `method(...args)` on every stream of the group, now and later. */
  #forward(method: string, args: unknown[]): void {
    const key = typeof args[0] === 'string' ? `${method}\u0000${args[0]}` : method;
    this.#forwarded.delete(key); // replayed in the order of the latest calls
    this.#forwarded.set(key, { method, args });
    if (!this.#replaying) {
      this.#replaying = true;
      this.on('stream', (stream) => {
        for (const call of this.#forwarded.values()) apply(stream, call);
      });
    }
    for (const stream of this.#streams.keys()) apply(stream, { method, args });
  }

  /** The open streams of the group and their peers. */
  get streams(): ReadonlyMap<S, PeerInfo> {
    return this.#streams;
  }

  /** Calls `fn` for every open stream now and for every stream added later. Returns an unsubscribe function. */
  forEach(fn: (stream: S, peer: PeerInfo) => void): () => void {
    for (const [stream, peer] of this.#streams) fn(stream, peer);
    this.on('stream', fn);
    return () => this.off('stream', fn);
  }

  /**
   * Opens a stream to every live instance whose name matches and that the group has no stream
   * with yet, and resolves with the new streams. Instances that cannot be reached are skipped.
   */
  connectAll(options: { signal?: AbortSignal } = {}): Promise<S[]> {
    return this.#host.connectAll(this, options);
  }

  /** True if the group already holds a stream with this instance. */
  has(instanceId: string): boolean {
    for (const peer of this.#streams.values()) if (peer.instanceId === instanceId) return true;
    return false;
  }

  /** Adds a stream (called by the sidecar); it leaves the group when it closes. */
  add(stream: S, peer: PeerInfo): void {
    if (this.#streams.has(stream)) return;
    this.#streams.set(stream, peer);
    (stream as unknown as Duplex).once('close', () => this.#streams.delete(stream));
    this.emit('stream', stream, peer);
  }
}

function apply(stream: unknown, { method, args }: ForwardedCall): void {
  const fn = (stream as Record<string, unknown>)[method];
  if (typeof fn === 'function' && !(stream as Duplex).destroyed) fn.apply(stream, args);
}
