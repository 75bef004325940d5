import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type InstanceRecord, openRegistry, type RegistrySpec } from '@sidecar/core';
import { afterEach, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  children.clear();
});

/** Starts the fixture peer as its own process and resolves with its instance id once registered. */
function startPeer(name: string, registry: string, signals?: string) {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@sidecar/source',
      join(here, 'fixtures/stop-on-signal.ts'),
      name,
      registry,
      ...(signals ? [signals] : []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.add(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  const ready = new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`peer exited ${code} before ready: ${err}`)));
  });
  return { child, ready, exited, stderr: () => err };
}

describe('stopOnSignals, with real processes and real signals', { timeout: 60_000 }, () => {
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${signal}: the peer deregisters (a leave, not a timeout) and the process exits 0`, async () => {
      const registry = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-signal-')), 'registry.db')}`;
      const watcher = await openRegistry(registry as RegistrySpec);
      const events: string[] = [];
      const left = new Promise<InstanceRecord>((resolve) => watcher.on('leave', resolve));
      watcher.on('timeout', (r) => events.push(`timeout:${r.name}`));
      await watcher.watch();
      try {
        // SIGHUP is not a default: the peer asks for it, as `sidecar serve` does.
        const peer = startPeer('stoppable', registry, signal === 'SIGHUP' ? 'SIGHUP,SIGTERM' : undefined);
        const instanceId = await peer.ready;
        expect((await watcher.lookup('stoppable')).map((r) => r.instanceId)).toContain(instanceId);
        peer.child.kill(signal);
        expect(await peer.exited).toEqual({ code: 0, signal: null });
        expect((await left).instanceId).toBe(instanceId);
        expect(events).toEqual([]);
        expect(peer.stderr()).toBe('');
      } finally {
        await watcher.stop();
      }
    });
  }
});
