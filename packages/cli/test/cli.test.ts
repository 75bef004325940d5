import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { interrupt, killLeftovers, runCli, startCli, waitForOutput } from './run-cli.js';

afterEach(killLeftovers);

function sqliteRegistry(): string {
  return `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-cli-')), 'registry.db')}`;
}

describe('the sidecar command, run as a user runs it', { timeout: 90_000 }, () => {
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

  it('serve deregisters and exits 0 on SIGHUP and SIGTERM, not only Ctrl-C', async () => {
    const registry = sqliteRegistry();
    for (const signal of ['SIGHUP', 'SIGTERM'] as const) {
      const peer = startCli(['serve', 'hung-up', '--registry', registry]);
      await waitForOutput(peer, 'serving "hung-up"');
      expect((await runCli(['ls', '--registry', registry])).out).toContain('hung-up');
      const exited = new Promise<number | null>((resolve) => peer.once('exit', (c) => resolve(c)));
      peer.kill(signal);
      expect(await exited).toBe(0);
      expect((await runCli(['ls', '--registry', registry])).out).toContain('no live peers');
    }
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

  it('serves, lists, cats, calls and watches on real Redis and PostgreSQL servers', async () => {
    for (const registry of [process.env.SIDECAR_TEST_REDIS_URL, process.env.SIDECAR_TEST_POSTGRES_URL]) {
      expect(registry, 'the test setup starts redis-server and postgres').toBeTruthy();
      const on = ['--registry', registry as string, '--namespace', `cli-${process.pid}-${Date.now()}`];
      const watch = startCli(['watch', '--json', ...on]);
      await waitForOutput(watch, 'watching');
      const echo = startCli(['serve', 'remote-echo', ...on]);
      const greeter = startCli(['demo', '--peer', 'greeter', ...on]);
      await waitForOutput(echo, 'serving');
      await waitForOutput(greeter, 'ready', 'out');
      const listed = await runCli(['ls', '--json', ...on]);
      expect((JSON.parse(listed.out) as Array<{ name: string }>).map((r) => r.name)).toEqual([
        'greeter',
        'remote-echo',
      ]);
      expect(
        await runCli(['cat', 'remote-echo', ...on], { input: 'over the network registry\n' }),
      ).toMatchObject({
        code: 0,
        out: 'over the network registry\n',
      });
      const namespace = on[3] as string;
      const called = await runCli([
        'call',
        `${namespace}://greeter/greet`,
        '"zoe"',
        '--registry',
        registry as string,
      ]);
      expect(called.code, called.err).toBe(0);
      expect(JSON.parse(called.out)).toMatch(/^hi there, zoe/);
      expect(await interrupt(echo)).toBe(0);
      expect(await interrupt(greeter)).toBe(0);
      await waitForOutput(watch, '"event":"leave","name":"greeter"', 'out');
      expect(await interrupt(watch)).toBe(0);
      const events = watch
        .output()
        .out.trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { event: string; name: string });
      expect(
        events
          .filter((e) => e.event === 'join')
          .map((e) => e.name)
          .sort(),
      ).toEqual(['greeter', 'remote-echo']);
    }
  });
});

describe('sidecar call and sidecar demo', { timeout: 90_000 }, () => {
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

  it('cat speaks burro frames to a peer that publishes methods, and bytes with --raw', async () => {
    const registry = sqliteRegistry();
    const namespace = 'frames';
    const greeter = startCli(['demo', '--peer', 'greeter', '--registry', registry, '--namespace', namespace]);
    await waitForOutput(greeter, 'ready', 'out');
    const call = {
      type: 'call',
      id: '1_12345678',
      method: 'greet',
      params: ['ann', { name: 'x_cb' }],
      functions: [1],
    };
    const framed = await runCli(['cat', 'greeter', '--registry', registry, '--namespace', namespace], {
      input: `${JSON.stringify(call)}\n`,
    });
    expect(framed.code, framed.err).toBe(0);
    const messages = framed.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; name?: string; method?: string; params?: unknown[] });
    expect(messages.filter((m) => m.type === 'methodAdded').map((m) => m.name)).toEqual(
      expect.arrayContaining(['greet', 'status']),
    );
    expect(messages.find((m) => m.type === 'call' && m.method === 'x_cb')?.params?.[0]).toMatch(
      /^hi there, ann/,
    );
    const raw = await runCli(['cat', 'greeter', '--raw', '--registry', registry, '--namespace', namespace]);
    expect(raw.code, raw.err).toBe(0);
    expect(raw.out).toContain('{"type":"methodAdded","name":"greet"}');
    expect(() => JSON.parse(raw.out.split('\n')[0] ?? '')).toThrow(); // length prefixes: not JSON lines

    expect(await interrupt(greeter)).toBe(0);
  });

  it('cat exits as soon as the peer closes, even with stdin still open', async () => {
    const registry = sqliteRegistry();
    const quick = startCli(['serve', 'quick', '--registry', registry, '--', 'sh', '-c', 'echo bye']);
    await waitForOutput(quick, 'serving');
    const cat = startCli(['cat', 'quick', '--registry', registry]);
    const code = await new Promise<number | null>((resolve) => cat.once('exit', resolve));
    expect(code, cat.output().err).toBe(0);
    expect(cat.output().out).toBe('bye\n');
    expect(await interrupt(quick)).toBe(0);
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
