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

/**
 * Every stream, incoming or outgoing, now and later, whose peer name matches a pattern.
 * Returned by `sidecar.to('worker-?')`; wrappers may add members (pillion adds `provide`).
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

  constructor(
    /** The glob this group matches peer names against. */
    readonly pattern: string,
    host: GroupHost<S>,
  ) {
    super();
    this.setMaxListeners(0);
    this.#host = host;
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
