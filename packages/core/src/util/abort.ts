import { AbortError, TimeoutError } from '../errors.js';

/** The callbacks waiting on each signal: one real 'abort' listener per signal, however many wait. */
const waiting = new WeakMap<AbortSignal, Set<() => void>>();

/**
 * Runs `fn` once when `signal` aborts (at once if it already has) and returns a function that
 * cancels the wait. Any number of operations may share one signal: they share one listener on
 * it, so Node never prints MaxListenersExceededWarning however many calls share a signal.
 *
 * @example
 * ```ts
 * const release = onAbort(signal, () => socket.destroy());
 * try { await work(); } finally { release(); }
 * ```
 */
export function onAbort(signal: AbortSignal | undefined, fn: () => void): () => void {
  if (!signal) return noop;
  if (signal.aborted) {
    fn();
    return noop;
  }
  let set = waiting.get(signal);
  if (!set) {
    const callbacks = new Set<() => void>();
    set = callbacks;
    waiting.set(signal, callbacks);
    signal.addEventListener(
      'abort',
      () => {
        waiting.delete(signal);
        for (const callback of [...callbacks]) callback();
      },
      { once: true },
    );
  }
  const entry = () => fn();
  set.add(entry);
  return () => {
    set.delete(entry);
  };
}

function noop(): void {}

/** Throws AbortError if the signal is already aborted. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortErrorOf(signal);
}

/**
 * Settles like `promise`, or rejects with AbortError as soon as `signal` aborts. `onAbort` runs
 * when the abort wins, to release what the promise was building (a socket, a timer).
 */
export function raceSignal<T>(
  promise: Promise<T>,
  signal: AbortSignal | undefined,
  onAbort?: () => void,
): Promise<T> {
  return raceWith(promise, signal, onAbort);
}

function raceWith<T>(promise: Promise<T>, signal: AbortSignal | undefined, cleanup?: () => void): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) {
    cleanup?.();
    promise.catch(() => {});
    return Promise.reject(abortErrorOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const release = onAbort(signal, () => {
      cleanup?.();
      reject(abortErrorOf(signal));
    });
    promise.then(
      (v) => {
        release();
        resolve(v);
      },
      (e: unknown) => {
        release();
        reject(e);
      },
    );
  });
}

/** An AbortSignal that fires on `parent` or after `ms` (with a TimeoutError as its reason). */
export function withTimeout(
  parent: AbortSignal | undefined,
  ms: number | undefined,
  what: string,
): { signal: AbortSignal | undefined; clear: () => void } {
  if (ms === undefined || ms === Number.POSITIVE_INFINITY) return { signal: parent, clear: () => {} };
  const controller = new AbortController();
  // Not unref'd: a caller awaiting this operation must keep the process alive until it settles.
  const timer = setTimeout(() => controller.abort(new TimeoutError(`${what} timed out after ${ms} ms`)), ms);
  const release = onAbort(parent, () => controller.abort(parent?.reason));
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      release();
    },
  };
}

/** Turns an abort into the error to report: the TimeoutError reason itself, else an AbortError. */
export function abortErrorOf(signal: AbortSignal): Error {
  return signal.reason instanceof TimeoutError ? signal.reason : new AbortError(signal.reason);
}

/** Resolves after `ms`, or rejects with AbortError (or the TimeoutError reason) when the signal aborts first. */
export function delay(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortErrorOf(signal));
    const timer = setTimeout(() => {
      release();
      resolve();
    }, ms);
    const release = onAbort(signal, () => {
      clearTimeout(timer);
      reject(abortErrorOf(signal as AbortSignal));
    });
  });
}
