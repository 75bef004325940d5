import { EventEmitter } from 'node:events';
import type { RegistryEvents, RegistryReach } from '../contracts/registry.js';
import { isSidecarError, RegistryUnavailableError, type SidecarError } from '../errors.js';
import type { InstanceRecord } from '../records.js';

/**
 * The storage hooks a registry adapter implements; BaseRegistry (which extends this class) does
 * everything else. Mutations announce their own change (in the same transaction or script where
 * the store allows it), so that of many sweepers exactly one wins each expired record.
 *
 * Liveness is judged by the STORE's clock, never this process's: `put` and `touch` get a
 * relative lifetime that the store adds to its own time, fetches return only the records live
 * by that clock, and `sweep` removes those expired by it. A peer whose clock is off is then
 * seen, and times out, like every other.
 *
 * Fetches return RAW stored values: a record's JSON text, a StoredRecord (text plus an expiry
 * kept apart), or an already decoded value. BaseRegistry decodes and validates them once for
 * every registry (decodeStored, parseRecord): no adapter parses stored JSON itself.
 *
 * An embedded store may answer `put`, `touch`, `remove` and the fetches synchronously (return
 * the value, not a promise): the lookup then costs what the store's read costs.
 *
 * Every hook that can take long gets an AbortSignal: the caller's, or (sweep) one that stop()
 * aborts. A hook passes it to its driver where the driver takes one, else checks it between steps.
 *
 * @example
 * ```ts
 * class FileRegistry extends BaseRegistry {
 *   readonly reach = 'machine';
 *   protected async fetchByName(name: string, signal?: AbortSignal) {
 *     return readTexts(name, { signal }); // JSON texts: BaseRegistry parses and validates them
 *   }
 *   // ... the other hooks
 * }
 * ```
 */
export abstract class StorageHooks extends EventEmitter<RegistryEvents> {
  /** Which peers can share the store. */
  abstract readonly reach: RegistryReach;

  /** Opens connections and prepares the store (schema, scripts). */
  protected abstract connect(signal?: AbortSignal): Promise<void>;
  /** Closes every connection; must not throw. */
  protected abstract disconnect(): Promise<void>;
  /**
   * Upserts a full record living `ttlMs` from now by the store's clock; announces `join` (new)
   * or `update` (existing). Returns the stored `expiresAt` (store's clock), if known.
   */
  protected abstract put(
    record: InstanceRecord,
    ttlMs: number,
    signal?: AbortSignal,
  ): number | undefined | Promise<number | undefined>;
  /** Extends a record's life to `ttlMs` from now (store's clock); false if it does not exist. */
  protected abstract touch(
    instanceId: string,
    ttlMs: number,
    signal?: AbortSignal,
  ): boolean | Promise<boolean>;
  /** Deletes a record; announces `leave` if it existed. */
  protected abstract remove(instanceId: string, signal?: AbortSignal): void | Promise<void>;
  /** Raw stored values of the records of one name that are live by the store's clock (validated here). */
  protected abstract fetchByName(name: string, signal?: AbortSignal): unknown[] | Promise<unknown[]>;
  /** Raw stored values of every live instance (or a superset of those matching `pattern`). */
  protected abstract fetchAll(pattern: string, signal?: AbortSignal): unknown[] | Promise<unknown[]>;
  /** Atomically deletes records expired by the store's clock; announces `timeout` for each one this call deleted. */
  protected abstract sweep(signal?: AbortSignal): Promise<void>;
  /**
   * Starts passing every announced change (raw: `{ type, record }` or its JSON text) to
   * `deliver`. Not called when `feedKey()` names a shared feed.
   */
  protected abstract subscribe(deliver: (change: unknown) => void, signal?: AbortSignal): Promise<void>;
  /** Stops the subscription; must not throw. */
  protected abstract unsubscribe(): Promise<void>;
  /**
   * The identity of the store connection a watch can share with the other registries of this
   * process that watch the same store (the namespace is added to it), or undefined (the
   * default) to subscribe on its own. When defined, `openFeed` makes that connection: once per
   * process, whatever the number of watching registries, each change decoded once.
   */
  protected feedKey(): string | undefined {
    return undefined;
  }
  /**
   * Opens a connection of its own (not this registry's: it outlives it while others watch) that
   * passes every announced change of this namespace to `sink.deliver`, tells `sink.reset()` after
   * a reconnect and `sink.failed(err)` on a failure. Resolves to the function that closes it.
   */
  protected openFeed(
    _sink: { deliver(change: unknown): void; reset(): void; failed(err: unknown): void },
    _signal?: AbortSignal,
  ): Promise<() => void> {
    return Promise.reject(new Error('feedKey() is defined but openFeed() is not'));
  }
  /** Local addresses of the open connections to the store (network registries), to notice a vanished one. */
  protected localAddresses(): string[] {
    return [];
  }
  /** Drops every connection to the store and makes new ones (the path went dead); must not throw. */
  protected reconnect(): void {}
  /** True if a driver failure is a call that timed out (counted towards `reconnectAfterTimeouts`). */
  protected isTimeout(_err: unknown): boolean {
    return false;
  }

  // ---- helpers for adapters ----------------------------------------------------------------

  /** Reports a non-fatal problem as a `warning` event. */
  protected warn(error: SidecarError): void {
    this.emit('warning', error);
  }

  /** Wraps a driver failure in RegistryUnavailableError (other SidecarErrors pass through). */
  protected unavailable(what: string, err: unknown): SidecarError {
    if (isSidecarError(err)) return err;
    const detail = err instanceof Error ? err.message : String(err);
    return new RegistryUnavailableError(`${what}: ${detail}`, { cause: err });
  }
}
