import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where every test server listens unless a test gives a lab bridge address. */
export const LOOPBACK = '127.0.0.1';

/** A free TCP port on `host` (127.0.0.1, or a lab bridge address only): listen on 0, read the port, close. */
export function freePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Fails with an install hint when a server binary the tests need is missing. */
export function requireBinary(path: string, install: string): void {
  if (!existsSync(path)) {
    throw new Error(
      `the tests need ${path}; install it with: ${install} (or run: bash scripts/setup.sh --test)`,
    );
  }
}

/** Retries `check` until it resolves true, or throws `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs = 15_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** True when `port` on 127.0.0.1 can be listened on now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, LOOPBACK, () => server.close(() => resolve(true)));
  });
}

/** Resolves when the process has exited (at once if it has already). */
export function exited(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Stops a child process: SIGTERM, then SIGKILL after `graceMs`. Resolves when it has exited. */
export function stopProcess(child: ChildProcess, graceMs = 3000): Promise<void> {
  return stopWith(child, 'SIGTERM', graceMs);
}

/** Sends `signal`, then SIGKILL after `graceMs` if it is still running; resolves when it has exited. */
export async function stopWith(
  child: ChildProcess | undefined,
  signal: NodeJS.Signals,
  graceMs = 5000,
): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await done;
  clearTimeout(timer);
}

/** Spawns a server process with its output kept for error messages. */
export function spawnServer(
  command: string,
  args: string[],
  options: { uid?: number; gid?: number; cwd?: string } = {},
): {
  child: ChildProcess;
  output: () => string;
} {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  child.stderr?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  return { child, output: () => output };
}
