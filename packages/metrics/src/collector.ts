import type { Duplex } from 'node:stream';
import {
  type DependencyContainer,
  EVENTS,
  type EventBus,
  LIFECYCLE,
  type Lifecycle,
  type Registry,
  resolve,
  SELF,
} from '@sidecar/core';
import {
  type ConnectPhaseMessage,
  DIAGNOSTICS,
  type DialFailureMessage,
  type HeartbeatMessage,
  type HelloRefusalMessage,
  type RegistryOperationMessage,
  type StreamOpenMessage,
} from '@sidecar/core/diagnostics';
import { METRICS } from './definitions.js';
import { DISPATCHERS, type Handler, RPC_CALLS } from './dispatcher.js';
import type { CounterLike, HistogramLike, Instruments, Labels } from './instruments.js';
import { MAX_KNOWN_NAMES } from './options.js';
import { RpcRecorder } from './rpc-recorder.js';

interface Open {
  direction: string;
  transport: string;
}

/** A stream of the wrapper chain that tells how many callbacks it waits for (a pillion stream). */
interface WithPending {
  readonly pendingCallbacks: number;
}

const NO_LABELS: Labels = {};

function counted(stream: Duplex): { read: number; written: number } {
  const s = stream as Partial<{ bytesRead: number; bytesWritten: number }>;
  return {
    read: typeof s.bytesRead === 'number' ? s.bytesRead : 0,
    written: typeof s.bytesWritten === 'number' ? s.bytesWritten : 0,
  };
}

/**
 * The figures of one sidecar: subscribes to core's diagnostics channels (RPC calls: its direct observer), keeps what only this
 * sidecar's messages say (every message names its owner), and reports it to the instruments.
 * It resolves what it needs of the sidecar from its container: who it is (SELF), its events
 * (EVENTS: started, stopped, every stream opened) and its lifecycle (state, registry).
 */
export class SidecarCollector {
  readonly #instanceId: string;
  readonly #events: EventBus;
  readonly #lifecycle: Lifecycle;
  readonly #open = new Map<Duplex, Open>();
  /** Bytes of closed streams, by `direction|transport`. */
  readonly #closedBytes = new Map<string, { read: number; written: number }>();
  readonly #pending = new Set<WithPending>();
  readonly #handlers: Array<[string, Handler]> = [];
  readonly #rpc: RpcRecorder;
  #registry: Registry | undefined;
  /** The key of this sidecar's registry operations: its registry once loaded (a placeholder before). */
  #registryKey: object = {};
  #lastRenewal = 0;
  #ttl = 0;
  #subscribed = false;

  readonly #opened: CounterLike;
  readonly #closed: CounterLike;
  readonly #connect: HistogramLike;
  readonly #dialFailures: CounterLike;
  readonly #refusals: CounterLike;
  readonly #registryDuration: HistogramLike;
  readonly #registryErrors: CounterLike;
  readonly #heartbeatFailures: CounterLike;

