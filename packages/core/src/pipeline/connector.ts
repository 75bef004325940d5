import type { Duplex } from 'node:stream';
import { DEFAULT_ENDPOINT_STAGGER, type Strategy } from '../config/config.js';
import type { Registry } from '../contracts/registry.js';
import type { Transport } from '../contracts/transport.js';
import { phaseStart, publishConnectPhase, publishDialFailure } from '../diagnostics.js';
import {
  AbortError,
  isSidecarError,
  NoCommonTransportError,
  PeerNotFoundError,
  PeerUnreachableError,
} from '../errors.js';
import type { Endpoint, InstanceRecord, PeerInfo } from '../records.js';
import { delay } from '../util/abort.js';
import type { HelloPeer } from '../wire/hello.js';
import { checkDialPolicy, type DialPolicy } from './dial-policy.js';
import { type Attempt, type Candidate, isHopeless, raceDials } from './dial-race.js';
import { encodeOffer, offerHello } from './handshake.js';

/** How long a connect may take: a deadline (ms since epoch) and, optionally, the caller's signal. */
export interface ConnectLimits {
  deadline: number;
  signal?: AbortSignal | undefined;
}

/** A connected socket and who is on the other end. */
export interface Connection {
  socket: Duplex;
  peer: PeerInfo;
  /** The name of the transport it came through. */
  transport?: string;
  /** The callee holds standby connections (see StandbyPool). */
  standby?: boolean;
  /** The endpoint it was dialled at. */
  endpoint?: Endpoint;
}

/** Where the connector finds and refills connections opened ahead of need. */
export interface StandbyHook {
  /** An activated standby connection to this instance, if one is ready. */
  take(record: InstanceRecord): Connection | undefined;
  /** Opens standby connections to this instance in the background. */
  refill(record: InstanceRecord): void;
}

/** What the connector needs from its sidecar. */
export interface ConnectorOptions {
  registry: Registry;
  /** Transports in the caller's preference order. */
  transports: Transport[];
  local: HelloPeer;
  strategy: Strategy;
  dialTimeout: number;
  /** Which endpoints may be dialled (after the built-in rule). @default undefined (all but the forbidden) */
  dialPolicy?: DialPolicy | undefined;
  /** Delay before the next endpoint of an instance is raced against a pending one, in ms. @default 250 */
  endpointStagger?: number | undefined;
  /** The time source of deadlines. @default Date.now */
  now?: () => number;
  /** Standby connections to use and refill. @default none */
  standby?: StandbyHook | undefined;
}

/** What one connect has learnt so far: every failure, and the endpoints not worth dialling again. */
interface ConnectState {
  attempts: Error[];
  /** Keys of endpoints that failed for a reason a retry within this connect cannot cure. */
  hopeless: Set<string>;
  /** Each hopeless endpoint's failure was a configuration error (not retryable at all). */
  fatal: Map<string, boolean>;
}

/** At most this many endpoints of one instance are dialled per connect; the rest are ignored. */
export const MAX_ENDPOINTS_PER_INSTANCE = 16;

const FIRST_BACKOFF = 25;
const MAX_BACKOFF = 500;

function keyOf(record: InstanceRecord, candidate: Candidate): string {
  const { transport, host, port } = candidate.endpoint;
  return `${record.instanceId}|${transport}|${host}|${port}`;
}

/**
 * Resolves a name to a connected, hello-checked socket: lookup, instance order, endpoint choice,
 * dial, hello, and failover to the next endpoint, the next transport and the next instance.
 *
 * Within one connect an endpoint that failed for a reason a retry cannot cure (nothing listens,
 * no route, a refusal) is not dialled again; others (timeouts, resets) are, after a short backoff,
 * with fresh lookups, until the deadline. When every endpoint is ruled out by a configuration
 * error (certificate, namespace, dial policy) the connect fails at once, not retryable.
 */
export class Connector {
  readonly #options: ConnectorOptions;
  readonly #turn = new Map<string, number>();
  /** The hello to each record (plain, standby) encoded once: lookups reuse the record object. */
  readonly #hellos = [new WeakMap<InstanceRecord, Buffer>(), new WeakMap<InstanceRecord, Buffer>()];

