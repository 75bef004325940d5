import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { type Migration, runMigrations, runMigrationsSync } from '../src/migrations.js';
import { freshSchema, postgresUrl, removeTempDirs, tempDbPath } from './helpers.js';

afterAll(removeTempDirs);

type Names = { table: string };
const MIGRATIONS: readonly Migration<Names>[] = [
  { version: 1, sql: (n) => `CREATE TABLE ${n.table} (id integer)` },
  { version: 2, sql: (n) => `INSERT INTO ${n.table} (id) VALUES (7)` },
];

/** The one migration runner, on both databases it serves. */
describe('the migration runner', () => {
  it('SQLite: applies each migration once, records it, and rolls back a run aborted midway', () => {
    const db = new Database(tempDbPath());
    try {
      const session = {
        exec: (sql: string) => void db.exec(sql),
        value: (sql: string) => db.prepare(sql).pluck().get(),
      };
      const plan = { names: { table: 't' }, table: 'm', migrations: MIGRATIONS };
      const controller = new AbortController();
      const aborting = {
        ...session,
        exec: (sql: string) => {
          session.exec(sql);
          if (sql.startsWith('CREATE TABLE t')) controller.abort(); // between the two migrations
        },
      };
      expect(() =>
        db.transaction(() => runMigrationsSync(aborting, plan, controller.signal)).immediate(),
      ).toThrow();
      expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name IN ('t', 'm')").pluck().get()).toBe(0);

      for (let run = 0; run < 2; run++) db.transaction(() => runMigrationsSync(session, plan)).immediate();
      expect(db.prepare('SELECT version FROM m ORDER BY version').pluck().all()).toEqual([1, 2]);
      expect(db.prepare('SELECT id FROM t').pluck().all()).toEqual([7]); // version 2 ran once
    } finally {
      db.close();
    }
  });

  it('PostgreSQL: the same logic through an asynchronous session, with a repair step', async () => {
    const client = new pg.Client({ connectionString: postgresUrl() });
    await client.connect();
    const schema = freshSchema();
    try {
      await client.query(`CREATE SCHEMA ${schema}`);
      const repaired: number[] = [];
      const session = {
        exec: async (sql: string) => void (await client.query(sql)),
        value: async (sql: string) => Object.values((await client.query(sql)).rows[0] ?? {})[0],
        repair: async (current: number) => {
          repaired.push(current);
          return current;
        },
      };
      const plan = { names: { table: `${schema}.t` }, table: `${schema}.m`, migrations: MIGRATIONS };
      for (let run = 0; run < 2; run++) await runMigrations(session, plan);
      expect(repaired).toEqual([0, 2]);
      expect((await client.query(`SELECT version FROM ${schema}.m ORDER BY version`)).rows).toEqual([
        { version: 1 },
        { version: 2 },
      ]);
      expect((await client.query(`SELECT id FROM ${schema}.t`)).rows).toEqual([{ id: 7 }]);
    } finally {
      await client.query(`DROP SCHEMA ${schema} CASCADE`).catch(() => {});
      await client.end();
    }
  });
});
