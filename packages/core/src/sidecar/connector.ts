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
import { delay, withTimeout } from '../util/abort.js';
import { encodeHello, type HelloPeer, readHello } from '../wire/hello.js';
import type { Strategy } from './config.js';

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

  /** Connects to some live instance of `name`. `signal` bounds the whole attempt (wait included). */
  async connect(name: string, signal: AbortSignal, waitedFrom = Date.now()): Promise<Connection> {
    const attempts: Error[] = [];
    let seen = false;
    let fresh = false;
    let backoff = FIRST_BACKOFF;
    for (;;) {
      let records: InstanceRecord[] = [];
      try {
        records = await this.#options.registry.lookup(name, { fresh, signal });
      } catch (err) {
        if (!isSidecarError(err) || !err.retryable || signal.aborted)
          throw this.#final(err, signal, name, seen, attempts, waitedFrom);
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
          try {
            return await this.connectInstance(record, signal);
          } catch (err) {
            if (signal.aborted) throw this.#final(err, signal, name, seen, attempts, waitedFrom);
            attempts.push(err as Error);
          }
        }
      }
      try {
        await delay(backoff, signal);
      } catch (err) {
        throw this.#final(err, signal, name, seen, attempts, waitedFrom);
      }
      backoff = Math.min(backoff * 2, MAX_BACKOFF);
      fresh = true;
    }
  }

  /** Connects to one given instance (dial + hello), within `dialTimeout`. */
  async connectInstance(record: InstanceRecord, parent: AbortSignal): Promise<Connection> {
    const picked = this.#pickEndpoint(record);
    if (!picked) {
      throw new NoCommonTransportError(
        record.name,
        record.endpoints.map((e) => e.transport),
        this.#options.transports.map((t) => t.name),
      );
    }
    const { transport, endpoint } = picked;
    const { signal, clear } = withTimeout(
      parent,
      this.#options.dialTimeout,
      `dialing ${record.name} at ${endpoint.host}:${endpoint.port}`,
    );
    let socket: Duplex | undefined;
    try {
      const expect = { name: record.name, namespace: record.namespace };
      socket = await transport.dial(endpoint, { signal: signal as AbortSignal, expect });
      socket.on('error', noop);
      socket.write(
        encodeHello({
          type: 'hello',
          from: this.#options.local,
          to: { name: record.name, instanceId: record.instanceId },
        }),
      );
      const answer = await readHello(socket, signal);
      if (answer.type === 'refuse') {
        throw new HelloRefusedError(
          answer.reason,
          `${endpoint.host}:${endpoint.port} refused the hello for "${record.name}": ${answer.message}`,
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
          `${endpoint.host}:${endpoint.port} is ${JSON.stringify(from?.name)}, not "${record.name}" (stale address)`,
        );
      }
      return { socket, peer: peerInfoOf(record) };
    } catch (err) {
      socket?.destroy();
      throw err;
    } finally {
      clear();
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

  #final(
    err: unknown,
    signal: AbortSignal,
    name: string,
    seen: boolean,
    attempts: Error[],
    since: number,
  ): Error {
    if (signal.aborted) {
      if (!(signal.reason instanceof TimeoutError)) return new AbortError(signal.reason);
      // The time limit ran out: say why the wait failed.
      if (!seen) return new PeerNotFoundError(name, Date.now() - since);
      return new PeerUnreachableError(name, attempts);
    }
    return err instanceof Error ? err : new Error(String(err));
  }
}
