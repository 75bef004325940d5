import type { Duplex } from 'node:stream';
import type { IncomingConnection } from '../contracts/transport.js';
import { type ConnectionLimit, ConnectionLimitError } from '../errors.js';
import { sourceAddress, WaitingRoom } from '../util/waiting-room.js';
import { encodeHello } from '../wire/hello.js';

/** The limits `Admission` enforces (see SidecarConfig for what each means). */
export interface AdmissionLimits {
  maxPendingHellos: number;
  maxPendingHellosPerAddress: number;
  maxIncomingConnections: number;
}

/** One accepted connection, from its first byte until it closes. */
export interface Admitted {
  readonly stream: Duplex;
  readonly address: string;
  /** Waiting for its hello (true) or carrying a stream (false). */
  pending: boolean;
  /** When it was accepted, then when it last moved a byte (as far as the last look saw). */
  since: number;
  /** Bytes read + written at the last look; -1 when the stream does not count them. */
  bytes: number;
  /** Closed by a limit (already reported). */
  evicted: boolean;
  /** A standby connection not used yet: idle by definition, the first closed to make room. */
  standby?: boolean;
}

/** How long a refused newcomer keeps its socket, so that the caller can read why, in ms. */
const BUSY_LINGER_MS = 200;

/**
 * Connection limits of one sidecar's listeners. A flood must not take the descriptors that
 * legitimate callers need, so each limit, when reached, sheds the connection that has proven the
 * least for longest: the one waiting longest for its hello (from the same address first), or at
 * the total limit that one or the stream silent longest, whichever has waited or been silent longer. Only when every stream is moving bytes is the newcomer refused
 * (with a `busy` refusal its caller can read). Every eviction and refusal is reported through
 * `warn` as a ConnectionLimitError.
 */
export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #warn: (error: ConnectionLimitError) => void;
  /** Connections waiting for their hello, oldest first. */
  readonly #pending: WaitingRoom<Admitted>;
  readonly #established = new Set<Admitted>();

  constructor(limits: AdmissionLimits, warn: (error: ConnectionLimitError) => void) {
    this.#limits = limits;
    this.#warn = warn;
    this.#pending = new WaitingRoom(
      { max: limits.maxPendingHellos, maxPerAddress: limits.maxPendingHellosPerAddress },
      (entry, limit) =>
        limit === 'total'
          ? this.#evict(entry, 'pending-hellos', limits.maxPendingHellos)
          : this.#evict(entry, 'pending-hellos-per-address', limits.maxPendingHellosPerAddress),
    );
  }

  /** Connections waiting for their hello. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Incoming connections in all: waiting for a hello or carrying a stream. */
  get total(): number {
    return this.#pending.size + this.#established.size;
  }

  /** Admits a new connection (evicting others to make room), or refuses it and returns undefined. */
  admit(connection: IncomingConnection): Admitted | undefined {
    const { stream } = connection;
    const address = sourceAddress(connection.remoteAddress);
    const limits = this.#limits;
    this.#pending.makeRoom(address);
    if (this.total >= limits.maxIncomingConnections) {
      // Whichever has proven least for longer: the oldest wait for a hello, or the longest silence.
      const waiting = this.#pending.oldest();
      const silent = this.#idlest();
      const victim =
        waiting && silent ? (waiting.since <= silent.since ? waiting : silent) : (waiting ?? silent);
      if (!victim) {
        this.#refuse(stream, address);
        return undefined;
      }
      this.#evict(victim, 'incoming-connections', limits.maxIncomingConnections);
    }
    const entry: Admitted = { stream, address, pending: true, since: Date.now(), bytes: -1, evicted: false };
    this.#pending.add(entry);
    stream.once('close', () => this.#forget(entry));
    return entry;
  }

  /** The connection finished its hello: it now carries a stream. */
  established(entry: Admitted): void {
    if (!entry.pending || !this.#pending.has(entry)) return;
    this.#pending.remove(entry);
    entry.pending = false;
    entry.since = Date.now();
    entry.bytes = bytesOf(entry.stream);
    this.#established.add(entry);
  }

  /** A standby connection is held (`true`) or was turned into a stream (`false`). */
  standby(entry: Admitted, waiting: boolean): void {
    entry.standby = waiting;
    entry.since = Date.now();
    entry.bytes = bytesOf(entry.stream);
  }

  /**
   * The established stream silent longest, if any is silent: a standby connection not used yet
   * (the oldest first), else one that moved no byte since the previous look (or since its hello).
   * A stream that moved bytes since then is busy and spared; one whose transport counts no bytes
   * is never taken for silent.
   */
  #idlest(): Admitted | undefined {
    const now = Date.now();
    let victim: Admitted | undefined;
    for (const entry of this.#established) {
      if (entry.standby) {
        if (!victim?.standby || entry.since < victim.since) victim = entry;
        continue;
      }
      if (victim?.standby) continue;
      const bytes = bytesOf(entry.stream);
      if (bytes < 0) continue;
      if (bytes !== entry.bytes) {
        entry.bytes = bytes;
        entry.since = now;
        continue;
      }
      if (!victim || entry.since < victim.since) victim = entry;
    }
    return victim;
  }

  #evict(entry: Admitted | undefined, limit: ConnectionLimit, max: number): void {
    if (!entry) return;
    this.#forget(entry);
    entry.evicted = true;
    entry.stream.destroy();
    const what = entry.pending
      ? `the connection from ${entry.address} that waited longest for its hello`
      : `the stream from ${entry.address} silent for ${Date.now() - entry.since} ms`;
    this.#warn(
      new ConnectionLimitError(
        limit,
        max,
        'evicted',
        `${limitText(limit, max)}: closed ${what} to make room`,
      ),
    );
  }

  #refuse(stream: Duplex, address: string): void {
    const max = this.#limits.maxIncomingConnections;
    const message = `${limitText('incoming-connections', max)} and every stream is busy`;
    stream.on('error', () => {});
    stream.end(encodeHello({ type: 'refuse', reason: 'busy', message }));
    setTimeout(() => stream.destroy(), BUSY_LINGER_MS).unref();
    this.#warn(
      new ConnectionLimitError('incoming-connections', max, 'refused', `refused ${address}: ${message}`),
    );
  }

  #forget(entry: Admitted): void {
    if (entry.pending) this.#pending.remove(entry);
    else this.#established.delete(entry);
  }
}

function limitText(limit: ConnectionLimit, max: number): string {
  const what = {
    'pending-hellos': 'connections waiting for a hello',
    'pending-hellos-per-address': 'connections waiting for a hello from one address',
    'incoming-connections': 'incoming connections',
    'pending-handshakes': 'connections waiting for a TLS handshake',
    'pending-handshakes-per-address': 'connections waiting for a TLS handshake from one address',
  }[limit];
  return `${max} ${what} reached`;
}

function bytesOf(stream: Duplex): number {
  const { bytesRead, bytesWritten } = stream as { bytesRead?: unknown; bytesWritten?: unknown };
  return typeof bytesRead === 'number' && typeof bytesWritten === 'number' ? bytesRead + bytesWritten : -1;
}
