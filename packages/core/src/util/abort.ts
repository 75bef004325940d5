import { AbortError, TimeoutError } from '../errors.js';

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
  if (!signal) return promise;
  if (signal.aborted) {
    onAbort?.();
    promise.catch(() => {});
    return Promise.reject(abortErrorOf(signal));
  }
  return new Promise<T>((resolve, reject) => {
    const abort = () => {
      onAbort?.();
      reject(abortErrorOf(signal));
    };
    signal.addEventListener('abort', abort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', abort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', abort);
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
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener('abort', onParent, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', onParent);
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
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(abortErrorOf(signal as AbortSignal));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
