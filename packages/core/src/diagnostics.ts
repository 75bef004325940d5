import { channel } from 'node:diagnostics_channel';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';

/**
 * Instrumentation points, published on `node:diagnostics_channel`. Nothing is built or measured
 * unless something subscribes (`@sidecar/metrics` does), so they cost one `hasSubscribers` check
 * when monitoring is off. Every message names its owner: the instance id of the sidecar it
 * happened in (or the registry object), so several sidecars in one process are told apart.
 * RPC calls, the hottest point, can also be observed without a message: {@link observeRpcCalls}.
 *
 * @example
 * ```ts
 * import { subscribe } from 'node:diagnostics_channel';
 * import { DIAGNOSTICS, type StreamOpenMessage } from '@sidecar/core';
 *
 * subscribe(DIAGNOSTICS.streamOpen, (m) => console.log((m as StreamOpenMessage).direction));
 * ```
 */
export const DIAGNOSTICS = {
  /** A stream passed its hello and is handed to the wrappers. {@link StreamOpenMessage} */
  streamOpen: 'sidecar:stream.open',
  /** One phase of a connect by name finished. {@link ConnectPhaseMessage} */
  connectPhase: 'sidecar:connect.phase',
  /** A dial or hello of one endpoint failed. {@link DialFailureMessage} */
  dialFailure: 'sidecar:dial.failure',
  /** A hello was refused, by the far side (`client`) or by this side (`server`). {@link HelloRefusalMessage} */
  helloRefusal: 'sidecar:hello.refusal',
  /** A registry operation finished. {@link RegistryOperationMessage} */
  registryOperation: 'sidecar:registry.operation',
  /** A heartbeat renewed the record, or failed to. {@link HeartbeatMessage} */
  heartbeat: 'sidecar:heartbeat',
  /** An RPC call finished, as caller (`client`) or callee (`server`). {@link RpcCallMessage} */
  rpcCall: 'sidecar:rpc.call',
} as const;

/** See {@link DIAGNOSTICS}.streamOpen. */
export interface StreamOpenMessage {
  owner: string;
  stream: Duplex;
  direction: 'incoming' | 'outgoing';
  /** The transport's name; for incoming streams, the subscriber finds it from the local port. */
  transport: string | undefined;
}
/** See {@link DIAGNOSTICS}.connectPhase. */
export interface ConnectPhaseMessage {
  owner: string;
  name: string;
  phase: 'lookup' | 'dial' | 'handshake';
  /** In seconds. */
  duration: number;
  /** The error code when the phase failed. */
  error: string | undefined;
}
/** See {@link DIAGNOSTICS}.dialFailure. */
export interface DialFailureMessage {
  owner: string;
  transport: string;
  code: string;
}
/** See {@link DIAGNOSTICS}.helloRefusal. */
export interface HelloRefusalMessage {
  owner: string;
  side: 'client' | 'server';
  reason: string;
}
/** See {@link DIAGNOSTICS}.registryOperation. */
export interface RegistryOperationMessage {
  registry: object;
  operation: string;
  /** In seconds. */
  duration: number;
  error: string | undefined;
}
/** See {@link DIAGNOSTICS}.heartbeat. */
export interface HeartbeatMessage {
  owner: string;
  ttl: number;
  ok: boolean;
}
/** See {@link DIAGNOSTICS}.rpcCall (and {@link observeRpcCalls}, the same without a message). */
export interface RpcCallMessage {
  owner: string;
  side: 'client' | 'server';
  method: string;
  /** In seconds. */
  duration: number;
  error: string | undefined;
}

const channels = {
  streamOpen: channel(DIAGNOSTICS.streamOpen),
  connectPhase: channel(DIAGNOSTICS.connectPhase),
  dialFailure: channel(DIAGNOSTICS.dialFailure),
  helloRefusal: channel(DIAGNOSTICS.helloRefusal),
  registryOperation: channel(DIAGNOSTICS.registryOperation),
  heartbeat: channel(DIAGNOSTICS.heartbeat),
  rpcCall: channel(DIAGNOSTICS.rpcCall),
};

/** The stable code of an error: `code` when it has one, else its class name. */
export function errorCodeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code) return code;
  return err instanceof Error ? err.name : typeof err;
}

/** A start time for {@link publishConnectPhase}: 0 (nothing measured) when nobody listens. */
export function phaseStart(): number {
  return channels.connectPhase.hasSubscribers ? performance.now() : 0;
}

/** Publishes the end of a connect phase started at `start` (from {@link phaseStart}). */
export function publishConnectPhase(
  owner: string,
  name: string,
  phase: ConnectPhaseMessage['phase'],
  start: number,
  err?: unknown,
): void {
  if (start === 0 || !channels.connectPhase.hasSubscribers) return;
  const message: ConnectPhaseMessage = {
    owner,
    name,
    phase,
    duration: (performance.now() - start) / 1000,
    error: err === undefined ? undefined : errorCodeOf(err),
  };
  channels.connectPhase.publish(message);
}

