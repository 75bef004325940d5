import type { CallOptions } from './session.js';

const OPTION_KEYS = new Set(['timeout', 'signal']);

/**
 * True when `value` is a trailing call-options object: a plain object with at least one key,
 * every key being `timeout` (a number or undefined) or `signal` (an AbortSignal or undefined).
 */
export function isCallOptions(value: unknown): value is CallOptions {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  const keys = Object.keys(value);
  if (keys.length === 0 || !keys.every((k) => OPTION_KEYS.has(k))) return false;
  const { timeout, signal } = value as Record<string, unknown>;
  return (
    (timeout === undefined || typeof timeout === 'number') &&
    (signal === undefined || signal instanceof AbortSignal)
  );
}

/** Splits `call(name, ...args, options?)` arguments into the remote arguments and the options. */
export function splitCallArgs(args: readonly unknown[]): { params: unknown[]; options: CallOptions } {
  const last = args[args.length - 1];
  if (args.length > 0 && isCallOptions(last)) return { params: args.slice(0, -1), options: last };
  return { params: [...args], options: {} };
}
