import type { SidecarError } from '../errors.js';
import type { InstanceRecord } from '../records.js';
import { type FeedListener, joinFeed, type OpenFeed } from './change-feed.js';
import { ChangeTracker, type RegistryChange } from './change-tracker.js';

/** What the watch needs from its registry. */
export interface WatchHost {
  readonly namespace: string;
  /** The adapter's shared feed, or undefined: a subscription of its own (see StorageHooks.feedKey). */
  feedKey(): string | undefined;
  openFeed: OpenFeed;
  subscribe(deliver: (change: unknown) => void, signal?: AbortSignal): Promise<void>;
  unsubscribe(): Promise<void>;
  present(signal?: AbortSignal): Promise<InstanceRecord[]>;
  /** A change read (its event: undefined when told already). */
  seen(event: RegistryChange['type'] | undefined, record: InstanceRecord): void;
  warn(error: SidecarError): void;
  reset(): void;
}

/**
 * A registry's watch: through the process-wide feed the adapter shares (see change-feed.ts), or
 * through a subscription of its own with its own ChangeTracker.
 */
export class RegistryWatch {
  readonly #host: WatchHost;
  readonly #changes = new ChangeTracker();
  #watching = false;
  #leave: (() => void) | undefined;

  constructor(host: WatchHost) {
    this.#host = host;
  }

  get watching(): boolean {
    return this.#watching;
  }

  /** Starts; throws the driver's failure (the caller wraps it). Idempotent. */
  async start(signal?: AbortSignal): Promise<void> {
    if (this.#watching) return;
    this.#watching = true;
    const host = this.#host;
    const key = host.feedKey();
    try {
      if (key !== undefined) {
        const listener: FeedListener = {
          change: (event, record) => this.#watching && host.seen(event, record),
          warn: (error) => host.warn(error),
          reset: () => host.reset(),
        };
        const present = () => host.present(signal);
        const leave = await joinFeed({
          key,
          open: host.openFeed,
          namespace: host.namespace,
          listener,
          present,
          signal,
        });
        if (this.#watching) this.#leave = leave;
        else leave();
        return;
      }
      await host.subscribe((raw) => this.#deliver(raw), signal);
    } catch (err) {
      this.#watching = false;
      throw err;
    }
    // Instances already present are known, so their next update is not mistaken for a join.
    const present = await host.present(signal).catch(() => []);
    for (const record of present) this.#changes.present(record.instanceId);
  }

  /** Stops; never throws. Idempotent. */
  async stop(): Promise<void> {
    if (!this.#watching) return;
    this.#watching = false;
    const leave = this.#leave;
    this.#leave = undefined;
    if (leave) leave();
    else await this.#host.unsubscribe().catch(() => {});
  }

  #deliver(raw: unknown): void {
    if (!this.#watching) return;
    const host = this.#host;
    const seen = this.#changes.read(raw, host.namespace, (e) => host.warn(e));
    if (seen) host.seen(seen.event, seen.record);
  }
}
