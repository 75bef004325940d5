import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SidecarError } from '@sidecar/core';
import { eventually, testRecord } from '@sidecar/core/testing';
import { SqlRegistry } from '@sidecar/registry-sql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type PostgresServer, startPostgres } from '../../../test/setup/servers/index.js';

// This test freezes its own server: the shared one serves other test files meanwhile.
let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres();
});
afterAll(async () => {
  signalAll('SIGCONT');
  await server?.stop();
});

/** Sends a signal to the postmaster and every backend of this test's server. */
function signalAll(signal: NodeJS.Signals): void {
  if (!server) return;
  const postmaster = Number(readFileSync(join(server.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let children: number[] = [];
  try {
    children = execFileSync('pgrep', ['-P', String(postmaster)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    // no children
  }
  for (const pid of [postmaster, ...children]) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone
    }
  }
}

describe('postgres frozen (SIGSTOP) under a running registry', () => {
  it('queries time out, the registry drops its connections and makes new ones, and works once thawed', async () => {
    const registry = new SqlRegistry({
      url: server.url,
      namespace: 'frozen',
      queryTimeout: 300,
      pool: { connectionTimeoutMillis: 500 },
    });
    const warnings: SidecarError[] = [];
    registry.on('warning', (w) => warnings.push(w));
    try {
      await registry.start();
      const record = testRecord('patient');
      await registry.register(record, 60_000);
      signalAll('SIGSTOP');
      for (let i = 0; i < 2; i++) {
        const failed = await registry.renew(record.instanceId, 60_000).catch((err: unknown) => err);
        expect((failed as SidecarError).code).toBe('SIDECAR_ERR_REGISTRY_UNAVAILABLE');
        expect((failed as SidecarError).retryable).toBe(true);
      }
      expect(
        warnings.some((w) => /reconnecting to the registry: 2 calls in a row timed out/.test(w.message)),
      ).toBe(true);
      signalAll('SIGCONT');
      await eventually(() => registry.renew(record.instanceId, 60_000), 10_000);
      expect((await registry.lookup('patient', { fresh: true })).map((r) => r.instanceId)).toEqual([
        record.instanceId,
      ]);
    } finally {
      signalAll('SIGCONT');
      await registry.stop();
    }
  });
});
