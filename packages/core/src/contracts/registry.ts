import type { EventEmitter } from 'node:events';
import type { SidecarError } from '../errors.js';
import type { InstanceRecord } from '../records.js';

/** Where the peers that share a registry can be: on this machine only, or across a network. */
export type RegistryReach = 'machine' | 'network';

/** Events a registry emits while it watches (see `watch()`), plus warnings at any time. */
export interface RegistryEvents {
  /** A new instance registered. */
  join: [record: InstanceRecord];
  /** An instance changed its record (endpoints, methods, metadata). */
  update: [record: InstanceRecord];
  /** An instance deregistered itself (graceful stop). */
  leave: [record: InstanceRecord];
  /** An instance's TTL ran out; emitted exactly once per instance across all watchers. */
  timeout: [record: InstanceRecord];
  /** Something non-fatal went wrong (a malformed record skipped, a retried failure). */
  warning: [error: SidecarError];
}

/** Options every async registry call accepts. */
export interface RegistryCallOptions {
  /** Cancels the call; it then rejects with AbortError. */
  signal?: AbortSignal;
}

/** Options of `lookup`. */
export interface LookupOptions extends RegistryCallOptions {
  /** Skip the lookup cache and read the registry. @default false */
  fresh?: boolean;
}

/** A record as handed to `register`: the registry sets `expiresAt` from the TTL. */
export type RecordInput = Omit<InstanceRecord, 'expiresAt'>;

/**
 * The name server contract. A registry stores instance records with a TTL, answers lookups by
 * name and by pattern, and reports changes. Implementations usually extend `BaseRegistry`, which
 * supplies caching, validation, exactly-once timeouts and event de-duplication.
 */
export interface Registry extends EventEmitter<RegistryEvents> {
  /** Which peers can share this registry; transports pick their default listen address from it. */
  readonly reach: RegistryReach;
  /**
   * The host name or address a network registry is reached at, as its URL or options give it
   * (`'10.0.0.5'` for `redis://10.0.0.5:6379`, `'db.internal'` for `postgres://app@db.internal/x`,
   * the first seed node of a Redis Cluster, the first Sentinel; IPv6 without brackets).
   * Undefined for embedded registries (SQLite, in-memory) and for a local socket path. A sidecar
   * can use it to put first the advertised address on the network that reaches the registry.
   */
  readonly host?: string;
  /** The namespace every call of this registry is scoped to. */
  readonly namespace: string;
  /** Connects (and migrates a schema, if any). Idempotent. */
  start(options?: RegistryCallOptions): Promise<void>;
  /** Stops watching and disconnects. Idempotent; never throws. */
  stop(): Promise<void>;
  /** Inserts or replaces the record of `record.instanceId` with a lifetime of `ttlMs`. */
  register(record: RecordInput, ttlMs: number, options?: RegistryCallOptions): Promise<InstanceRecord>;
  /** Extends the lifetime of a record; rejects with RecordNotFoundError if it is gone. */
  renew(instanceId: string, ttlMs: number, options?: RegistryCallOptions): Promise<void>;
  /** Removes a record (a `leave` for watchers). Removing a missing record is not an error. */
  deregister(instanceId: string, options?: RegistryCallOptions): Promise<void>;
  /**
   * The live instances of one name (possibly from the cache; see LookupOptions.fresh). Records
   * returned here, by `list` and in events are shared (a stored text is decoded once per
   * process): read them, copy them to change them.
   */
  lookup(name: string, options?: LookupOptions): Promise<InstanceRecord[]>;
  /** The live instances whose name matches a glob pattern (`*`, `?`). */
  list(pattern?: string, options?: RegistryCallOptions): Promise<InstanceRecord[]>;
  /** Starts delivering join/update/leave/timeout events. Idempotent. */
  watch(options?: RegistryCallOptions): Promise<void>;
  /** Stops delivering events. Idempotent. */
  unwatch(): Promise<void>;
}
