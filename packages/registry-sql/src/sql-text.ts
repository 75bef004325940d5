import type { InstanceRecord } from '@sidecar/core';
import { recordJsonHead } from '@sidecar/core/plugin-kit';

/** The stored form of a record: JSON without `expiresAt` (a column of its own). */
export function recordText(record: InstanceRecord): string {
  return `${recordJsonHead(record)}}`;
}

/** The literal part of a glob pattern before its first wildcard (a LIKE prefix). */
export function literalPrefix(pattern: string): string {
  const cut = pattern.search(/[*?]/);
  return cut === -1 ? pattern : pattern.slice(0, cut);
}

/** Escapes `%`, `_` and `\` for `LIKE ... ESCAPE '\'`. */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