  constructor(container: DependencyContainer, instruments: Instruments) {
    this.#instanceId = resolve(container, SELF).instanceId;
    this.#events = resolve(container, EVENTS);
    this.#lifecycle = resolve(container, LIFECYCLE);
    const events = this.#events;
    this.#opened = instruments.counter(METRICS.streamsOpened);
    this.#closed = instruments.counter(METRICS.streamsClosed);
    this.#connect = instruments.histogram(METRICS.connectDuration);
    this.#dialFailures = instruments.counter(METRICS.dialFailures);
    this.#refusals = instruments.counter(METRICS.helloRefusals);
    this.#registryDuration = instruments.histogram(METRICS.registryDuration);
    this.#registryErrors = instruments.counter(METRICS.registryErrors);
    this.#heartbeatFailures = instruments.counter(METRICS.heartbeatFailures);
    instruments.observable(METRICS.streamsActive, (report) => {
      const counts = new Map<string, number>();
      for (const o of this.#open.values()) {
        const key = `${o.direction}|${o.transport}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, n] of counts) report(n, labelsOfKey(key));
    });
    instruments.observable(METRICS.bytesReceived, (report) => this.#reportBytes(report, 'read'), true);
    instruments.observable(METRICS.bytesSent, (report) => this.#reportBytes(report, 'written'), true);
    instruments.observable(METRICS.heartbeatLag, (report) => {
      if (this.#lastRenewal > 0) report((Date.now() - this.#lastRenewal) / 1000, NO_LABELS);
    });
    instruments.observable(METRICS.heartbeatTtl, (report) => {
      if (this.#ttl > 0) report(this.#ttl / 1000, NO_LABELS);
    });
    instruments.observable(METRICS.rpcPending, (report) => {
      let n = 0;
      for (const s of this.#pending) n += s.pendingCallbacks;
      report(n, NO_LABELS);
    });
    instruments.observable(METRICS.peersKnown, async (report) => {
      const registry = this.#lifecycle.registry;
      if (this.#lifecycle.state !== 'started' || !registry) return;
      const records = await registry.list('*').catch(() => []);
      const counts = new Map<string, number>();
      for (const r of records) {
        const name = counts.has(r.name) || counts.size < MAX_KNOWN_NAMES ? r.name : '*other*';
        counts.set(name, (counts.get(name) ?? 0) + 1);
      }
      for (const [name, n] of counts) report(n, { 'peer.name': name });
    });
    this.#on(DIAGNOSTICS.streamOpen, (m: StreamOpenMessage) => this.#streamOpened(m));
    this.#on(DIAGNOSTICS.connectPhase, (m: ConnectPhaseMessage) =>
      this.#connect.record(m.duration, { phase: m.phase, 'error.type': m.error ?? '' }),
    );
    this.#on(DIAGNOSTICS.dialFailure, (m: DialFailureMessage) =>
      this.#dialFailures.add(1, { transport: m.transport, 'error.type': m.code }),
    );
    this.#on(DIAGNOSTICS.helloRefusal, (m: HelloRefusalMessage) =>
      this.#refusals.add(1, { side: m.side, reason: m.reason }),
    );
    this.#on(DIAGNOSTICS.heartbeat, (m: HeartbeatMessage) => {
      this.#ttl = m.ttl;
      if (m.ok) this.#lastRenewal = Date.now();
      else this.#heartbeatFailures.add(1, NO_LABELS);
    });
    this.#rpc = new RpcRecorder(
      instruments.histogram(METRICS.rpcClient),
      instruments.histogram(METRICS.rpcServer),
      instruments.counter(METRICS.rpcErrors),
    );
    this.#handlers.push([
      DIAGNOSTICS.registryOperation,
      (message) => {
        const m = message as RegistryOperationMessage;
        const labels = { operation: m.operation, 'error.type': m.error ?? '' };
        this.#registryDuration.record(m.duration, labels);
        if (m.error) this.#registryErrors.add(1, labels);
      },
    ]);
    // Streams whose wrappers count pending callbacks (pillion) are followed from the event bus.
    events.on('open', (stream) => this.#track(stream));
    events.on('started', () => {
      this.#lastRenewal = Date.now();
      // The registry is known once started: route its operations here from now on.
      const registry = this.#registryOf();
      if (registry && registry !== this.#registryKey && this.#subscribed) {
        DISPATCHERS.get(DIAGNOSTICS.registryOperation)?.delete(this.#registryKey);
        this.#registryKey = registry;
        const handler = this.#handlers.find(([name]) => name === DIAGNOSTICS.registryOperation)?.[1];
        if (handler) DISPATCHERS.get(DIAGNOSTICS.registryOperation)?.add(registry, handler);
      }
      this.start();
    });
    events.on('stopped', () => this.stop());
  }

  /** Subscribes to the channels (idempotent). */
  start(): void {
    if (this.#subscribed) return;
    this.#subscribed = true;
    for (const [name, fn] of this.#handlers) DISPATCHERS.get(name)?.add(this.#keyFor(name), fn);
    RPC_CALLS.add(this.#instanceId, this.#rpc);
  }

  /** The key messages of `channel` name this sidecar by: its instance id, or its registry object. */
  #keyFor(channel: string): unknown {
    return channel === DIAGNOSTICS.registryOperation ? this.#registryKey : this.#instanceId;
  }

  /** Unsubscribes (idempotent); open streams are forgotten. */
  stop(): void {
    if (!this.#subscribed) return;
    this.#subscribed = false;
    for (const [name] of this.#handlers) DISPATCHERS.get(name)?.delete(this.#keyFor(name));
    RPC_CALLS.delete(this.#instanceId);
    for (const stream of [...this.#open.keys()]) this.#closedStream(stream);
    this.#pending.clear();
  }

  /** Follows a wrapped stream that counts pending callbacks (a pillion stream) until it closes. */
  #track(stream: Duplex): void {
    if (typeof (stream as Partial<WithPending>).pendingCallbacks !== 'number') return;
    const s = stream as Duplex & WithPending;
    this.#pending.add(s);
    stream.once('close', () => this.#pending.delete(s));
  }

  /** Handles this sidecar's messages of one channel (the dispatcher routes them by owner). */
  #on<M extends { owner: string }>(name: string, fn: (message: M) => void): void {
    this.#handlers.push([name, fn as Handler]);
  }

  #registryOf(): Registry | undefined {
    if (this.#registry) return this.#registry;
    this.#registry = this.#lifecycle.registry;
    return this.#registry;
  }

  #streamOpened(m: StreamOpenMessage): void {
    const stream = m.stream;
    if (this.#open.has(stream)) return;
    const open: Open = { direction: m.direction, transport: m.transport ?? 'unknown' };
    this.#open.set(stream, open);
    this.#opened.add(1, { direction: open.direction, transport: open.transport });
    stream.once('close', () => {
      if (!this.#open.has(stream)) return;
      this.#closedStream(stream);
      this.#closed.add(1, {
        direction: open.direction,
        transport: open.transport,
        outcome: stream.errored ? 'error' : 'ok',
      });
    });
  }

  #closedStream(stream: Duplex): void {
    const open = this.#open.get(stream);
    if (!open) return;
    this.#open.delete(stream);
    const key = `${open.direction}|${open.transport}`;
    const total = this.#closedBytes.get(key) ?? { read: 0, written: 0 };
    const now = counted(stream);
    total.read += now.read;
    total.written += now.written;
    this.#closedBytes.set(key, total);
  }

  #reportBytes(report: (value: number, labels: Labels) => void, which: 'read' | 'written'): void {
    const totals = new Map<string, number>();
    for (const [key, t] of this.#closedBytes) totals.set(key, t[which]);
    for (const [stream, o] of this.#open) {
      const key = `${o.direction}|${o.transport}`;
      totals.set(key, (totals.get(key) ?? 0) + counted(stream)[which]);
    }
    for (const [key, n] of totals) report(n, labelsOfKey(key));
  }
}

function labelsOfKey(key: string): Labels {
  const i = key.indexOf('|');
  return { direction: key.slice(0, i), transport: key.slice(i + 1) };
}
