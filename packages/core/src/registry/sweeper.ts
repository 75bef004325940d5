/** When each shared store and namespace was last swept in this process (ms since epoch). */
const lastSweeps = new Map<string, number>();

/**
 * Runs a registry's sweep for expired records every `interval` ms, one at a time (a slow sweep
 * is never overlapped by the next). The timer does not keep the process alive; `stop()` aborts
 * the signal given to a sweep in progress, so it can end between steps. Registries of one
 * process on the same store and namespace (same `shared()` key) take turns: a tick is skipped
 * when another one swept less than an interval ago, so N peers in a process sweep like one.
 */
export class Sweeper {
  readonly #interval: number;
  readonly #sweep: (signal: AbortSignal) => Promise<void>;
  readonly #failed: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #lifetime: AbortController | undefined;
  readonly #shared: () => string | undefined;

  /** `failed` hears every failure of a sweep that was not stopped; `shared` gives the turn-taking key. */
  constructor(
    interval: number,
    sweep: (signal: AbortSignal) => Promise<void>,
    failed: (err: unknown) => void,
    shared: () => string | undefined = () => undefined,
  ) {
    this.#interval = interval;
    this.#sweep = sweep;
    this.#failed = failed;
    this.#shared = shared;
  }

  start(): void {
    if (this.#timer) return;
    this.#lifetime = new AbortController();
    this.#timer = setInterval(() => void this.#once(), this.#interval);
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#lifetime?.abort();
    this.#lifetime = undefined;
  }

  async #once(): Promise<void> {
    const lifetime = this.#lifetime;
    if (this.#running || !lifetime) return;
    const key = this.#shared();
    if (key !== undefined) {
      const now = Date.now();
      // A little under an interval: timers of the same period drift, and one must always win.
      if (now - (lastSweeps.get(key) ?? 0) < this.#interval * 0.9) return;
      lastSweeps.set(key, now);
    }
    this.#running = true;
    try {
      await this.#sweep(lifetime.signal);
    } catch (err) {
      if (key !== undefined) lastSweeps.delete(key); // a failing sweeper leaves the turn to the others
      if (!lifetime.signal.aborted) this.#failed(err);
    } finally {
      this.#running = false;
    }
  }
}
