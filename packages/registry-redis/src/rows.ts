import type { InstanceRecord } from '@sidecar/core';

/**
 * Serializes a record with `expiresAt` as its last member, so a renew script can rewrite the
 * expiry in place (`,"expiresAt":N}` at the very end) without parsing the JSON.
 */
export function serialize(record: InstanceRecord): string {
  const { expiresAt, ...rest } = record;
  return JSON.stringify({ ...rest, expiresAt });
}

/**
 * Turns stored values into the raw rows BaseRegistry validates. A value that is not JSON is
 * passed on as the string it is, so BaseRegistry skips it with a warning.
 */
export function rowsOf(values: string[]): unknown[] {
  return values.map(parseOrRaw);
}

/** Parses a JSON value or a channel message; anything unparsable is returned as is. */
export function parseOrRaw(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
