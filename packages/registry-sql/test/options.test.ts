import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidConfigError } from '@sidecar/core';
import {
  createSqlRegistry,
  defaultSqlitePath,
  PostgresRegistry,
  parseSqlUrl,
  SqliteRegistry,
  SqlRegistry,
  sqlRegistry,
} from '@sidecar/registry-sql';
import { describe, expect, it } from 'vitest';

describe('options', () => {
  it('uses one per-user SQLite file by default', () => {
    expect(defaultSqlitePath({ XDG_STATE_HOME: '/state' })).toBe('/state/sidecar/registry.db');
    expect(defaultSqlitePath({ HOME: '/home/ada' })).toBe('/home/ada/.local/state/sidecar/registry.db');
    expect(defaultSqlitePath({ XDG_STATE_HOME: 'relative', HOME: '/h' })).toBe(
      '/h/.local/state/sidecar/registry.db',
    );
    expect(defaultSqlitePath({})).toBe(join(homedir(), '.local', 'state', 'sidecar', 'registry.db'));
    const env = { XDG_STATE_HOME: '/state' };
    for (const url of [undefined, '', 'sql', 'sqlite:']) {
      expect(parseSqlUrl(url, env)).toEqual({ dialect: 'sqlite', path: '/state/sidecar/registry.db' });
    }
  });

  it('parses sqlite: and postgres:// URLs', () => {
    expect(parseSqlUrl('sqlite:/tmp/r.db')).toEqual({ dialect: 'sqlite', path: '/tmp/r.db' });
    expect(parseSqlUrl('sqlite:///tmp/r.db')).toEqual({ dialect: 'sqlite', path: '/tmp/r.db' });
    expect(parseSqlUrl('sqlite:~/r.db', { HOME: '/home/ada' })).toEqual({
      dialect: 'sqlite',
      path: '/home/ada/r.db',
    });
    expect(parseSqlUrl('sqlite:rel.db')).toEqual({ dialect: 'sqlite', path: join(process.cwd(), 'rel.db') });
    expect(parseSqlUrl('postgres://u:p@h/db')).toEqual({ dialect: 'postgres', url: 'postgres://u:p@h/db' });
    expect(parseSqlUrl('postgresql://h/db')).toEqual({ dialect: 'postgres', url: 'postgresql://h/db' });
  });

  it('rejects what it cannot use with InvalidConfigError, at configuration time', () => {
    expect(() => parseSqlUrl('mysql://h/db')).toThrow(InvalidConfigError);
    expect(() => parseSqlUrl('sqlite::memory:')).toThrow(InvalidConfigError);
    expect(() => sqlRegistry({ url: 'redis://x' })).toThrow(InvalidConfigError);
    expect(() => new SqlRegistry({ url: 'sqlite:/tmp/x.db', tablePrefix: 'x"; DROP' })).toThrow(
      InvalidConfigError,
    );
    expect(() => new SqlRegistry({ url: 'postgres://h/db', schema: 'a b' })).toThrow(InvalidConfigError);
  });

  it('reports reach: machine for SQLite, network for PostgreSQL; masks passwords', () => {
    expect(new SqlRegistry({ url: 'sqlite:/tmp/x.db' }).reach).toBe('machine');
    const pg = new SqlRegistry({ url: 'postgres://app:secret@db.internal/sidecar' });
    expect(pg.reach).toBe('network');
    expect(pg.dialect).toBe('postgres');
    expect(pg.location).toBe('postgres://app:***@db.internal/sidecar');
    const lite = new SqlRegistry({ url: 'sqlite:/tmp/x.db' });
    expect([lite.reach, lite.dialect, lite.location]).toEqual(['machine', 'sqlite', '/tmp/x.db']);
  });

  it('picks the registry class from the URL; the old SqlRegistry constructor still works', () => {
    const lite = createSqlRegistry({ url: 'sqlite:/tmp/x.db' });
    const pg = createSqlRegistry({ url: 'postgres://h/db' });
    expect(lite).toBeInstanceOf(SqliteRegistry);
    expect(pg).toBeInstanceOf(PostgresRegistry);
    expect(new SqlRegistry({ url: 'sqlite:/tmp/x.db' })).toBeInstanceOf(SqliteRegistry);
    expect(lite instanceof SqlRegistry && pg instanceof SqlRegistry).toBe(true);
    expect({} instanceof SqlRegistry).toBe(false);
    // A class given the other database's URL is a configuration error, not a silent switch.
    expect(() => new SqliteRegistry({ url: 'postgres://h/db' })).toThrow(InvalidConfigError);
    expect(() => new PostgresRegistry({ url: 'sqlite:/tmp/x.db' })).toThrow(InvalidConfigError);
    expect(() => new PostgresRegistry()).toThrow(InvalidConfigError); // no URL means the SQLite default
  });
});
