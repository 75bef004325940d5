import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { interrupt, runCli, startCli, waitForOutput } from './run-cli.js';

function sqliteRegistry(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-cli-')), 'registry.db')}`;
}

describe('the sidecar command, run as a user runs it', () => {
  it('serves, lists, cats and stops a peer on a SQLite registry', async () => {
    const registry = sqliteRegistry();
    expect((await runCli(['ls', '--registry', registry])).out).toContain('no live peers');
    const echo = startCli(['serve', 'echo', '--registry', registry]);
    const upper = startCli(['serve', 'upper', '--registry', registry, '--', 'tr', 'a-z', 'A-Z']);
    await waitForOutput(echo, 'serving "echo"');
    await waitForOutput(upper, 'serving "upper"');

    const table = await runCli(['ls', '--registry', registry]);
    expect(table.code).toBe(0);
    expect(table.out).toMatch(/^NAME\s+INSTANCE\s+ENDPOINTS\s+METHODS\s+AGE\s+EXPIRES IN/);
    expect(table.out).toMatch(/echo\s+\S+\s+tcp:\/\/127\.0\.0\.1:\d+/);
    const json = JSON.parse((await runCli(['ls', 'ech?', '--json', '--registry', registry])).out) as Array<{
      name: string;
      expiresInMs: number;
    }>;
    expect(json.map((r) => r.name)).toEqual(['echo']);
    expect(json[0]?.expiresInMs).toBeGreaterThan(0);

    const echoed = await runCli(['cat', 'echo', '--registry', registry], { input: 'hello by name\n' });
    expect(echoed).toMatchObject({ code: 0, out: 'hello by name\n' });
    const shouted = await runCli(['cat', 'upper', '--registry', registry], { input: 'quiet words\n' });
    expect(shouted).toMatchObject({ code: 0, out: 'QUIET WORDS\n' });

    expect(await interrupt(echo)).toBe(0);
    expect(await interrupt(upper)).toBe(0);
    expect((await runCli(['ls', '--registry', registry])).out).toContain('no live peers');
  });

  it('watches joins and leaves as NDJSON until interrupted', async () => {
    const registry = sqliteRegistry();
    const watch = startCli(['watch', '--json', '--registry', registry]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const peer = startCli(['serve', 'watched', '--registry', registry]);
    await waitForOutput(peer, 'serving');
    await waitForOutput(watch, '"event":"join"', 'out');
    expect(await interrupt(peer)).toBe(0);
    await waitForOutput(watch, '"event":"leave"', 'out');
    expect(await interrupt(watch)).toBe(0);
    const events = watch
      .output()
      .out.trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { event: string; name: string; at: string });
    expect(events.map((e) => `${e.event}:${e.name}`)).toEqual(['join:watched', 'leave:watched']);
    expect(Number.isNaN(Date.parse(events[0]?.at ?? ''))).toBe(false);
  });

  it('answers bad input with one clear line, a documented exit code and no stack trace', async () => {
    const registry = sqliteRegistry();
    const scheme = await runCli(['ls', '--registry', 'ftp://example']);
    expect(scheme.code).toBe(2);
    expect(scheme.err).toMatch(/^error: unknown registry "ftp:\/\/example".*SIDECAR_ERR_INVALID_CONFIG/);
    expect(scheme.err).not.toMatch(/\n\s+at /);

    const name = await runCli(['cat', 'bad name', '--registry', registry]);
    expect(name.code).toBe(2);
    expect(name.err).toContain('SIDECAR_ERR_INVALID_NAME');

    const missing = await runCli(['cat', 'nobody', '--timeout', '300', '--registry', registry]);
    expect(missing.code).toBe(3);
    expect(missing.err).toContain('SIDECAR_ERR_PEER_NOT_FOUND');
    expect(missing.err).toContain('hint:');

    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);

    const debug = await runCli(['ls', '--registry', 'ftp://example', '--debug']);
    expect(debug.err).toMatch(/\n\s+at /);
  });

  it('fails fast with exit code 4 when the registry server is unreachable', async () => {
    for (const registry of ['redis://127.0.0.1:1', 'postgres://postgres@127.0.0.1:1/postgres']) {
      const result = await runCli(['ls', '--registry', registry], { timeoutMs: 30_000 });
      expect(result.code, `${registry}: ${result.err}`).toBe(4);
      expect(result.err).toContain('SIDECAR_ERR_REGISTRY_UNAVAILABLE');
    }
  });

  it('lists peers on real Redis and PostgreSQL servers', async () => {
    for (const registry of [process.env.SIDECAR_TEST_REDIS_URL, process.env.SIDECAR_TEST_POSTGRES_URL]) {
      expect(registry, 'the test setup starts redis-server and postgres').toBeTruthy();
      const namespace = `cli-${process.pid}-${Date.now()}`;
      const peer = startCli([
        'serve',
        'remote-peer',
        '--registry',
        registry as string,
        '--namespace',
        namespace,
      ]);
      await waitForOutput(peer, 'serving');
      const listed = await runCli([
        'ls',
        '--json',
        '--registry',
        registry as string,
        '--namespace',
        namespace,
      ]);
      expect((JSON.parse(listed.out) as Array<{ name: string }>).map((r) => r.name)).toEqual(['remote-peer']);
      expect(await interrupt(peer)).toBe(0);
    }
  });
});

