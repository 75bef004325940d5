import { randomBytes } from 'node:crypto';
import { registryComplianceSuite } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll } from 'vitest';
import { freshSchema, postgresUrl, removeTempDirs, tempDbPath } from './helpers.js';

const malformed = (namespace: string, name: string) => [
  // bad JSON
  { id: `bad-json-${randomBytes(3).toString('hex')}`, record: '{not json' },
  // valid JSON, negative port
  {
    id: `bad-port-${randomBytes(3).toString('hex')}`,
    record: JSON.stringify({
      name,
      namespace,
      instanceId: 'badport',
      endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: -1 }],
      methods: [],
      metadata: {},
      registeredAt: Date.now(),
    }),
  },
  // endpoints of the wrong type
  {
    id: `bad-shape-${randomBytes(3).toString('hex')}`,
    record: JSON.stringify({ name, namespace, endpoints: 'nope' }),
  },
];

const sqlitePath = tempDbPath();
afterAll(removeTempDirs);

registryComplianceSuite('sql (sqlite)', {
  create: (options) => new SqlRegistry({ ...options, url: `sqlite:${sqlitePath}`, pollInterval: 20 }),
  injectMalformed: async (namespace, name) => {
    const db = new Database(sqlitePath);
    const insert = db.prepare(
      'INSERT INTO sidecar_instances (namespace, name, instance_id, expires_at, updated_at, record) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (const row of malformed(namespace, name))
      insert.run(namespace, name, row.id, Date.now() + 60_000, Date.now(), row.record);
    db.close();
  },
  propagationMs: 1000,
});

const schema = freshSchema();
registryComplianceSuite('sql (postgres)', {
  create: (options) => new SqlRegistry({ ...options, url: postgresUrl(), schema }),
  injectMalformed: async (namespace, name) => {
    const client = new pg.Client({ connectionString: postgresUrl() });
    await client.connect();
    try {
      for (const row of malformed(namespace, name)) {
        await client.query(
          `INSERT INTO "${schema}".sidecar_instances (namespace, name, instance_id, expires_at, updated_at, record) VALUES ($1, $2, $3, $4, $5, $6)`,
          [namespace, name, row.id, Date.now() + 60_000, Date.now(), row.record],
        );
      }
    } finally {
      await client.end();
    }
  },
  propagationMs: 1000,
});
