import { createSqlRegistry } from '@sidecar/registry-sql';
import { describe, expect, it } from 'vitest';

describe('SQL registries: host', () => {
  it('is the PostgreSQL host from the URL, and undefined for SQLite or a socket directory', () => {
    expect(createSqlRegistry({ url: 'postgres://app:secret@db.internal:5432/sidecar' }).host).toBe(
      'db.internal',
    );
    expect(createSqlRegistry({ url: 'postgresql://[fd00::5]/x' }).host).toBe('fd00::5');
    expect(createSqlRegistry({ url: 'postgres://app@db/x?host=10.0.0.9' }).host).toBe('10.0.0.9');
    expect(createSqlRegistry({ url: 'postgres:///x?host=/var/run/postgresql' }).host).toBeUndefined();
    expect(createSqlRegistry({ url: 'sqlite:/tmp/sidecar-host-test.db' }).host).toBeUndefined();
  });
});
