import { endRpcTimer, type RpcTimed, rpcObserved, startRpcTimer } from '@sidecar/core/diagnostics';
import { isObject } from './messages.js';
import type { RemoteFunction } from './pending.js';

/** What is wrong with a call message's fields, or undefined when it can be served. */
export function checkCall(message: Record<string, unknown>): string | undefined {
  const { method, params, functions } = message;
  if (typeof method !== 'string' || method === '') return 'method must be a non-empty string';
  if (!Array.isArray(params)) return 'params must be an array';
  if (functions === undefined) return undefined;
  if (!Array.isArray(functions)) return 'functions must be an array of parameter indices';
  for (let i = 0; i < functions.length; i++) {
    const k: unknown = functions[i];
    if (typeof k !== 'number' || !Number.isInteger(k) || k < 0 || k >= params.length) {
      return `functions holds ${JSON.stringify(k)}, which is not an index of params`;
    }
    const ref: unknown = params[k];
    if (!isObject(ref) || typeof ref.name !== 'string' || ref.name === '') {
      return `params[${k}] must be a callback reference {"name": "..."}`;
    }
  }
  return undefined;
}

/** The message of a thrown value. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/**
 * An incoming call being served: where an `error` goes when a reply cannot be sent, and whether
 * its reply callback (its last function parameter) has been called, and when it started (for
 * metrics, see core's diagnostics). One object per call.
 */
export interface ReplyTo extends RpcTimed {
  id: string | number;
  method: string;
  replied: boolean;
}

/** What `invokeProvided` needs from the session. */
export interface InvokeHost {
  /**
   * A function that calls the remote callback `name` (and marks `call` replied when `isReply`).
   * It does not throw when the reply cannot be sent: `call` fails instead.
   */
  remoteFunction(name: string, call: ReplyTo, isReply: boolean): RemoteFunction;
  /** The method (or its promise) failed: answer the call with an error message. */
  failed(id: string | number, method: string, err: unknown): void;
}

/**
 * Runs a provided method for call `id`. Callback references in `params` (at the `functions`
 * indices) become functions. A throw is reported through `host.failed`. If the method returns a
 * promise, a rejection is reported too, and a resolved value other than `undefined` is passed to
 * the call's last callback, unless the method already invoked that callback itself: so both
 * `(name, cb) => cb('hi')` and `async (name) => 'hi'` answer a promise call. The call is timed
 * for metrics as served by `owner` (the sidecar's instance id) when something listens.
 */
export function invokeProvided(
  host: InvokeHost,
  fn: RemoteFunction,
  params: unknown[],
  functions: readonly number[] | undefined,
  id: string | number,
  method: string,
  owner = '',
): void {
  let args = params;
  let call: ReplyTo | undefined;
  let replyIndex = -1;
  if (functions && functions.length > 0) {
    for (let i = 0; i < functions.length; i++) replyIndex = Math.max(replyIndex, functions[i] as number);
    call = { id, method, replied: false, rpcStart: -1, rpcOwner: '' };
    args = params.slice();
    for (let i = 0; i < functions.length; i++) {
      const k = functions[i] as number;
      const { name } = params[k] as { name: string };
      args[k] = host.remoteFunction(name, call, k === replyIndex);
    }
  }
  // Timed on its reply's tracking, or (no callbacks) on an object of its own when something listens.
  const timed = call ?? (rpcObserved() ? { method, rpcStart: -1, rpcOwner: '' } : undefined);
  if (timed) startRpcTimer(timed, owner);
  try {
    const result = fn(...args);
    if (!isThenable(result)) {
      if (!call && timed) endRpcTimer(timed, 'server');
      return;
    }
    const reply = call && (args[replyIndex] as RemoteFunction);
    result.then(
      (value) => {
        if (timed) endRpcTimer(timed, 'server');
        if (value === undefined || !reply || call?.replied) return;
        try {
          reply(value);
        } catch (err) {
          host.failed(id, method, err);
        }
      },
      (err: unknown) => {
        if (timed) endRpcTimer(timed, 'server', err ?? 'error');
        host.failed(id, method, err);
      },
    );
  } catch (err) {
    if (timed) endRpcTimer(timed, 'server', err ?? 'error');
    host.failed(id, method, err);
  }
}
