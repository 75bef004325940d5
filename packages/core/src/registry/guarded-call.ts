import { channel } from 'node:diagnostics_channel';
import { DIAGNOSTICS, timeRegistryOperation } from '../diagnostics.js';
import type { SidecarError } from '../errors.js';
import type { ConnectionHealth } from './connection-health.js';

const operations = channel(DIAGNOSTICS.registryOperation);

/** What a guarded call reports to: the registry (diagnostics owner), its health, its error wrapper. */
export interface CallGuard {
  readonly owner: object;
  /** False before start() and after stop(): every call then fails. */
  started(): boolean;
  readonly health: ConnectionHealth;
  unavailable(what: string, err: unknown): SidecarError;
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/**
 * Runs storage hooks: each success or failure is counted in the connection health, a failure
 * becomes RegistryUnavailableError (SidecarErrors pass through), and the call is timed for
 * diagnostics when someone listens. A hook that answers synchronously (an embedded store) gets
 * its value back synchronously: the hot path of a lookup then allocates no promise of its own
 * (and no closure: the handlers are made once).
 */
export class GuardedCalls {
  readonly #guard: CallGuard;
  readonly #ok = <T>(value: T): T => {
    this.#guard.health.succeeded();
    return value;
  };

  constructor(guard: CallGuard) {
    this.#guard = guard;
  }

  /** Runs `hook`; throws synchronously when the registry is not started. */
  run<T>(what: string, hook: () => T | Promise<T>): T | Promise<T> {
    if (!this.#guard.started()) {
      throw this.#guard.unavailable(`cannot ${what}`, new Error('the registry is not started'));
    }
    if (operations.hasSubscribers) {
      return timeRegistryOperation(this.#guard.owner, what, async () => hook()).then(this.#ok, (err) =>
        this.#failed(what, err),
      );
    }
    let result: T | Promise<T>;
    try {
      result = hook();
    } catch (err) {
      return this.#failed(what, err);
    }
    if (!isPromise(result)) return this.#ok(result);
    return result.then(this.#ok, (err) => this.#failed(what, err));
  }

  #failed(what: string, err: unknown): never {
    this.#guard.health.failed(err);
    throw this.#guard.unavailable(`registry ${what} failed`, err);
  }
}