  readonly #now: () => number;

  constructor(options: ConnectorOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Connects to some live instance of `name`, trying until `limits.deadline` (the wait for the
   * name to appear included) unless `limits.signal` aborts first.
   */
  async connect(name: string, limits: ConnectLimits, waitedFrom = this.#now()): Promise<Connection> {
    const { signal, deadline } = limits;
    const state: ConnectState = { attempts: [], hopeless: new Set(), fatal: new Map() };
    let seen = false;
    let fresh = false;
    let backoff = FIRST_BACKOFF;
    const giveUp = (): Error =>
      signal?.aborted
        ? new AbortError(signal.reason)
        : seen
          ? new PeerUnreachableError(name, state.attempts)
          : new PeerNotFoundError(name, this.#now() - waitedFrom);
    for (;;) {
      let records: InstanceRecord[] = [];
      const lookupStart = phaseStart();
      try {
        records = await this.#options.registry.lookup(name, signal ? { fresh, signal } : { fresh });
        publishConnectPhase(this.#options.local.instanceId, name, 'lookup', lookupStart);
      } catch (err) {
        publishConnectPhase(this.#options.local.instanceId, name, 'lookup', lookupStart, err);
        if (!isSidecarError(err) || !err.retryable || signal?.aborted) throw signal?.aborted ? giveUp() : err;
        state.attempts.push(err);
      }
      if (records.length > 0) {
        seen = true;
        const usable = records.filter((r) => this.#candidates(r).length > 0);
        if (usable.length === 0) {
          throw new NoCommonTransportError(
            name,
            [...new Set(records.flatMap((r) => r.endpoints.map((e) => e.transport)))],
            this.#options.transports.map((t) => t.name),
          );
        }
        for (const record of this.#order(usable, name)) {
          if (signal?.aborted || this.#now() >= deadline) throw giveUp();
          const connection = await this.#connectRecord(record, limits, state);
          if (connection) return connection;
          if (signal?.aborted) throw giveUp();
        }
        // Every endpoint ruled out by a configuration error: no retry can cure it, fail at once.
        const keys = usable.flatMap((r) => this.#candidates(r).map((c) => keyOf(r, c)));
        if (keys.every((k) => state.fatal.get(k) === true)) throw giveUp();
      }
      const left = deadline - this.#now();
      if (left <= 0) throw giveUp();
      try {
        await delay(Math.min(backoff, left), signal);
      } catch {
        throw giveUp();
      }
      backoff = Math.min(backoff * 2, MAX_BACKOFF);
      fresh = true;
    }
  }

  /**
   * Connects to one given instance (its endpoints in order, then the hello) within the deadline.
   * Rejects with PeerUnreachableError listing every failure.
   */
  async connectInstance(record: InstanceRecord, limits: ConnectLimits, standby = false): Promise<Connection> {
    if (this.#candidates(record).length === 0) {
      throw new NoCommonTransportError(
        record.name,
        record.endpoints.map((e) => e.transport),
        this.#options.transports.map((t) => t.name),
      );
    }
    const state: ConnectState = { attempts: [], hopeless: new Set(), fatal: new Map() };
    const connection = await this.#connectRecord(record, limits, state, standby);
    if (connection) return connection;
    if (limits.signal?.aborted) throw new AbortError(limits.signal.reason);
    throw new PeerUnreachableError(record.name, state.attempts);
  }

  /** Tries the endpoints of one instance not yet ruled out; undefined when none answered. */
  async #connectRecord(
    record: InstanceRecord,
    limits: ConnectLimits,
    state: ConnectState,
    standby = false,
  ): Promise<Connection | undefined> {
    const pool = this.#options.standby;
    if (!standby) {
      const spare = pool?.take(record);
      if (spare) return spare;
    }
    const fail = (candidate: Candidate, err: Error) => {
      state.attempts.push(err);
      if (!standby) publishDialFailure(this.#options.local.instanceId, candidate.transport.name, err);
      if (!isHopeless(err)) return;
      const key = keyOf(record, candidate);
      state.hopeless.add(key);
      state.fatal.set(key, isSidecarError(err) && !err.retryable);
    };
    let open: Candidate[] = [];
    for (const candidate of this.#candidates(record)) {
      if (state.hopeless.has(keyOf(record, candidate))) continue;
      const refused = checkDialPolicy(candidate.endpoint, this.#options.dialPolicy);
      if (refused) fail(candidate, refused);
      else open.push(candidate);
    }
    const expect = { name: record.name, namespace: record.namespace };
    while (open.length > 0) {
      const dialStart = phaseStart();
      const winner = await raceDials(open, {
        expect,
        timeout: () => Math.max(0, Math.min(this.#options.dialTimeout, limits.deadline - this.#now())),
        stagger: this.#options.endpointStagger ?? DEFAULT_ENDPOINT_STAGGER,
        signal: limits.signal,
        onFailure: fail,
      });
      if (!winner) return undefined;
      if (!standby) publishConnectPhase(this.#options.local.instanceId, record.name, 'dial', dialStart);
      const helloStart = phaseStart();
      try {
        const connection = await this.#hello(record, winner, standby);
        if (!standby)
          publishConnectPhase(this.#options.local.instanceId, record.name, 'handshake', helloStart);
        if (!standby && connection.standby) pool?.refill(record);
        return connection;
      } catch (err) {
        if (!standby)
          publishConnectPhase(this.#options.local.instanceId, record.name, 'handshake', helloStart, err);
        if (limits.signal?.aborted) return undefined;
        fail(winner.candidate, err as Error);
      } finally {
        winner.clear();
      }
      // The hello failed on the winner: the others were aborted, so try the rest without it.
      open = open.filter((c) => c !== winner.candidate && !state.hopeless.has(keyOf(record, c)));
    }
    return undefined;
  }

  /** The caller's half of the handshake on the winning socket; the attempt's timer bounds it. */
  async #hello(record: InstanceRecord, attempt: Attempt, standby: boolean): Promise<Connection> {
    const socket = attempt.socket as Duplex;
    try {
      const welcomed = await offerHello(socket, this.#helloTo(record, standby), record, attempt.where);
      return {
        socket,
        peer: welcomed.peer,
        transport: attempt.candidate.transport.name,
        standby: welcomed.standby,
        endpoint: attempt.candidate.endpoint,
      };
    } catch (err) {
      throw attempt.signal.aborted ? attempt.signal.reason : err;
    }
  }

  #helloTo(record: InstanceRecord, standby: boolean): Buffer {
    const cache = this.#hellos[standby ? 1 : 0] as WeakMap<InstanceRecord, Buffer>;
    let hello = cache.get(record);
    if (!hello) {
      hello = encodeOffer(this.#options.local, record, standby);
      cache.set(record, hello);
    }
    return hello;
  }

  /**
   * The endpoints to try: the caller's transports in preference order, each one's endpoints in
   * record order, at most MAX_ENDPOINTS_PER_INSTANCE (a registry row cannot turn one connect into
   * a scan of many addresses).
   */
  #candidates(record: InstanceRecord): Candidate[] {
    const out: Candidate[] = [];
    for (const transport of this.#options.transports) {
      for (const endpoint of record.endpoints) {
        if (out.length === MAX_ENDPOINTS_PER_INSTANCE) return out;
        if (endpoint.transport === transport.name) out.push({ transport, endpoint });
      }
    }
    return out;
  }

  #order(records: InstanceRecord[], name: string): InstanceRecord[] {
    const strategy = this.#options.strategy;
    if (typeof strategy === 'function') return strategy([...records], name);
    if (strategy === 'first') return records;
    if (strategy === 'random') return [...records].sort(() => Math.random() - 0.5);
    const sorted = [...records].sort((a, b) => (a.instanceId < b.instanceId ? -1 : 1));
    const turn = this.#turn.get(name) ?? 0;
    this.#turn.set(name, turn + 1);
    const start = turn % sorted.length;
    return [...sorted.slice(start), ...sorted.slice(0, start)];
  }
}
