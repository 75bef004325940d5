import { raceSignal } from '@sidecar/core/plugin-kit';
import { connectClient, createClient, type RedisClient } from './connection.js';
import { connectError } from './errors.js';
import type { RedisRegistryOptions } from './options.js';

/** What a shared client tells each registry that uses it. */
export interface ClientUser {
  /** The connection failed (ioredis keeps reconnecting). */
  lost(err: unknown): void;
  /** The connection is ready again. */
  back(): void;
}

/** A client in use, and how to give it back. */
export interface Lease {
  client: RedisClient;
  /** Stops using the client; the last user's release disconnects it. Idempotent. */
  release(): void;
}

interface Entry {
  client: RedisClient;
  users: Set<ClientUser>;
  ready: Promise<void>;
}

const pool = new Map<string, Entry>();

/** How a registry asks for the client of `key`. */
export interface Acquire {
  /** Same server and same options (see RedisRegistry.feedKey). */
  key: string;
  options: RedisRegistryOptions;
  /** For messages (never contains a password). */
  target: string;
  connectTimeout: number;
  user: ClientUser;
  signal?: AbortSignal;
}

/**
 * The registries of one process that reach the same server with the same options share one
 * ioredis client (commands are pipelined on its one connection; a Cluster client's node
 * connections and slot map are made once), instead of one connection per peer. The client is
 * connected (and checked: a refused password fails here) for the first user, and disconnected
 * when the last one releases it. A user that joins while the shared client is away waits for it
 * like a first connect would, so `start()` still fails on a server that does not answer.
 */
export async function acquireClient(a: Acquire): Promise<Lease> {
  let entry = pool.get(a.key);
  let waitReady = entry !== undefined && entry.client.status !== 'ready';
  if (!entry) {
    const client = createClient(a.options);
    const created: Entry = { client, users: new Set(), ready: Promise.resolve() };
    created.ready = connectClient(client, a.target, a.connectTimeout, a.signal).then(() => {
      client.on('error', (err: unknown) => {
        for (const user of created.users) user.lost(err);
      });
      client.on('ready', () => {
        for (const user of created.users) user.back();
      });
    });
    created.ready.catch(() => {
      if (pool.get(a.key) === created) pool.delete(a.key);
    });
    pool.set(a.key, created);
    entry = created;
    waitReady = false;
  }
  const joined = entry;
  joined.users.add(a.user);
  const release = () => {
    if (!joined.users.delete(a.user) || joined.users.size > 0) return;
    if (pool.get(a.key) === joined) pool.delete(a.key);
    joined.client.disconnect();
  };
  try {
    await joined.ready;
    if (waitReady) await ready(joined.client, a.target, a.connectTimeout, a.signal);
  } catch (err) {
    release();
    throw err;
  }
  return { client: joined.client, release };
}

/** Waits until a shared client that is reconnecting is ready again, at most `timeoutMs`. */
async function ready(
  client: RedisClient,
  target: string,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<void> {
  if (client.status === 'ready') return;
  let onReady: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await raceSignal(
      new Promise<void>((resolve, reject) => {
        onReady = resolve;
        client.once('ready', onReady);
        timer = setTimeout(
          () => reject(connectError(new Error(`no answer within ${timeoutMs} ms`), target)),
          timeoutMs,
        );
      }),
      signal,
    );
  } finally {
    clearTimeout(timer);
    if (onReady) client.off('ready', onReady);
  }
}