/**
 * Publishes a failed dial or hello of one endpoint (and a refusal, when it was one). A generic dial
 * failure is reported by its cause's code (`ECONNREFUSED`, `ETIMEDOUT`) when it has one.
 */
export function publishDialFailure(owner: string, transport: string, err: unknown): void {
  if (channels.dialFailure.hasSubscribers) {
    let code = errorCodeOf(err);
    for (let e = err, depth = 0; code === 'SIDECAR_ERR_DIAL_FAILED' && e && depth < 4; depth++) {
      e = (e as { cause?: unknown }).cause;
      const inner = (e as { code?: unknown } | undefined)?.code;
      if (typeof inner === 'string' && !inner.startsWith('SIDECAR_')) code = inner;
    }
    channels.dialFailure.publish({ owner, transport, code } satisfies DialFailureMessage);
  }
  const reason = (err as { reason?: unknown } | null)?.reason;
  if (errorCodeOf(err) === 'SIDECAR_ERR_HELLO_REFUSED' && typeof reason === 'string')
    publishHelloRefusal(owner, 'client', reason);
}

/** Publishes a refused hello. */
export function publishHelloRefusal(owner: string, side: 'client' | 'server', reason: string): void {
  if (!channels.helloRefusal.hasSubscribers) return;
  channels.helloRefusal.publish({ owner, side, reason } satisfies HelloRefusalMessage);
}

/** Publishes the failed hello of an accepted connection, when this side refused it. */
export function publishIncomingFailure(owner: string, err: unknown): void {
  const reason = (err as { reason?: unknown } | null)?.reason;
  if (errorCodeOf(err) === 'SIDECAR_ERR_HELLO_REFUSED' && typeof reason === 'string')
    publishHelloRefusal(owner, 'server', reason);
}

/** Publishes a stream that passed its hello. */
export function publishStreamOpen(
  owner: string,
  stream: Duplex,
  direction: 'incoming' | 'outgoing',
  transport?: string,
): void {
  if (!channels.streamOpen.hasSubscribers) return;
  channels.streamOpen.publish({ owner, stream, direction, transport } satisfies StreamOpenMessage);
}

/** Runs one registry operation, timing it when somebody listens. */
export function timeRegistryOperation<T>(
  registry: object,
  operation: string,
  run: () => Promise<T>,
): Promise<T> {
  const ch = channels.registryOperation;
  if (!ch.hasSubscribers) return run();
  const start = performance.now();
  const done = (error: string | undefined) =>
    ch.publish({
      registry,
      operation,
      duration: (performance.now() - start) / 1000,
      error,
    } satisfies RegistryOperationMessage);
  return run().then(
    (value) => {
      done(undefined);
      return value;
    },
    (err: unknown) => {
      done(errorCodeOf(err));
      throw err;
    },
  );
}

/** Publishes one heartbeat. */
export function publishHeartbeat(owner: string, ttl: number, ok: boolean): void {
  if (!channels.heartbeat.hasSubscribers) return;
  channels.heartbeat.publish({ owner, ttl, ok } satisfies HeartbeatMessage);
}

/** The clock of the current synchronous run, read once per run (see {@link runClock}). */
let runTime = -1;
const endRun = () => {
  runTime = -1;
};
/** Resolved once: `.then(endRun)` queues the end of the run (a promise reaction costs a few times
 * less than `queueMicrotask`, which makes an AsyncResource per call). */
const resolved = Promise.resolve();

/**
 * `performance.now()` read once per synchronous run of JavaScript (one I/O callback, one
 * microtask checkpoint) and reused by every call timed in that run: a chunk of frames holding
 * many calls costs one clock read and one queued microtask instead of a read per call start and
 * end (a read costs 50-100 ns on many VMs). A time is off by at most the length of the run, a few
 * microseconds, against durations measured in tenths of milliseconds and more.
 */
function runClock(): number {
  if (runTime < 0) {
    runTime = performance.now();
    void resolved.then(endRun);
  }
  return runTime;
}

/**
 * What one RPC call is timed on: the call's own object (a pending call, a call being served)
 * carries its start, so timing a call allocates nothing. `rpcStart` is negative when the call is
 * not timed (nobody listened when it started) or already ended.
 */
export interface RpcTimed {
  /** The method called. */
  readonly method: string;
  /** When the call started (the run clock, in ms), or -1: not timed, or ended. */
  rpcStart: number;
  /** The owner of the call (the instance id of its sidecar), set by {@link startRpcTimer}. */
  rpcOwner: string;
}

/**
 * Told of every finished RPC call, with the fields of an {@link RpcCallMessage} as arguments:
 * what `DIAGNOSTICS.rpcCall` publishes, without a message object or the channel's dispatch.
 */
export type RpcCallObserver = (
  owner: string,
  side: 'client' | 'server',
  method: string,
  /** In seconds. */
  duration: number,
  error: string | undefined,
) => void;

