/**
 * Runs a registry's sweep for expired records every `interval` ms, one at a time (a slow sweep
 * is never overlapped by the next). The timer does not keep the process alive; `stop()` aborts
 * the signal given to a sweep in progress, so it can end between steps.
 */
export class Sweeper {
  readonly #interval: number;
  readonly #sweep: (signal: AbortSignal) => Promise<void>;
  readonly #failed: (err: unknown) => void;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #lifetime: AbortController | undefined;

  /** `failed` hears every failure of a sweep that was not stopped. */
  constructor(
    interval: number,
    sweep: (signal: AbortSignal) => Promise<void>,
    failed: (err: unknown) => void,
  ) {
    this.#interval = interval;
    this.#sweep = sweep;
    this.#failed = failed;
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
    this.#running = true;
    try {
      await this.#sweep(lifetime.signal);
    } catch (err) {
      if (!lifetime.signal.aborted) this.#failed(err);
    } finally {
      this.#running = false;
    }
  }
}
