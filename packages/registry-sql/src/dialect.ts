import type { InstanceRecord, RegistryChange, RegistryReach, SidecarError } from '@sidecar/core';

/** What a dialect may ask of the registry that owns it. */
export interface DialectHost {
  /** The registry's namespace: every read and write is scoped to it. */
  readonly namespace: string;
  /** Reports a non-fatal problem as a `warning` event. */
  warn(error: SidecarError): void;
  /** Drops cached lookups (after a reconnect or a replaced file, changes may have been missed). */
  invalidate(): void;
}

/** A change as read from the store, before BaseRegistry validates it. */
export interface RawChange {
  type: RegistryChange['type'];
  record: unknown;
}

/**
 * One SQL database engine behind SqlRegistry. Every method is scoped to the host's namespace.
 * Mutations announce their change in the same transaction (one winner per expired record).
 */
export interface SqlDialect {
  /** `'sqlite'` or `'postgres'`. */
  readonly kind: 'sqlite' | 'postgres';
  /** Which peers can share the store. */
  readonly reach: RegistryReach;
  /** Connects and migrates the schema. */
  open(): Promise<void>;
  /** Closes every connection and timer; never throws. */
  close(): Promise<void>;
  /** Upserts a record living `ttlMs` from now by the DATABASE's clock; announces `join` (new) or `update`. Returns the stored expiry. */
  put(record: InstanceRecord, ttlMs: number): Promise<number | undefined>;
  /** Sets the expiry to `ttlMs` from now (database's clock); false if the record is gone. */
  touch(instanceId: string, ttlMs: number): Promise<boolean>;
  /** Deletes a record; announces `leave` if it existed. */
  remove(instanceId: string): Promise<void>;
  /** Raw values of the records of one name live by the database's clock. */
  fetchByName(name: string): Promise<unknown[]>;
  /** Raw values of the live records whose name starts with `prefix`. */
  fetchAll(prefix: string): Promise<unknown[]>;
  /** Deletes records expired by the database's clock, announcing `timeout` for each one deleted by this call. */
  sweep(): Promise<void>;
  /** Starts delivering announced changes of the namespace. */
  subscribe(deliver: (change: RawChange) => void): Promise<void>;
  /** Stops delivering; never throws. */
  unsubscribe(): Promise<void>;
  /** Local addresses of the open network connections (a network database only). */
  localAddresses?(): string[];
  /** Drops every network connection and makes new ones; never throws. */
  reconnect?(): void;
  /** True if a driver failure is a query that timed out. */
  isTimeout?(err: unknown): boolean;
}

/** The stored form of a record: JSON without `expiresAt` (a column of its own). */
export function recordText(record: InstanceRecord): string {
  const { expiresAt: _expiresAt, ...rest } = record;
  return JSON.stringify(rest);
}

/**
 * A stored row as the raw value BaseRegistry validates: the parsed JSON with `expiresAt` from
 * its column. Text that does not parse is returned as it is, so that validation rejects it
 * (a warning) instead of the read throwing.
 */
export function rowValue(text: unknown, expiresAt: unknown): unknown {
  if (typeof text !== 'string') return text;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return text;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  (value as { expiresAt?: number }).expiresAt = Number(expiresAt); // a fresh object: no copy needed
  return value;
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

const CHANGE_TYPES = new Set(['join', 'update', 'leave', 'timeout']);

/** True for the four change types. */
export function isChangeType(type: unknown): type is RawChange['type'] {
  return typeof type === 'string' && CHANGE_TYPES.has(type);
}