describe('sidecar call and sidecar demo', () => {
  it('calls pillion methods by URI, one line per peer for patterns, with typed failures', async () => {
    const registry = sqliteRegistry();
    const namespace = 'calls';
    const peers = ['greeter', 'worker-1'].map((role) =>
      startCli(['demo', '--peer', role, '--registry', registry, '--namespace', namespace]),
    );
    for (const p of peers) await waitForOutput(p, 'ready', 'out');

    const greeted = await runCli(['call', `${namespace}://greeter/greet`, '"bob"', '--registry', registry]);
    expect(greeted.code, greeted.err).toBe(0);
    expect(JSON.parse(greeted.out)).toMatch(/^hi there, bob \(from greeter, pid \d+\)$/);

    const all = await runCli(['call', `${namespace}://*/status`, '--registry', registry]);
    expect(all.code, all.err).toBe(0);
    const lines = all.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { peer: string; ok: boolean; value: { name: string } });
    expect(lines.map((l) => [l.peer, l.ok, l.value.name]).sort()).toEqual([
      ['greeter', true, 'greeter'],
      ['worker-1', true, 'worker-1'],
    ]);

    const missing = await runCli([
      'call',
      `${namespace}://greeter/nope`,
      '--registry',
      registry,
      '--timeout',
      '3000',
    ]);
    expect(missing.code, missing.err).toBe(5);
    expect(missing.err).toContain('SIDECAR_ERR_METHOD_NOT_FOUND');

    const badJson = await runCli(['call', `${namespace}://greeter/greet`, 'bob', '--registry', registry]);
    expect(badJson.code).toBe(2);
    expect(badJson.err).toContain('not JSON');

    const badUri = await runCli(['call', 'not-a-uri', '--registry', registry]);
    expect(badUri.code).toBe(2);

    for (const p of peers) expect(await interrupt(p)).toBe(0);
  });

  it('runs the demo to the end with every child process gone', async () => {
    const result = await runCli(['demo', '--registry', sqliteRegistry(), '--ttl', '1000'], {
      timeoutMs: 60_000,
    });
    expect(result.code, result.err).toBe(0);
    for (const text of [
      'join    greeter',
      'hi there, newcomer',
      'worker-1  {"name":"worker-1"',
      'leave   worker-2',
      'timeout flaky',
      'done.',
    ]) {
      expect(result.out).toContain(text);
    }
    const pids = [...result.out.matchAll(/\(pid (\d+)\) exited/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(4);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
