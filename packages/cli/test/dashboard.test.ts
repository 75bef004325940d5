import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSidecar, openRegistry } from '@sidecar/core';
import { eventually } from '@sidecar/core/testing';
import { metrics } from '@sidecar/metrics';
import { type BrowserContext, chromium } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { serveDashboard } from '../src/commands/dashboard.js';
import type { PeerView } from '../src/commands/dashboard-state.js';
import { killPeers, startPeer } from './peer-processes.js';
import { interrupt, killLeftovers, runCli, startCli, waitForOutput } from './run-cli.js';

const CHROMIUM = '/usr/bin/chromium';
const REPORTS = join(dirname(fileURLToPath(import.meta.url)), '../../../reports');
const EVIL_NAME = '<i>evil<i>';
const EVIL_NOTE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">';

let browser: BrowserContext;
let profile: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `the dashboard test needs Debian's Chromium at ${CHROMIUM}: apt-get install -y chromium (or bash scripts/setup.sh --test)`,
    );
  }
  profile = mkdtempSync(join(tmpdir(), 'sidecar-chromium-'));
  // A fresh profile directory for this run (launchPersistentContext passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 720 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  if (profile) rmSync(profile, { recursive: true, force: true });
});
afterEach(async () => {
  await killLeftovers();
  await killPeers();
});

describe('sidecar dashboard in a real browser', { timeout: 120_000 }, () => {
  it('shows peers appear, time out and leave without a reload, and shows hostile text as text', async () => {
    const registry = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-dash-')), 'registry.db')}`;
    const dash = startCli(['dashboard', '--registry', registry, '--port', '0', '--interval', '250']);
    await waitForOutput(dash, 'dashboard of namespace');
    const url = /on (http:\/\/\S+\/)/.exec(dash.output().err)?.[1] as string;
    expect(new URL(url).hostname).toBe('127.0.0.1');

    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(url);
    await page.evaluate(() => {
      (globalThis as unknown as { __sameDocument: number }).__sameDocument = 1;
    });
    const rowOf = (instanceId: string) => page.locator(`#peers tbody tr[data-instance="${instanceId}"]`);
    const stateOf = (instanceId: string) => rowOf(instanceId).getAttribute('data-state');
    await expect(page.locator('#empty').isVisible()).resolves.toBe(true);

    // Peers start, each in its own process, while the page is open.
    const alpha = await startPeer('alpha', registry, { ttl: 1500 });
    const beta = await startPeer('beta', registry, { ttl: 1500, metadata: { role: 'worker', zone: 'a' } });
    const evil = await startPeer(EVIL_NAME, registry, {
      ttl: 1500,
      metadata: { note: EVIL_NOTE },
      metricsOn: false,
    });
    for (let i = 0; i < 3; i++) {
      const called = await runCli(['call', 'default://alpha/ping', '--registry', registry]);
      expect(called.out).toContain('pong');
    }

    // All three appear, live, with endpoints, methods and (for those that expose them) figures.
    for (const p of [alpha, beta, evil])
      await eventually(async () => expect(await stateOf(p.instanceId)).toBe('live'), 15_000);
    await expect(rowOf(alpha.instanceId).locator('td').nth(4).innerText()).resolves.toMatch(
      /tcp:\/\/127\.0\.0\.1:\d+/,
    );
    await expect(rowOf(alpha.instanceId).locator('td').nth(5).innerText()).resolves.toContain('ping');
    await eventually(
      async () =>
        expect(await rowOf(alpha.instanceId).locator('dd[data-figure="callsServed"]').innerText()).toBe('3'),
      15_000,
    );
    for (const p of [alpha, beta, evil]) {
      await expect(
        page.locator(`#log li[data-type="join"][data-instance="${p.instanceId}"]`).count(),
      ).resolves.toBe(1);
    }
    await expect(rowOf(evil.instanceId).innerText()).resolves.toContain('no metrics');
    await expect(rowOf(beta.instanceId).locator('td.metadata').innerText()).resolves.toContain(
      '{"role":"worker","zone":"a"',
    );

    // A hostile name and metadata show as text: no element made from them, no script run.
    await expect(rowOf(evil.instanceId).locator('td.name').innerText()).resolves.toBe(EVIL_NAME);
    await expect(rowOf(evil.instanceId).locator('td.metadata').innerText()).resolves.toBe(
      JSON.stringify({ note: EVIL_NOTE }),
    );
    expect(await page.locator('#peers i, #peers img, #peers script, #log i').count()).toBe(0);
    expect(
      await page.evaluate(() => (globalThis as unknown as { __pwned?: number }).__pwned),
    ).toBeUndefined();

    // Killed: it times out (its row turns "timed out", the log says timeout).
    beta.child.kill('SIGKILL');
    await eventually(async () => expect(await stateOf(beta.instanceId)).toBe('timed out'), 20_000);
    await eventually(
      async () =>
        expect(
          await page.locator(`#log li[data-type="timeout"][data-instance="${beta.instanceId}"]`).count(),
        ).toBe(1),
      20_000,
    );
    mkdirSync(REPORTS, { recursive: true });
    await page.screenshot({ path: join(REPORTS, 'dashboard.png'), fullPage: true });

    // Stopped gracefully: it leaves (its row goes, the log says leave).
    alpha.child.kill('SIGTERM');
    await alpha.exited;
    await eventually(async () => expect(await rowOf(alpha.instanceId).count()).toBe(0), 15_000);
    await eventually(
      async () =>
        expect(
          await page.locator(`#log li[data-type="leave"][data-instance="${alpha.instanceId}"]`).count(),
        ).toBe(1),
      15_000,
    );
    expect(await stateOf(evil.instanceId)).toBe('live');

    // All of it without a reload.
    expect(
      await page.evaluate(() => (globalThis as unknown as { __sameDocument?: number }).__sameDocument),
    ).toBe(1);
    expect(problems).toEqual([]);
    await page.close();
    expect(await interrupt(dash)).toBe(0);
  });

  it('works over Redis and PostgreSQL: peers, heartbeat against the TTL, and the live log', async () => {
    for (const url of [process.env.SIDECAR_TEST_REDIS_URL, process.env.SIDECAR_TEST_POSTGRES_URL]) {
      if (!url) throw new Error('the test setup did not start Redis/PostgreSQL (see test/setup/services)');
      const namespace = `dash-${Math.random().toString(36).slice(2)}`;
      const registry = await openRegistry(url as `redis://${string}`, { namespace });
      const dash = await serveDashboard(registry, '*', { port: 0, interval: 200 });
      const app = createSidecar({
        name: 'seen',
        namespace,
        registry: url as `redis://${string}`,
        ttl: 1500,
        plugins: [metrics()],
      });
      await app.start();
      const state = async () => (await (await fetch(`${dash.url}api/state`)).json()) as { peers: PeerView[] };
      await eventually(async () => {
        const [peer] = (await state()).peers;
        expect(peer).toMatchObject({
          name: 'seen',
          instanceId: app.instanceId,
          state: 'live',
          transports: ['tcp'],
        });
        expect(peer?.ttl).toBeGreaterThan(900);
        expect(peer?.ttl).toBeLessThanOrEqual(1500);
        expect(peer?.heartbeatAge).toBeLessThan(1500);
        expect(peer?.figures?.streamsOpened).toBe(0);
      }, 10_000);
      const events = await fetch(`${dash.url}events`);
      expect(events.headers.get('content-type')).toBe('text/event-stream');
      await events.body?.cancel();
      await app.stop();
      await eventually(async () => expect((await state()).peers).toEqual([]), 5000);
      await dash.stop();
      await registry.stop();
    }
  });
});
