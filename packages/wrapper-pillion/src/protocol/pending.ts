import { performance } from 'node:perf_hooks';

/**
 * A function that can be passed to, or provided for, a remote peer. Its parameters are `any` on
 * purpose, the one place in the public types: remote arguments are untyped JSON and callbacks, and
 * this is what lets the original program compile unannotated:
 * `provide('greet', (name, cb) => cb('hi there, ' + name))`. Annotate parameters to narrow them.
 */
// biome-ignore lint/suspicious/noExplicitAny: deliberate, see above
export type RemoteFunction = (...args: any[]) => unknown;

/** An outgoing call that still has callbacks waiting to be invoked. */
export interface PendingCall {
  /** The id of the call message. */
  readonly id: string;
  /** The method called. */
  readonly method: string;
  /** Names of its callbacks still pending (usually one: an array is cheaper than a Set). */
  readonly callbacks: string[];
  /** Set for promise calls: rejects the promise (and releases its timer and signal). */
  fail?(error: Error): void;
  /** Set for promise calls: resolves the promise with what its reply callback was called with. */
  settle?(values: unknown[]): void;
}

/**
 * One temporary method: a callback the remote side may invoke once. A promise call is the entry
 * of its own reply (no object more per call): its `fn` is undefined and its `call` itself.
 */
export interface PendingCallback {
  /** Its name, `x_<id>` (see `callbackKey`). */
  readonly name: string;
  /** The function to call; undefined for a promise call's reply (then `call.settle` is used). */
  readonly fn: RemoteFunction | undefined;
  readonly call: PendingCall;
  /** When it expires (`performance.now()` ms), set by PendingCallbacks.add. */
  expiresAt: number;
}

/** The entry of a function callback. */
export class FunctionCallback implements PendingCallback {
  expiresAt = 0;
  constructor(
    readonly name: string,
    readonly fn: RemoteFunction | undefined,
    readonly call: PendingCall,
  ) {}
}

/**
 * Removes `name`, a callback of `call` just taken from the table, from the call's pending names;
 * true when none are left. A call's names are exactly its callbacks still in the table, so a
 * call with one name left needs no comparison (the commonest case: a promise call's reply).
 */
export function removeCallbackName(call: PendingCall, name: string): boolean {
  const names = call.callbacks;
  if (names.length === 1) names.length = 0;
  else {
    const i = names.indexOf(name);
    if (i >= 0) names.splice(i, 1);
  }
  return names.length === 0;
}

/** Code units of a callback name's sequence digits (see `generateId`). */
const SEQUENCE_DIGITS = 8;
const UNDERSCORE = 0x5f;

/**
 * The table key of a callback name this side makes, `x_<ms>_<8 digits>`: its 8 digits as a
 * number (unique among the ids made within 1e8 of each other, see `generateId`); -1 for any other
 * name, which then names no callback of this side. A number keys the table without hashing or
 * comparing strings; the entry's own name is compared once, on a hit.
 */
export function callbackKey(name: string): number {
  const end = name.length;
  const start = end - SEQUENCE_DIGITS;
  if (start < 3 || name.charCodeAt(0) !== 0x78 || name.charCodeAt(1) !== UNDERSCORE) return -1;
  if (name.charCodeAt(start - 1) !== UNDERSCORE) return -1;
  let key = 0;
  for (let i = start; i < end; i++) {
    const digit = name.charCodeAt(i) - 0x30;
    if (digit < 0 || digit > 9) return -1;
    key = key * 10 + digit;
  }
  return key;
}

/** Why a callback was dropped without being invoked. */
export type DropReason = 'expired' | 'overflow';

/**
 * The callbacks a stream has handed out and not seen invoked yet, bounded in number (the
 * oldest is dropped first) and in age (one unref'd timer sweeps them in insertion order).
 */
export class PendingCallbacks {
  /** By `callbackKey` of their names, in insertion order (the oldest first). */
  readonly #entries = new Map<number, PendingCallback>();
  #timer: NodeJS.Timeout | undefined;

  constructor(
    readonly max: number,
    readonly ttl: number,
    readonly onDrop: (name: string, entry: PendingCallback, reason: DropReason) => void,
  ) {}

  /** How many callbacks are pending. */
  get size(): number {
    return this.#entries.size;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** The callback called `name`, left in place. */
  get(name: string): PendingCallback | undefined {
    const entry = this.#entries.get(callbackKey(name));
    return entry !== undefined && entry.name === name ? entry : undefined;
  }

  /**
   * Registers a callback (its name made by `generateId`, see `callbackKey`); drops the oldest
   * ones first if the table is full, and one whose key it takes over (ids 1e8 apart).
   */
  add(entry: PendingCallback): void {
    const key = callbackKey(entry.name);
    if (key < 0) throw new TypeError(`not a callback name of this side: ${JSON.stringify(entry.name)}`);
    const clash = this.#entries.get(key);
    if (clash) {
      this.#entries.delete(key);
      this.onDrop(clash.name, clash, 'overflow');
    }
    while (this.#entries.size >= this.max) {
      const [oldest, dropped] = this.#entries.entries().next().value as [number, PendingCallback];
      this.#entries.delete(oldest);
      this.onDrop(dropped.name, dropped, 'overflow');
    }
    entry.expiresAt = performance.now() + this.ttl;
    this.#entries.set(key, entry);
    if (this.#timer === undefined) this.#arm();
  }

  /**
   * Removes and returns a callback (a temporary method is used at most once). The sweep timer
   * stays armed when the table empties (no clearTimeout + setTimeout per call): it then fires
   * once, finds nothing and is not re-armed.
   */
  take(name: string): PendingCallback | undefined {
    const key = callbackKey(name);
    if (key < 0) return undefined;
    const entry = this.#entries.get(key);
    if (entry === undefined || entry.name !== name) return undefined;
    this.#entries.delete(key);
    return entry;
  }

  /** Removes every callback and returns them. */
  clear(): PendingCallback[] {
    const all = [...this.#entries.values()];
    this.#entries.clear();
    this.#disarm();
    return all;
  }

  #arm(): void {
    if (this.#timer || this.#entries.size === 0) return;
    const first = this.#entries.values().next().value as PendingCallback;
    this.#timer = setTimeout(() => this.#sweep(), Math.max(0, first.expiresAt - performance.now()) + 1);
    this.#timer.unref();
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #sweep(): void {
    this.#timer = undefined;
    const now = performance.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt > now) break;
      this.#entries.delete(key);
      this.onDrop(entry.name, entry, 'expired');
    }
    this.#arm();
  }
}
