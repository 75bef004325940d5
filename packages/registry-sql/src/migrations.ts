import { throwIfAborted } from '@sidecar/core/plugin-kit';

/** One versioned schema change; `sql` builds its statements for one set of object names. */
export interface Migration<N> {
  version: number;
  sql: (names: N) => string;
}

/** What to migrate. */
export interface MigrationPlan<N> {
  /** The object names the migrations are built for. */
  names: N;
  /** The quoted migrations table (one row per applied version). */
  table: string;
  /** Versioned changes, in order. */
  migrations: readonly Migration<N>[];
}

/** How the runner talks to a database whose driver is synchronous (better-sqlite3). */
export interface SyncMigrationSession {
  /** Runs statements that return nothing. */
  exec(sql: string): void;
  /** The first column of the first row of a query (undefined or null when there is none). */
  value(sql: string): unknown;
  /** Given the applied version, may repair the schema and return the version to go on from. */
  repair?(current: number): number;
}

/** The same for a database whose driver is asynchronous (pg). */
export interface AsyncMigrationSession {
  exec(sql: string): Promise<void>;
  value(sql: string): Promise<unknown>;
  repair?(current: number): Promise<number>;
}

/** One thing the runner asks of the database. */
type Step =
  | { kind: 'exec'; sql: string }
  | { kind: 'value'; sql: string }
  | { kind: 'repair'; current: number };

/**
 * THE migration logic, for both SQLite and PostgreSQL: creates the migrations table, reads the
 * applied version (lets the session repair a broken schema), and applies each newer migration
 * exactly once, recording it. Written once as the steps it asks for, so that a synchronous driver
 * runs it inside its own transaction with no await (an await while holding SQLite's write lock
 * would let another connection of this process block the thread on that lock).
 */
function* migrationSteps<N>(plan: MigrationPlan<N>): Generator<Step, void, unknown> {
  yield {
    kind: 'exec',
    sql: `CREATE TABLE IF NOT EXISTS ${plan.table} (version integer PRIMARY KEY, applied_at bigint NOT NULL)`,
  };
  let current = Number((yield { kind: 'value', sql: `SELECT max(version) FROM ${plan.table}` }) ?? 0);
  current = Number(yield { kind: 'repair', current });
  for (const migration of plan.migrations) {
    if (migration.version <= current) continue;
    yield { kind: 'exec', sql: migration.sql(plan.names) };
    // Both numbers come from this code, never from input: safe to write into the statement.
    yield {
      kind: 'exec',
      sql: `INSERT INTO ${plan.table} (version, applied_at) VALUES (${migration.version}, ${Date.now()})`,
    };
  }
}

/** The session's answer to one step (a promise from an asynchronous session). */
function answer(session: SyncMigrationSession | AsyncMigrationSession, step: Step): unknown {
  if (step.kind === 'exec') return session.exec(step.sql);
  if (step.kind === 'value') return session.value(step.sql);
  return session.repair ? session.repair(step.current) : step.current;
}

/**
 * Runs the migrations on a synchronous driver. The caller holds the transaction (and with it the
 * database's write lock), so that peers starting at once on an empty database migrate it once.
 */
export function runMigrationsSync<N>(
  session: SyncMigrationSession,
  plan: MigrationPlan<N>,
  signal?: AbortSignal,
): void {
  const steps = migrationSteps(plan);
  let reply: unknown;
  for (let next = steps.next(); !next.done; next = steps.next(reply)) {
    throwIfAborted(signal);
    reply = answer(session, next.value);
  }
}

/** Runs the migrations on an asynchronous driver, inside the caller's transaction; see runMigrationsSync. */
export async function runMigrations<N>(
  session: AsyncMigrationSession,
  plan: MigrationPlan<N>,
  signal?: AbortSignal,
): Promise<void> {
  const steps = migrationSteps(plan);
  let reply: unknown;
  for (let next = steps.next(); !next.done; next = steps.next(reply)) {
    throwIfAborted(signal);
    reply = await answer(session, next.value);
  }
}
