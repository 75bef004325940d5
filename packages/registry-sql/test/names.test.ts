import { testRecord } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freshSchema, postgresUrl, removeTempDirs, tempDbPath } from './helpers.js';

const NASTY = [
  "';DROP_TABLE_sidecar_instances;--",
  "Robert');DELETE_FROM_sidecar_events_WHERE('1'='1",
  '"double"\'single\'`back`',
  '%_\\%\\_',
  'a%b',
  'a_b',
  'ünïcødé-名前-🚀-\u00e9', // NFC: a decomposed accent is refused as a look-alike
  '$1$2::text',
  'NULL',
];

const opened: SqlRegistry[] = [];
afterEach(async () => {
  await Promise.all(opened.splice(0).map((r) => r.stop()));
});
afterAll(removeTempDirs);

describe.each([
  ['sqlite', () => ({ url: `sqlite:${tempDbPath()}` })],
  ['postgres', () => ({ url: postgresUrl(), schema: freshSchema() })],
])('names with quotes, unicode and SQL fragments round-trip (%s)', (_label, options) => {
  it('registers, looks up and lists every name exactly', async () => {
    const registry = new SqlRegistry({ ...options(), namespace: "ns';--" });
    opened.push(registry);
    await registry.start();
    for (const name of NASTY) await registry.register(testRecord(name, { metadata: { name } }), 60_000);
    for (const name of NASTY) {
      const found = await registry.lookup(name, { fresh: true });
      expect(found.map((r) => [r.name, r.metadata.name])).toEqual([[name, name]]);
    }
    expect((await registry.list('*')).map((r) => r.name).sort()).toEqual([...NASTY].sort());
    // LIKE wildcards in a pattern's literal part are escaped: 'a%*' does not match 'a_b'.
    expect((await registry.list('a%*')).map((r) => r.name)).toEqual(['a%b']);
    expect((await registry.list('a_*')).map((r) => r.name)).toEqual(['a_b']);
    expect((await registry.list('%_\\*')).map((r) => r.name)).toEqual(['%_\\%\\_']);
    expect((await registry.list("'*")).map((r) => r.name)).toEqual(["';DROP_TABLE_sidecar_instances;--"]);
  });
});
