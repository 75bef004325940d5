import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const entry = join(dirname(fileURLToPath(import.meta.url)), '../src/bin.ts');

const started = new Set<ChildProcessWithoutNullStreams>();

/** Kills every program a test started and left running (a failed test must not leak processes). */
export async function killLeftovers(): Promise<void> {
  const alive = [...started].filter((c) => c.exitCode === null && c.signalCode === null);
  await Promise.all(
    alive.map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  started.clear();
}

/** Starts the real `sidecar` program (from its sources) with `args`. */
export function startCli(
  args: string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams & { output: () => { out: string; err: string } } {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@sidecar/source', entry, ...args], {
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  started.add(child);
  child.once('exit', () => started.delete(child));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return Object.assign(child, { output: () => ({ out, err }) });
}

/** Runs `sidecar args...` to its end (killed after `timeoutMs`), feeding `input` on stdin. */
export async function runCli(
  args: string[],
  options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const child = startCli(args, options.env);
  child.stdin.end(options.input ?? '');
  const code = await new Promise<number | null>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.once('exit', (c) => {
      clearTimeout(timer);
      resolve(c);
    });
  });
  return { code, ...child.output() };
}

/** Waits until the child's output contains `text` (or fails after `timeoutMs`). */
export async function waitForOutput(
  child: ReturnType<typeof startCli>,
  text: string,
  stream: 'out' | 'err' = 'err',
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!child.output()[stream].includes(text)) {
    if (Date.now() > deadline)
      throw new Error(`no "${text}" in ${stream}: ${JSON.stringify(child.output())}`);
    if (child.exitCode !== null)
      throw new Error(`exited ${child.exitCode} before "${text}": ${JSON.stringify(child.output())}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Sends SIGINT and resolves with the exit code. */
export function interrupt(child: ReturnType<typeof startCli>): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(child.exitCode);
    child.once('exit', (c) => resolve(c));
    child.kill('SIGINT');
  });
}
