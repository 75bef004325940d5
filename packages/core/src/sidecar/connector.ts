import type { Duplex } from 'node:stream';
import type { Registry } from '../contracts/registry.js';
import type { Transport } from '../contracts/transport.js';
import {
  AbortError,
  HelloRefusedError,
  isSidecarError,
  NoCommonTransportError,
  PeerNotFoundError,
  PeerUnreachableError,
  ProtocolError,
  TimeoutError,
} from '../errors.js';
import type { InstanceRecord, PeerInfo } from '../records.js';
import { peerInfoOf } from '../records.js';
import { delay } from '../util/abort.js';
import { encodeHello, type HelloPeer, readHello } from '../wire/hello.js';
import type { Strategy } from './config.js';

/** How long a connect may take: a deadline (ms since epoch) and, optionally, the caller's signal. */
export interface ConnectLimits {
  deadline: number;
  signal?: AbortSignal | undefined;
}

/** A connected socket and who is on the other end. */
export interface Connection {
  socket: Duplex;
  peer: PeerInfo;
}

/** What the connector needs from its sidecar. */
export interface ConnectorOptions {
  registry: Registry;
  /** Transports in the caller's preference order. */
  transports: Transport[];
  local: HelloPeer;
  strategy: Strategy;
  dialTimeout: number;
}

const FIRST_BACKOFF = 25;
const MAX_BACKOFF = 500;

function noop(): void {}

/**
 * Resolves a name to a connected, hello-checked socket: lookup, instance order, transport
 * choice, dial, hello, and failover to the next instance. While no instance answers it keeps
 * trying (fresh lookups, short backoff) until the caller's signal ends the wait.
 */
export class Connector {
  readonly #options: ConnectorOptions;
  readonly #turn = new Map<string, number>();

  constructor(options: ConnectorOptions) {
    this.#options = options;
  }

  /**
   * Connects to some live instance of `name`, trying until `limits.deadline` (the wait for the
   * name to appear included) unless `limits.signal` aborts first.
   */
  async connect(name: string, limits: ConnectLimits, waitedFrom = Date.now()): Promise<Connection> {
    const { signal, deadline } = limits;
    const attempts: Error[] = [];
    let seen = false;
    let fresh = false;
    let backoff = FIRST_BACKOFF;
    const giveUp = (): Error =>
      signal?.aborted
        ? new AbortError(signal.reason)
        : seen
          ? new PeerUnreachableError(name, attempts)
          : new PeerNotFoundError(name, Date.now() - waitedFrom);
    for (;;) {
      let records: InstanceRecord[] = [];
      try {
        records = await this.#options.registry.lookup(name, signal ? { fresh, signal } : { fresh });
      } catch (err) {
        if (!isSidecarError(err) || !err.retryable || signal?.aborted) throw signal?.aborted ? giveUp() : err;
        attempts.push(err);
      }
      if (records.length > 0) {
        seen = true;
        const usable = records.filter((r) => this.#pickEndpoint(r));
        if (usable.length === 0) {
          throw new NoCommonTransportError(
            name,
            [...new Set(records.flatMap((r) => r.endpoints.map((e) => e.transport)))],
            this.#options.transports.map((t) => t.name),
          );
        }
        for (const record of this.#order(usable, name)) {
          if (signal?.aborted || Date.now() >= deadline) throw giveUp();
          try {
            return await this.connectInstance(record, limits);
          } catch (err) {
            if (signal?.aborted) throw giveUp();
            attempts.push(err as Error);
          }
        }
      }
      const left = deadline - Date.now();
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
   * Connects to one given instance (dial + hello) within `dialTimeout` (and the deadline). One
   * AbortController per attempt, aborted by a plain timer: AbortSignal listeners are costly, so
   * the caller's signal is only linked when there is one, and the hello wait is ended by
   * destroying the socket rather than by another listener.
   */
  async connectInstance(record: InstanceRecord, limits: ConnectLimits): Promise<Connection> {
    const picked = this.#pickEndpoint(record);
    if (!picked) {
      throw new NoCommonTransportError(
        record.name,
        record.endpoints.map((e) => e.transport),
        this.#options.transports.map((t) => t.name),
      );
    }
    const { transport, endpoint } = picked;
    const where = `${endpoint.host}:${endpoint.port}`;
    const timeout = Math.max(0, Math.min(this.#options.dialTimeout, limits.deadline - Date.now()));
    const controller = new AbortController();
    let socket: Duplex | undefined;
    const stop = (reason: Error) => {
      controller.abort(reason);
      socket?.destroy(reason);
    };
    const timer = setTimeout(
      () => stop(new TimeoutError(`dialing "${record.name}" at ${where} timed out after ${timeout} ms`)),
      timeout,
    );
    const parent = limits.signal;
    const onParent = () => stop(new AbortError(parent?.reason));
    if (parent?.aborted) onParent();
    else parent?.addEventListener('abort', onParent, { once: true });
    try {
      const expect = { name: record.name, namespace: record.namespace };
      socket = await transport.dial(endpoint, { signal: controller.signal, expect });
      if (controller.signal.aborted) throw controller.signal.reason;
      socket.on('error', noop);
      socket.write(
        encodeHello({
          type: 'hello',
          from: this.#options.local,
          to: { name: record.name, instanceId: record.instanceId },
        }),
      );
      const answer = await readHello(socket);
      if (answer.type === 'refuse') {
        throw new HelloRefusedError(
          answer.reason,
          `${where} refused the hello for "${record.name}": ${answer.message}`,
        );
      }
      if (answer.type !== 'welcome') throw new ProtocolError(`expected a welcome, got a ${answer.type}`);
      const from = answer.from;
      if (
        from?.name !== record.name ||
        from.instanceId !== record.instanceId ||
        from.namespace !== record.namespace
      ) {
        throw new HelloRefusedError(
          'wrong-peer',
          `${where} is ${JSON.stringify(from?.name)}, not "${record.name}" (stale address)`,
        );
      }
      return { socket, peer: peerInfoOf(record) };
    } catch (err) {
      socket?.destroy();
      throw controller.signal.aborted ? controller.signal.reason : err;
    } finally {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
    }
  }

  #pickEndpoint(
    record: InstanceRecord,
  ): { transport: Transport; endpoint: InstanceRecord['endpoints'][number] } | undefined {
    for (const transport of this.#options.transports) {
      const endpoint = record.endpoints.find((e) => e.transport === transport.name);
      if (endpoint) return { transport, endpoint };
    }
    return undefined;
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