/** The observers of {@link observeRpcCalls}, and the one function that calls them all. */
let rpcObservers: readonly RpcCallObserver[] = [];
let rpcObserver: RpcCallObserver | undefined;

/** Reports an observer's error as diagnostics_channel does a subscriber's: uncaught, on the next tick. */
function rethrowLater(err: unknown): void {
  process.nextTick(() => {
    throw err;
  });
}

function setRpcObservers(list: readonly RpcCallObserver[]): void {
  rpcObservers = list;
  rpcObserver =
    list.length === 0
      ? undefined
      : list.length === 1
        ? list[0]
        : (owner, side, method, duration, error) => {
            for (const fn of list) {
              try {
                fn(owner, side, method, duration, error);
              } catch (thrown) {
                rethrowLater(thrown);
              }
            }
          };
}

/**
 * Calls `fn` for every RPC call that finishes from now on (both sides, every sidecar of the
 * process; `owner` tells them apart), until the returned function is called. The hot-path twin
 * of subscribing to `DIAGNOSTICS.rpcCall`: a call costs one function call, no message object
 * (`@sidecar/metrics` uses it). Calls start being timed once something observes; an error thrown
 * by `fn` is rethrown on the next tick, as a channel subscriber's is, never into the call.
 *
 * @example
 * ```ts
 * import { observeRpcCalls } from '@sidecar/core/diagnostics';
 *
 * const stop = observeRpcCalls((owner, side, method, seconds, error) => {
 *   if (seconds > 1) console.log(`${side} call ${method} took ${seconds} s`, error ?? 'ok');
 * });
 * // ... later
 * stop();
 * ```
 */
export function observeRpcCalls(fn: RpcCallObserver): () => void {
  setRpcObservers([...rpcObservers, fn]);
  let observing = true;
  return () => {
    if (!observing) return;
    observing = false;
    const i = rpcObservers.indexOf(fn);
    if (i >= 0) setRpcObservers([...rpcObservers.slice(0, i), ...rpcObservers.slice(i + 1)]);
  };
}

/**
 * True when RPC calls are timed: something observes them ({@link observeRpcCalls}) or
 * subscribes to `DIAGNOSTICS.rpcCall`.
 */
export function rpcObserved(): boolean {
  return rpcObserver !== undefined || channels.rpcCall.hasSubscribers;
}

/**
 * Starts timing a call on its own object, for `owner`; when nothing observes RPC calls it leaves
 * `rpcStart` at -1 and the call is not timed. See {@link endRpcTimer}.
 *
 * @example
 * ```ts
 * const call = { method: 'add', rpcStart: -1, rpcOwner: '' };
 * startRpcTimer(call, app.instanceId);
 * // ... the reply arrives
 * endRpcTimer(call, 'client');
 * ```
 */
export function startRpcTimer(call: RpcTimed, owner: string): void {
  if (rpcObserver === undefined && !channels.rpcCall.hasSubscribers) return;
  call.rpcStart = runClock();
  call.rpcOwner = owner;
}

/**
 * Ends a call started by {@link startRpcTimer}, failed when `err` is given: tells the observers
 * ({@link observeRpcCalls}) and publishes it on `DIAGNOSTICS.rpcCall` when subscribed. An untimed
 * or already ended call does nothing (one comparison).
 */
export function endRpcTimer(call: RpcTimed, side: 'client' | 'server', err?: unknown): void {
  const start = call.rpcStart;
  if (start < 0) return;
  call.rpcStart = -1;
  const observer = rpcObserver;
  const ch = channels.rpcCall;
  if (observer === undefined && !ch.hasSubscribers) return;
  const duration = (runClock() - start) / 1000;
  const error = err === undefined ? undefined : errorCodeOf(err);
  if (observer !== undefined) {
    try {
      observer(call.rpcOwner, side, call.method, duration, error);
    } catch (thrown) {
      rethrowLater(thrown);
    }
  }
  if (ch.hasSubscribers) {
    ch.publish({ owner: call.rpcOwner, side, method: call.method, duration, error } satisfies RpcCallMessage);
  }
}

type AnyFunction = (...args: never[]) => unknown;

/**
 * Times a callback-style call as its caller: the call ends when one of its callbacks is first
 * invoked. Returns `params` itself when nobody listens, else a copy with the callbacks wrapped.
 */
export function observeClientCallbacks(
  owner: string,
  method: string,
  params: readonly unknown[],
): readonly unknown[] {
  if (!rpcObserved() || !params.some((p) => typeof p === 'function')) return params;
  const call: RpcTimed = { method, rpcStart: -1, rpcOwner: '' };
  startRpcTimer(call, owner);
  return params.map((p) => {
    if (typeof p !== 'function') return p;
    const fn = p as AnyFunction;
    return (...args: never[]) => {
      endRpcTimer(call, 'client');
      return fn(...args);
    };
  });
}
