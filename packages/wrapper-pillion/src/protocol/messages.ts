/**
 * The four pillion messages (see PILLION-PROTOCOL.md). Each travels as one burro frame.
 */

/** The sender now provides method `name`. */
export interface AddMethodMessage {
  type: 'addMethod';
  name: string;
}

/** The sender no longer provides method `name`. */
export interface RemoveMethodMessage {
  type: 'removeMethod';
  name: string;
}

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
export type PillionMessage = AddMethodMessage | RemoveMethodMessage | CallMessage | ErrorMessage;

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
