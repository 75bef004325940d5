import { isObject } from './messages.js';
import type { RemoteFunction } from './pending.js';

/** What is wrong with a call message's fields, or undefined when it can be served. */
export function checkCall(message: Record<string, unknown>): string | undefined {
  const { method, params, functions } = message;
  if (typeof method !== 'string' || method === '') return 'method must be a non-empty string';
  if (!Array.isArray(params)) return 'params must be an array';
  if (functions === undefined) return undefined;
  if (!Array.isArray(functions)) return 'functions must be an array of parameter indices';
  for (const k of functions) {
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
 * Runs a provided method. A throw is reported through `onFailure`. If the method returns a
 * promise, a rejection is reported too, and a resolved value other than `undefined` is passed to
 * the call's last callback, unless the method already invoked that callback itself: so both
 * `(name, cb) => cb('hi')` and `async (name) => 'hi'` answer a promise call.
 */
export function invokeProvided(
  fn: RemoteFunction,
  args: unknown[],
  functions: readonly number[],
  onFailure: (err: unknown) => void,
): void {
  let replyIndex = -1;
  for (const k of functions) replyIndex = Math.max(replyIndex, k);
  let replied = false;
  const reply = replyIndex >= 0 ? (args[replyIndex] as RemoteFunction) : undefined;
  if (reply) {
    args[replyIndex] = (...values: unknown[]) => {
      replied = true;
      return reply(...values);
    };
  }
  let result: unknown;
  try {
    result = fn(...args);
    if (!isThenable(result)) return;
    result.then(
      (value) => {
        if (value === undefined || !reply || replied) return;
        replied = true;
        try {
          reply(value);
        } catch (err) {
          onFailure(err);
        }
      },
      (err: unknown) => onFailure(err),
    );
  } catch (err) {
    onFailure(err);
  }
}
