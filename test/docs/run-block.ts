import { type ChildProcess, spawn } from 'node:child_process';

/** The result of running one block to its end. */
export interface BlockRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  timedOut: boolean;
}

/** How long a block may run before it counts as "never exits". */
export const BLOCK_TIMEOUT_MS = 45_000;

/** Runs `cmd args` to its end (killed after `timeoutMs`), collecting its output. */
export function runToEnd(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<BlockRun> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    let timedOut = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? BLOCK_TIMEOUT_MS);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, out, err, timedOut });
    });
  });
}

/** A block started in the background (a server), ready once it printed its first line. */
export interface Background {
  child: ChildProcess;
  output(): { out: string; err: string };
  /** Sends SIGTERM and resolves with how it ended. */
  stop(timeoutMs?: number): Promise<BlockRun>;
}

/** Starts `cmd args` and resolves once it wrote a first line to stdout; rejects if it exits first. */
export function startBackground(
  cmd: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<Background> {
  const child = spawn(cmd, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const closed = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const background: Background = {
    child,
    output: () => ({ out, err }),
    async stop(timeoutMs = 15_000) {
      let timedOut = false;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
      const end = await closed;
      clearTimeout(timer);
      return { ...end, out, err, timedOut };
    },
  };
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`no output within ${options.timeoutMs ?? BLOCK_TIMEOUT_MS} ms: ${err}`));
    }, options.timeoutMs ?? BLOCK_TIMEOUT_MS);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) {
        clearTimeout(timer);
        resolve(background);
      }
    });
    void closed.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code ?? signal}) before printing a line:\n${out}${err}`));
    });
  });
}
