import { SqlRegistry } from '@sidecar/registry-sql';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { type Child, removeTempDirs, spawnChild, tempDbPath } from './helpers.js';

afterAll(removeTempDirs);

const isObject = (l: unknown): l is Record<string, unknown> => typeof l === 'object' && l !== null;

describe('sqlite: separate OS processes on one file', () => {
  it('two processes see each other: join, lookup, leave', async () => {
    const url = `sqlite:${tempDbPath()}`;
    const children: Child[] = [];
    try {
      const a = spawnChild(['peer', url, 'proc-a']);
      children.push(a);
      await a.waitFor((l) => isObject(l) && l.ready === 'proc-a');
      const b = spawnChild(['peer', url, 'proc-b']);
      children.push(b);
      await b.waitFor((l) => isObject(l) && l.ready === 'proc-b');
      // A watches, so it sees B's join; B looks A up by name.
      await a.waitFor(
        (l) => isObject(l) && l.event === 'join' && l.name === 'proc-b' && l.pid === b.process.pid,
      );
      b.process.stdin?.write('proc-a\n');
      const found = (await b.waitFor((l) => isObject(l) && l.lookup === 'proc-a')) as { pids: number[] };
      expect(found.pids).toEqual([a.process.pid]);
      // B stops gracefully: A sees exactly one leave.
      b.process.stdin?.end();
      expect(await b.exited).toBe(0);
      await a.waitFor((l) => isObject(l) && l.event === 'leave' && l.name === 'proc-b');
      a.process.stdin?.end();
      expect(await a.exited).toBe(0);
      for (const child of children) {
        expect(child.lines.filter((l) => isObject(l) && 'unhandledRejection' in l)).toEqual([]);
        expect(child.lines.filter((l) => isObject(l) && l.event === 'timeout')).toEqual([]);
      }
      expect(a.lines.filter((l) => isObject(l) && l.event === 'leave')).toHaveLength(1);
    } finally {
      for (const child of children) child.process.kill();
    }
  });

  it('concurrent writers in four processes never fail with "database is locked"', async () => {
    const path = tempDbPath();
    const url = `sqlite:${path}`;
    // Create the file first, so the writers measure write contention (migration races are tested below).
    const watcher = new SqlRegistry({ url, namespace: 'procs', sweepInterval: 10, pollInterval: 10 });
    await watcher.start();
    await watcher.watch();
    let joins = 0;
    watcher.on('join', () => joins++);
    const writers = Array.from({ length: 4 }, () => spawnChild(['writer', url, '150']));
    try {
      const results = (await Promise.all(
        writers.map((w) => w.waitFor((l) => isObject(l) && 'registered' in l, 20_000)),
      )) as Array<{ registered: number; errors: string[] }>;
      for (const result of results) {
        expect(result.errors).toEqual([]);
        expect(result.registered).toBe(150);
      }
      for (const w of writers) expect(await w.exited).toBe(0);
      // Half of every writer's records were deregistered: 4 * 75 remain.
      expect(await watcher.list('writer-*')).toHaveLength(300);
      expect(joins).toBeGreaterThan(0);
    } finally {
      for (const w of writers) w.process.kill();
      await watcher.stop();
    }
  });

  it('migrates an empty file once when three processes start on it at the same moment', async () => {
    const path = tempDbPath();
    const children = Array.from({ length: 3 }, () => spawnChild(['migrate', `sqlite:${path}`]));
    try {
      // Every process is loaded and waiting; then all open the (missing) file at once.
      for (const child of children) await child.waitFor((l) => l === 'ready', 20_000);
      for (const child of children) child.process.stdin?.write('go\n');
      for (const child of children) {
        await child.waitFor((l) => l === 'ok', 20_000);
        expect(await child.exited).toBe(0);
      }
      const db = new Database(path, { readonly: true });
      const versions = db.prepare('SELECT version FROM sidecar_migrations').pluck().all();
      const count = db
        .prepare("SELECT count(*) FROM sidecar_instances WHERE name LIKE 'migrated-%'")
        .pluck()
        .get();
      db.close();
      expect(versions).toEqual([1]);
      expect(count).toBe(3);
    } finally {
      for (const child of children) child.process.kill();
    }
  });
});
