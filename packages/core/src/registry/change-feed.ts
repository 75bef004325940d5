import type { SidecarError } from '../errors.js';
import type { InstanceRecord } from '../records.js';
import { ChangeTracker, type RegistryChange } from './change-tracker.js';

/** What a registry that watches through a shared feed hears. */
export interface FeedListener {
  /** A change was read: `event` is what it means (undefined: already told), once for the whole process. */
  change(event: RegistryChange['type'] | undefined, record: InstanceRecord): void;
  /** A malformed change was skipped, or the feed's connection failed. */
  warn(error: SidecarError): void;
  /** The feed reconnected: changes made meanwhile may have been missed. */
  reset(): void;
}

/** Where an adapter's feed connection hands what it reads. */
export interface FeedSink {
  /** One raw change (`{ type, record }` or its JSON text): decoded and checked once here. */
  deliver(raw: unknown): void;
  /** The connection was made again. */
  reset(): void;
  /** The connection failed (reported to every listener). */
  failed(err: unknown): void;
}

/** Opens an adapter's own connection for a feed; resolves to the function that closes it. */
export type OpenFeed = (sink: FeedSink, signal?: AbortSignal) => Promise<() => void>;

/**
 * One stream of changes of one store and namespace, shared by every registry of the process
 * that watches it: one connection (one Redis subscriber, one SQLite poller), each change
 * decoded and checked once, and one ChangeTracker deciding join/update/leave/timeout once for
 * all. So N peers in one process cost one subscription, not N, and a peer that starts watching
 * does not read the whole namespace again: the feed already knows who is there.
 */
class SharedFeed implements FeedSink {
  readonly listeners = new Set<FeedListener>();
  readonly tracker = new ChangeTracker();
  ready: Promise<void> = Promise.resolve();
  close: (() => void) | undefined;
  closed = false;

  constructor(readonly namespace: string) {}

  deliver(raw: unknown): void {
    const seen = this.tracker.read(raw, this.namespace, (e) => this.#warn(e));
    if (!seen) return;
    for (const listener of this.listeners) listener.change(seen.event, seen.record);
  }

  reset(): void {
    for (const listener of this.listeners) listener.reset();
  }

  failed(err: unknown): void {
    for (const listener of this.listeners) listener.warn(err as SidecarError);
  }

  #warn(error: SidecarError): void {
    for (const listener of this.listeners) listener.warn(error);
  }
}

const feeds = new Map<string, SharedFeed>();

/** How a registry joins the feed of `key`; the first one in opens it and seeds who is present. */
export interface JoinFeed {
  key: string;
  namespace: string;
  listener: FeedListener;
  open: OpenFeed;
  /** The live records now (to know who was there before the feed opened). */
  present: () => Promise<InstanceRecord[]>;
  signal?: AbortSignal;
}

/** Joins (opening if needed) the feed of `key + namespace`; resolves to the function that leaves it. */
export async function joinFeed(join: JoinFeed): Promise<() => void> {
  const key = `${join.key}\u0000${join.namespace}`;
  let feed = feeds.get(key);
  if (!feed) {
    const created = new SharedFeed(join.namespace);
    created.ready = (async () => {
      created.close = await join.open(created, join.signal);
      if (created.closed) created.close();
      const present = await join.present().catch(() => []);
      for (const record of present) created.tracker.present(record.instanceId);
    })();
    created.ready.catch(() => {
      if (feeds.get(key) === created) feeds.delete(key);
    });
    feeds.set(key, created);
    feed = created;
  }
  const joined = feed;
  joined.listeners.add(join.listener);
  const leave = () => {
    if (!joined.listeners.delete(join.listener) || joined.listeners.size > 0) return;
    if (feeds.get(key) === joined) feeds.delete(key);
    joined.closed = true;
    joined.close?.();
  };
  try {
    await joined.ready;
  } catch (err) {
    leave();
    throw err;
  }
  return leave;
}
