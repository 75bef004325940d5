import { FrameTooLargeError } from '@sidecar/core';
import { type FrameBatch, utf8Bound } from '../codec/frame.js';
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
const REF_START = Buffer.from('{"name":"');
const REF_END = Buffer.from('"}]');
const FUNCTIONS_KEY = Buffer.from(',"functions":[');
const FUNCTIONS_END = Buffer.from(']}');
/** Bytes of the fixed parts of a call frame, and of a callback reference, for `open`'s bound. */
const FIXED_BYTES =
  CALL_START.length + METHOD_KEY.length + PARAMS_KEY.length + FUNCTIONS_KEY.length + FUNCTIONS_END.length + 2;
const REF_BYTES = REF_START.length + REF_END.length + 1;

/**
 * Writes the frame of a call message into `batch`, byte for byte what `callJson` gives, without
 * making its text: `params` already in JSON, and, when `reply` is given, `{"name":reply}`
 * appended to them and its index as the only `functions` entry (a promise call, or a plain
 * one when `reply` is undefined). `id` and `reply` must need no escaping. Throws
 * FrameTooLargeError (adding nothing) when the frame is over the batch's limit.
 */
export function writeCall(
  batch: FrameBatch,
  id: string,
  method: string,
  paramsJson: string,
  reply?: string,
  replyIndex = 0,
): void {
  if (paramsJson.length > batch.maxFrameSize) {
    throw new FrameTooLargeError(Buffer.byteLength(paramsJson), batch.maxFrameSize);
  }
  let bound = FIXED_BYTES + id.length + method.length * 6 + utf8Bound(paramsJson);
  if (reply !== undefined) bound += REF_BYTES + reply.length + 10;
  batch.open(bound);
  batch.putBytes(CALL_START);
  batch.putAscii(id);
  batch.putBytes(METHOD_KEY);
  if (!putQuoted(batch, method)) batch.putUtf8(JSON.stringify(method));
  batch.putBytes(PARAMS_KEY);
  batch.putUtf8(paramsJson);
  if (reply === undefined) {
    batch.putBytes(FUNCTIONS_KEY);
  } else {
    batch.back(1); // the params' closing bracket
    if (paramsJson !== '[]') batch.putByte(COMMA);
    batch.putBytes(REF_START);
    batch.putAscii(reply);
    batch.putBytes(REF_END);
    batch.putBytes(FUNCTIONS_KEY);
    batch.putAscii(String(replyIndex));
  }
  batch.putBytes(FUNCTIONS_END);
  batch.close();
}

/** Puts `"text"` when `text` needs no escaping in JSON; false (nothing put) otherwise. */
function putQuoted(batch: FrameBatch, text: string): boolean {
  batch.putByte(QUOTE);
  if (batch.putAscii(text)) {
    batch.putByte(QUOTE);
    return true;
  }
  batch.back(1);
  return false;
}

const QUOTE = 0x22;
const COMMA = 0x2c;

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
