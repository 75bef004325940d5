import { type Stats, type StatWatcher, unwatchFile, watchFile } from 'node:fs';

/** Default poll interval of the certificate file watcher, in ms. */
export const DEFAULT_WATCH_INTERVAL = 1000;

/**
 * Polls files (stat, not inotify: it survives the rename-into-place that certificate tools use)
 * and calls `onChange` once per burst of changes. The polling never keeps the process alive.
 */
export class CertWatcher {
  readonly #files: string[];
  readonly #interval: number;
  readonly #onChange: () => void;
  readonly #listener = (current: Stats, previous: Stats) => {
    if (
      current.mtimeMs !== previous.mtimeMs ||
      current.ino !== previous.ino ||
      current.size !== previous.size
    )
      this.#schedule();
  };
  #timer: NodeJS.Timeout | undefined;
  #running = false;

  constructor(files: string[], onChange: () => void, interval = DEFAULT_WATCH_INTERVAL) {
    this.#files = [...new Set(files)];
    this.#onChange = onChange;
    this.#interval = interval;
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    for (const file of this.#files) {
      const watcher: StatWatcher = watchFile(
        file,
        { interval: this.#interval, persistent: false },
        this.#listener,
      );
      watcher.unref();
    }
  }

  stop(): void {
    if (!this.#running) return;
    this.#running = false;
    clearTimeout(this.#timer);
    for (const file of this.#files) unwatchFile(file, this.#listener);
  }

  /** A cert, key and CA are often written one after the other: wait for the burst to settle. */
  #schedule(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#onChange(), Math.min(this.#interval, 250));
    this.#timer.unref();
  }
}
