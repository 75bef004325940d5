import { FrameTooLargeError } from '@sidecar/core';
import { type FrameBatch, putAscii, putBytes, putUtf8, utf8Bound } from '../codec/frame.js';
/**
 * The pillion messages (see PILLION-PROTOCOL.md). Each travels as one burro frame.
 */

/**
 * The sender now provides method `name`. pillion 0.0.4 to 0.0.7 send `methodAdded`; only 0.0.3
 * sent `addMethod`. Ours sends `methodAdded` and accepts both.
 */
export interface MethodAddedMessage {
  type: 'methodAdded';
  name: string;
}

/** The sender no longer provides method `name` (`removeMethod` in pillion 0.0.3, accepted too). */
export interface MethodRemovedMessage {
  type: 'methodRemoved';
  name: string;
}

/** @deprecated pillion 0.0.3's name; use MethodAddedMessage. */
export type AddMethodMessage = MethodAddedMessage;
/** @deprecated pillion 0.0.3's name; use MethodRemovedMessage. */
export type RemoveMethodMessage = MethodRemovedMessage;

/** A reference to a callback the caller registered as a temporary method. */
export interface CallbackRef {
  name: string;
}

/** Calls `method`; for each index k of `functions`, `params[k]` is a CallbackRef. */
export interface CallMessage {
  type: 'call';
  id: string;
  method: string;
  params: unknown[];
  functions: number[];
}

/** Answers call `inResponseTo` with a failure (the original only sends "method `N' not found"). */
export interface ErrorMessage {
  type: 'error';
  inResponseTo: string | number;
  error: string;
}

/** Any pillion message. */
export type PillionMessage = MethodAddedMessage | MethodRemovedMessage | CallMessage | ErrorMessage;

/**
 * The JSON text of a call message, byte for byte what `JSON.stringify` gives for
 * `{ type: 'call', id, method, params, functions }`, built from `params` already in JSON and the
 * `functions` indices as a comma-separated list (`''`, `'2'`, `'0,3'`). `id` must need no
 * escaping (generated ids are digits, `_` and `x`).
 */
export function callJson(id: string, method: string, paramsJson: string, functions: string): string {
  return `{"type":"call","id":"${id}","method":${JSON.stringify(method)},"params":${paramsJson},"functions":[${functions}]}`;
}

const CALL_START = Buffer.from('{"type":"call","id":"');
const METHOD_KEY = Buffer.from('","method":');
const PARAMS_KEY = Buffer.from(',"params":');
const REF_START = Buffer.from('{"name":"x_');
const REF_END = Buffer.from('"}]');
const FUNCTIONS_KEY = Buffer.from(',"functions":[');
const FUNCTIONS_END = Buffer.from(']}');
/** Bytes of the fixed parts of a call frame, and of a callback reference, for `open`'s bound. */
const FIXED_BYTES =
  CALL_START.length + METHOD_KEY.length + PARAMS_KEY.length + FUNCTIONS_KEY.length + FUNCTIONS_END.length + 2;
const REF_BYTES = REF_START.length + REF_END.length + 1;

/**
 * Writes the frame of a call message into `batch`, byte for byte what `callJson` gives, without
 * making its text: `params` already in JSON, and, when `replyIndex` is given (a promise call),
 * its reply callback `{"name":"x_<id>"}` appended to them at that index, which is then the only
 * `functions` entry. `id` must be plain ASCII needing no escaping (generated ids are). Throws
 * FrameTooLargeError (adding nothing) when the frame is over the batch's limit.
 *
 * @example
 * ```ts
 * writeCall(batch, generateId(), 'greet', '["bob"]', 1); // a promise call of greet("bob")
 * ```
 */
export function writeCall(
  batch: FrameBatch,
  id: string,
  method: string,
  paramsJson: string,
  replyIndex?: number,
): void {
  if (paramsJson.length > batch.maxFrameSize) {
    throw new FrameTooLargeError(Buffer.byteLength(paramsJson), batch.maxFrameSize);
  }
  const bound = FIXED_BYTES + REF_BYTES + id.length * 2 + method.length * 6 + utf8Bound(paramsJson);
  let at = batch.open(bound);
  const slab = batch.slab;
  const idStart = putBytes(slab, at, CALL_START);
  at = putAscii(slab, idStart, id);
  if (at < 0) throw new TypeError(`a call id must be plain ASCII, got ${JSON.stringify(id)}`);
  const idEnd = at;
  at = putBytes(slab, at, METHOD_KEY);
  slab[at] = QUOTE;
  const methodEnd = putAscii(slab, at + 1, method);
  if (methodEnd < 0) at = putUtf8(slab, at, JSON.stringify(method));
  else {
    slab[methodEnd] = QUOTE;
    at = methodEnd + 1;
  }
  at = putUtf8(slab, putBytes(slab, at, PARAMS_KEY), paramsJson);
  if (replyIndex === undefined) at = putBytes(slab, at, FUNCTIONS_KEY);
  else {
    at--; // over the params' closing bracket
    if (paramsJson !== '[]') slab[at++] = COMMA;
    at = putBytes(slab, at, REF_START);
    at += slab.copy(slab, at, idStart, idEnd);
    at = putBytes(slab, putBytes(slab, at, REF_END), FUNCTIONS_KEY);
    if (replyIndex < 10) slab[at++] = DIGIT_0 + replyIndex;
    else at = putAscii(slab, at, String(replyIndex));
  }
  batch.close(putBytes(slab, at, FUNCTIONS_END));
}

const QUOTE = 0x22;
const COMMA = 0x2c;
const DIGIT_0 = 0x30;

/** `paramsJson` (a JSON array) with `{"name":callback}` appended as its last element. */
export function appendCallbackRef(paramsJson: string, callback: string): string {
  const ref = `{"name":"${callback}"}]`;
  return paramsJson === '[]' ? `[${ref}` : `${paramsJson.slice(0, -1)},${ref}`;
}

/** The error text the original sends for a call to a method it does not provide. */
export function notFoundText(method: string): string {
  return `method \`${method}' not found`;
}

const NOT_FOUND = /^method `([\s\S]*)' not found$/;

/** The method named by a "not found" error text, or undefined for any other text. */
export function methodOfNotFound(text: string): string | undefined {
  return NOT_FOUND.exec(text)?.[1];
}

/** A plain object (not an array, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short printable form of an untrusted value, for error messages. */
export function preview(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
