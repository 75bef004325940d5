import { SqliteFile, type SqliteFileSettings } from './sqlite-file.js';

/** What a registry on a shared file hears. */
export interface FileUser {
  /** The file was deleted or replaced and opened again: changes in between were missed. */
  reopened(): void;
  /** Checking the file failed (once per outage). */
  failed(err: unknown): void;
}

/** A file in use, and how to give it back. */
export interface FileLease {
  file: SqliteFile;
  /** Stops using the file; the last user's release closes it. Idempotent. */
  release(): void;
}

interface Entry {
  file: SqliteFile;
  users: Set<FileUser>;
  timer: NodeJS.Timeout | undefined;
  failing: boolean;
}

const files = new Map<string, Entry>();

/**
 * The registries of one process on the same SQLite file share one connection (one page cache,
 * one set of prepared statements) instead of one per peer; better-sqlite3 is synchronous, so
 * their statements and transactions never interleave. One timer per file notices a deleted or
 * replaced file every `checkInterval` ms and opens it again (every user is told). Opening
 * creates and migrates the file; the last release closes it.
 */
export function acquireFile(
  settings: SqliteFileSettings,
  checkInterval: number,
  user: FileUser,
  signal?: AbortSignal,
): FileLease {
  const key = `${settings.path}\u0000${settings.tables.prefix}\u0000${settings.busyTimeout}`;
  let entry = files.get(key);
  if (!entry) {
    const users = new Set<FileUser>();
    const file = new SqliteFile(settings, () => {
      for (const u of users) u.reopened();
    });
    const created: Entry = { file, users, timer: undefined, failing: false };
    created.file.open(signal); // throws: nothing kept
    created.timer = setInterval(() => check(created), checkInterval);
    created.timer.unref();
    files.set(key, created);
    entry = created;
  }
  const joined = entry;
  joined.users.add(user);
  return {
    file: joined.file,
    release: () => {
      if (!joined.users.delete(user) || joined.users.size > 0) return;
      if (files.get(key) === joined) files.delete(key);
      clearInterval(joined.timer);
      joined.file.close();
    },
  };
}

function check(entry: Entry): void {
  try {
    entry.file.fresh();
    entry.failing = false;
  } catch (err) {
    if (entry.failing) return; // one warning per outage, not one per check
    entry.failing = true;
    for (const u of entry.users) u.failed(err);
  }
}
