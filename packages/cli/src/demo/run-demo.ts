import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createSidecar, type PeerInfo } from '@sidecar/core';
import { defaultSqlitePath } from '@sidecar/registry-sql';
import { type PeerResult, pillion } from '@sidecar/wrapper-pillion';
import { type GlobalOptions, registryOf, untilInterrupted } from '../options.js';
import { paint } from '../output.js';

/** Options of `sidecar demo`. */
export interface DemoOptions extends GlobalOptions {
  /** Record lifetime of the demo peers, in ms. */
  ttl?: number;
}

const ROLES = ['greeter', 'worker-1', 'worker-2', 'flaky'] as const;
const STEP_TIMEOUT = 20_000;

/** One demo peer, run in its own process by `sidecar demo --peer ROLE`. */
export async function runDemoPeer(role: string, options: DemoOptions): Promise<void> {
  const started = Date.now();
  const app = createSidecar({
    name: role,
    events: false,
    wrappers: [pillion()],
    ...(options.ttl ? { ttl: options.ttl } : {}),
    ...registryOf(options),
  });
  if (role === 'greeter') {
    app
      .to('*')
      .provide('greet', (name: unknown, reply: unknown) =>
        (reply as (text: string) => void)(`hi there, ${String(name)} (from ${role}, pid ${process.pid})`),
      );
  }
  app
    .to('*')
    .provide('status', (reply: unknown) =>
      (reply as (status: object) => void)({ name: role, pid: process.pid, uptimeMs: Date.now() - started }),
    );
  await app.start();
  process.stdout.write(`ready ${app.instanceId}\n`);
  await untilInterrupted();
  await app.stop();
}

const step = (n: number, text: string) => console.log(`\n${paint('bold', `[${n}]`)} ${paint('bold', text)}`);
const note = (text: string) => console.log(paint('dim', `    ${text}`));
const line = (text: string) => console.log(`    ${text}`);

/** Resolves when `check` returns true (checked on every event and every 50 ms), or throws after `ms`. */
async function until(what: string, check: () => boolean, ms = STEP_TIMEOUT): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`the demo gave up waiting for ${what} after ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/**
 * `sidecar demo`: starts a few peers as separate processes on the embedded SQLite registry and
 * narrates: finding each other by name, a greet RPC with a callback, a broadcast to `*`, a peer
 * leaving and one timing out. Exits 0 with every child process gone.
 */
export async function runDemo(options: DemoOptions): Promise<void> {
  const { registry, namespace } = registryOf({
    ...options,
    namespace: options.namespace ?? `demo-${process.pid}`,
  });
  const ttl = options.ttl ?? 2000;
  const children = new Map<string, ChildProcess>();
  const events: string[] = [];

  console.log(
    paint('bold', 'sidecar demo: apps that find each other by name, with no address in any config'),
  );
  note(
    `registry: ${registry === 'sql' ? `the embedded SQLite file ${defaultSqlitePath()}` : String(registry)} (namespace "${namespace}")`,
  );

  const app = createSidecar({
    name: 'demo',
    namespace,
    register: false,
    wrappers: [pillion()],
    registry,
  });
  const show = (type: string, mark: string) => (peer: PeerInfo) => {
    events.push(`${type}:${peer.name}`);
    line(`${mark} ${type.padEnd(7)} ${peer.name.padEnd(9)} ${paint('dim', `instance ${peer.instanceId}`)}`);
  };
  app.on('join', show('join', paint('green', '+')));
  app.on('leave', show('leave', paint('yellow', '-')));
  app.on('timeout', show('timeout', paint('red', 'x')));

  try {
    await app.start();
    step(1, `Starting ${ROLES.length} peers as separate processes: ${ROLES.join(', ')}`);
    note(
      'each listens on a free port on 127.0.0.1 and registers only its name; this process watches the registry',
    );
    for (const role of ROLES) children.set(role, startPeer(role, namespace, ttl, options));
    await until('the peers to join', () => ROLES.every((r) => events.includes(`join:${r}`)));

    step(2, 'A greet RPC with a callback: greeter.greet("newcomer", reply => ...)');
    note('to("greeter") looks the name up, dials, checks the hello, and wraps the stream in pillion RPC');
    const reply = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no reply from greeter')), STEP_TIMEOUT);
      app.to('greeter').callRemote('greet', 'newcomer', (text: unknown) => {
        clearTimeout(timer);
        resolve(text);
      });
    });
    line(`the callback was called with: ${JSON.stringify(reply)}`);

    step(3, `A broadcast to every peer: call("${namespace}://*/status")`);
    note('the pattern * matches every live peer whose registry record lists the method "status"');
    const results = (await app.call(`${namespace}://*/status`, { timeout: 5000 })) as PeerResult[];
    for (const r of results.sort((a, b) => a.peer.name.localeCompare(b.peer.name))) {
      line(`${r.peer.name.padEnd(9)} ${r.ok ? JSON.stringify(r.value) : `failed: ${r.error.message}`}`);
    }

    step(4, 'worker-2 stops gracefully (SIGTERM -> stop() -> it deregisters)');
    await stopChild(children, 'worker-2', 'SIGTERM');
    await until('worker-2 to leave', () => events.includes('leave:worker-2'));

    step(
      5,
      `flaky is killed with SIGKILL: it cannot deregister, so its record expires after its TTL (${ttl} ms)`,
    );
    note('whichever peer sweeps first removes it and announces one timeout to everybody');
    await stopChild(children, 'flaky', 'SIGKILL');
    await until('flaky to time out', () => events.includes('timeout:flaky'), ttl * 3 + STEP_TIMEOUT);

    step(6, 'Stopping the others');
    for (const role of ['greeter', 'worker-1']) await stopChild(children, role, 'SIGTERM');
    await until(
      'the last peers to leave',
      () => events.includes('leave:greeter') && events.includes('leave:worker-1'),
    );
    const timeouts = events.filter((e) => e.startsWith('timeout:'));
    line(`every child process has exited; ${timeouts.length} timeout event(s) seen (${timeouts.join(', ')})`);
    console.log(`\n${paint('green', 'done.')} Next, in two terminals: npx sidecar serve echo`);
    console.log('    and then: echo hi | npx sidecar cat echo');
    note('(`npx sidecar --help` lists every command; in the sidecar repository: pnpm sidecar ...)');
  } finally {
    for (const child of children.values())
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await app.stop();
  }
}

function startPeer(role: string, namespace: string, ttl: number, options: DemoOptions): ChildProcess {
  const args = [
    ...process.execArgv,
    process.argv[1] as string,
    'demo',
    '--peer',
    role,
    '--namespace',
    namespace,
    '--ttl',
    String(ttl),
  ];
  if (options.registry) args.push('--registry', options.registry);
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
    if (!text.startsWith('ready')) console.log(`    [${role}] ${text}`);
  });
  return child;
}

async function stopChild(
  children: Map<string, ChildProcess>,
  role: string,
  signal: NodeJS.Signals,
): Promise<void> {
  const child = children.get(role);
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill(signal);
  await exited;
  line(`${role} (pid ${child.pid}) exited: ${child.signalCode ?? `code ${child.exitCode}`}`);
}
