import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSidecar, type InstanceRecord, openRegistry } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import { metrics } from '@sidecar/metrics';
import { afterEach, describe, expect, it } from 'vitest';
import { targetGroups } from '../src/commands/metrics-sd.js';
import { killPeers, startPeer } from './peer-processes.js';
import { interrupt, killLeftovers, runCli, startCli, waitForOutput } from './run-cli.js';

afterEach(async () => {
  await killLeftovers();
  await killPeers();
});

interface Group {
  targets: string[];
  labels: Record<string, string>;
}

function sqliteRegistry(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-sd-')), 'registry.db')}`;
}

function hostile(name: string, metricsValue: unknown): Omit<InstanceRecord, 'expiresAt'> {
  return {
    name,
    instanceId: `hostile-${name}`,
    namespace: 'default',
    endpoints: [{ transport: 'tcp', host: '127.0.0.1', port: 1 }],
    methods: [],
    metadata: { metrics: metricsValue as never },
    registeredAt: Date.now(),
  };
}

describe('sidecar metrics-sd', { timeout: 90_000 }, () => {
  it('lists exactly the live peers that expose metrics, and drops one that stops', async () => {
    const registry = sqliteRegistry();
    const a = await startPeer('alpha', registry, { ttl: 1200 });
    const b = await startPeer('beta', registry, { ttl: 1200 });
    await startPeer('plain', registry, { ttl: 1200, metricsOn: false });
    // Records a hostile peer could write: none of them may become a target.
    const reg = await openRegistry(registry as `sqlite:${string}`);
    for (const [name, value] of [
      ['bad-port', { port: 'x' }],
      ['far-host', { port: 9100, host: '10.1.2.3' }],
      ['bad-path', { port: 9100, path: '/metrics?<script>' }],
      ['not-object', 'http://evil.example/metrics'],
      ['huge-port', { port: 70000 }],
    ] as const)
      await reg.register(hostile(name, value), 60_000);

    const sd = startCli(['metrics-sd', '--registry', registry, '--port', '0']);
    await waitForOutput(sd, 'serving Prometheus http_sd targets');
    const url = /on (http:\/\/\S+\/)/.exec(sd.output().err)?.[1] as string;
    const read = async () => (await (await fetch(url)).json()) as Group[];

    const groups = await read();
    expect(groups.map((g) => g.labels.sidecar_name).sort()).toEqual(['alpha', 'beta']);
    for (const g of groups) {
      expect(g.targets).toHaveLength(1);
      expect(g.targets[0]).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(g.labels.__metrics_path__).toBe('/metrics');
      expect(g.labels.sidecar_namespace).toBe('default');
      expect([a.instanceId, b.instanceId]).toContain(g.labels.sidecar_instance);
      // Each target really serves the Prometheus text.
      const text = await (await fetch(`http://${g.targets[0]}/metrics`)).text();
      expect(text).toContain('sidecar_streams_opened_total');
    }

    // A graceful stop: gone at once. A crash: gone when its record expires.
    b.child.kill('SIGTERM');
    await b.exited;
    await eventually(
      async () => expect((await read()).map((g) => g.labels.sidecar_name)).toEqual(['alpha']),
      5000,
    );
    a.child.kill('SIGKILL');
    await eventually(async () => expect(await read()).toEqual([]), 10_000);

    // --once prints the same JSON and exits.
    const once = await runCli(['metrics-sd', '--once', '--registry', registry]);
    expect(once.code).toBe(0);
    expect(JSON.parse(once.out)).toEqual([]);
    expect(await interrupt(sd)).toBe(0);
    await reg.stop();
  });

  it('reads the targets from Redis and PostgreSQL too', async () => {
    for (const url of [process.env.SIDECAR_TEST_REDIS_URL, process.env.SIDECAR_TEST_POSTGRES_URL]) {
      if (!url) throw new Error('the test setup did not start Redis/PostgreSQL (see test/setup/services)');
      const namespace = `sd-${Math.random().toString(36).slice(2)}`;
      const app = createSidecar({
        name: 'exposed',
        namespace,
        registry: url as `redis://${string}`,
        plugins: [metrics()],
      });
      await app.start();
      await eventually(() => expect(app.metrics.url).toBeDefined());
      const reg = await openRegistry(url as `redis://${string}`, { namespace });
      await eventually(async () => {
        const groups = await targetGroups(reg);
        expect(groups.map((g) => g.labels.sidecar_name)).toEqual(['exposed']);
        expect(`http://${groups[0]?.targets[0]}/metrics`).toBe(app.metrics.url);
      });
      await app.stop();
      expect(await targetGroups(reg)).toEqual([]);
      await reg.stop();
    }
  });
});
