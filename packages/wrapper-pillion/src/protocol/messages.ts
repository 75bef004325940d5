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
