import { generateId } from './ids.js';
import { appendCallbackRef, callJson } from './messages.js';
import type { SessionOptions } from './session-options.js';

/** A call whose parameters include functions, encoded (see `encodeCall`). */
export interface EncodedCall {
  /** The message's JSON text. */
  json: string;
  /** The params as sent: each function replaced by its callback reference. */
  wire: unknown[];
  /** Indices of the callback references in `wire`. */
  functions: number[];
  /** The callback names, in the order of `functions`. */
  names: string[];
}

/** Whether any parameter is a function (to be sent as a callback). */
export function hasFunction(params: readonly unknown[]): boolean {
  for (let i = 0; i < params.length; i++) if (typeof params[i] === 'function') return true;
  return false;
}

/**
 * Encodes call `id` of `method`: every function parameter becomes a callback reference
 * `{"name":"x_<new id>"}` (a temporary method of the caller), and `reply`, when given, one more
 * reference appended at the end (a promise call's reply).
 */
export function encodeCall(
  id: string,
  method: string,
  params: readonly unknown[],
  reply?: string,
): EncodedCall {
  const wire = params.slice();
  const functions: number[] = [];
  const names: string[] = [];
  for (let i = 0; i < wire.length; i++) {
    if (typeof wire[i] !== 'function') continue;
    const name = `x_${generateId()}`;
    wire[i] = { name };
    functions.push(i);
    names.push(name);
  }
  if (reply !== undefined) {
    functions.push(wire.length);
    names.push(reply);
    wire.push({ name: reply });
  }
  return { json: callJson(id, method, JSON.stringify(wire), functions.join(',')), wire, functions, names };
}

/**
 * Sends a call without function parameters (the hot path: promise calls and replies) as JSON
 * text built without the message object or a copy of `params`. A promise call's reply callback
 * (`reply`, its `x_<id>`) is appended, as in `encodeCall`.
 */
export function sendPlainCall(
  options: SessionOptions,
  id: string,
  method: string,
  params: readonly unknown[],
  reply?: string,
): void {
  const paramsJson = JSON.stringify(params);
  if (reply === undefined) options.send(callJson(id, method, paramsJson, ''));
  else options.send(callJson(id, method, appendCallbackRef(paramsJson, reply), String(params.length)));
}
