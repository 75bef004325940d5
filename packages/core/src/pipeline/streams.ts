import type { Duplex } from 'node:stream';
import type { EventBus, StreamInfo } from '../contracts/services.js';
import { matchName } from '../names.js';
import type { PeerInfo } from '../records.js';
import type { PeerGroup } from '../sidecar/group.js';
import { delay } from '../util/abort.js';
import type { StreamContext, WrapperChain } from './wrapper-chain.js';

const DRAIN_POLL_MS = 20;
const DRAIN_QUIET_MS = 150;

/**
 * The last step of both directions: wraps a connection, announces it (`open` on the event bus,
 * `stream` on every group whose pattern matches), and keeps count of what is open so that
 * `stop()` can drain and close it.
 */
export class Streams {
  /** Groups by pattern (`to('*')`); a new stream joins each one it matches. */
  readonly groups = new Map<string, PeerGroup<Duplex>>();
  readonly #open = new Set<Duplex>();
  readonly #events: EventBus;
  readonly #wrappers: WrapperChain;

  constructor(events: EventBus, wrappers: WrapperChain) {
    this.#events = events;
    this.#wrappers = wrappers;
  }

  /** How many connections are open. */
  get size(): number {
    return this.#open.size;
  }

  /** Counts a connection as open until it closes. */
  track(connection: Duplex): void {
    if (this.#open.has(connection)) return;
    this.#open.add(connection);
    connection.once('close', () => this.#open.delete(connection));
  }

  /** Stops counting a connection (a standby one, which is no stream yet). */
  untrack(connection: Duplex): void {
    this.#open.delete(connection);
  }

  /**
   * Wraps a connection and announces the result once connected (at once when `context.peer` is
   * set; when `connected` resolves for a stream `to()` returned before connecting).
   */
  deliver(connection: Duplex, context: StreamContext, transport: () => string | undefined): Duplex {
    const stream = this.#wrappers.wrap(connection, context);
    const announce = (peer: PeerInfo) =>
      this.#announce(stream, { direction: context.direction, peer, transport: transport() });
    if (context.peer) announce(context.peer);
    else
      context.connected.then((peer) => {
        (context as { peer?: PeerInfo }).peer = peer;
        announce(peer);
      }, noop);
    return stream;
  }

  #announce(stream: Duplex, info: StreamInfo): void {
    this.#events.emit('open', stream, info);
    for (const group of this.groups.values())
      if (matchName(group.pattern, info.peer.name)) group.add(stream, info.peer);
  }

  /**
   * Waits up to `ms` for the open connections to finish. Listeners stay open meanwhile: a caller
   * whose cache still had this peer is served, so it counts as drained only after a quiet moment.
   */
  async drain(ms: number, now: () => number): Promise<void> {
    const deadline = now() + ms;
    while (now() < deadline) {
      const empty = this.#open.size === 0;
      await delay(Math.min(empty ? DRAIN_QUIET_MS : DRAIN_POLL_MS, Math.max(0, deadline - now())));
      if (empty && this.#open.size === 0) return;
    }
  }

  /** Destroys every open connection. */
  destroyAll(): void {
    for (const connection of this.#open) connection.destroy();
    this.#open.clear();
  }
}

function noop(): void {}
