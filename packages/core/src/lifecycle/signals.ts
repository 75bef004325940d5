/** Anything with an async `stop()`: a sidecar, a registry. */
export interface Stoppable {
  stop(options?: { drain?: number }): Promise<void>;
}

/** Options of `stopOnSignals()` / `sidecar.stopOnSignals()`. */
export interface StopOnSignalsOptions {
  /**
   * The signals that stop it. The first one stops gracefully (the peer deregisters: others see a
   * `leave`, not a `timeout`); a second one while stopping exits at once (code 128 + signal number).
   * @default ['SIGINT', 'SIGTERM']
   */
  signals?: readonly NodeJS.Signals[];
  /**
   * Exit the process once stopped: code `process.exitCode ?? 0`, or 1 if `stop()` failed.
   * `false` only stops, and the process exits when nothing else keeps it alive.
   * @default true
   */
  exit?: boolean;
  /**
   * Passed to `stop()`: how long open streams get to finish after the deregistration, in ms.
   * @default 0
   */
  drain?: number;
}

/** The signals `stopOnSignals()` handles by default: Ctrl-C and a service manager's stop. */
export const DEFAULT_STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };

/**
 * Stops `target` gracefully on SIGINT / SIGTERM (or `options.signals`), then exits the process.
 * Returns a function that removes the handlers again. Signal handlers do not keep a process alive.
 *
 * @example
 * ```ts
 * const app = createSidecar({ name: 'billing' });
 * stopOnSignals(app);            // or: app.stopOnSignals()
 * await app.start();
 * ```
 */
export function stopOnSignals(target: Stoppable, options: StopOnSignalsOptions = {}): () => void {
  const signals = options.signals ?? DEFAULT_STOP_SIGNALS;
  const exit = options.exit ?? true;
  let stopping = false;
  const remove = () => {
    for (const signal of signals) process.off(signal, onSignal);
  };
  function onSignal(signal: NodeJS.Signals): void {
    if (stopping) {
      // Asked twice: the user wants out now.
      process.exit(128 + (SIGNAL_NUMBERS[signal] ?? 0));
    }
    stopping = true;
    const stopOptions = options.drain === undefined ? undefined : { drain: options.drain };
    target.stop(stopOptions).then(
      () => {
        remove();
        if (exit) process.exit(process.exitCode ?? 0);
      },
      (err: unknown) => {
        remove();
        process.stderr.write(`sidecar: stop on ${signal} failed: ${(err as Error)?.message ?? err}\n`);
        if (exit) process.exit(1);
        else process.exitCode = 1;
      },
    );
  }
  for (const signal of signals) process.on(signal, onSignal);
  return remove;
}
