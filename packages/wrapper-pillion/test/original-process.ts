import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** One JSON line a child printed. */
export type Line = { event: string } & Record<string, unknown>;

/** A child process running a CommonJS script of this folder, with its JSON lines collected. */
export interface Child {
  process: ChildProcess;
  lines: Line[];
  /** Resolves with the first line of `event` (rejects if the child exits first). */
  next(event: string): Promise<Line>;
  /** Kills the child and waits for it to exit. */
  kill(): Promise<void>;
}

/** Starts `node <script> ...args` from this folder. */
export function runScript(script: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Child {
  const child = spawn(process.execPath, [join(here, script), ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Line[] = [];
  const waiters: Array<() => void> = [];
  let buffer = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let i = buffer.indexOf('\n');
    while (i >= 0) {
      lines.push(JSON.parse(buffer.slice(0, i)) as Line);
      buffer = buffer.slice(i + 1);
      i = buffer.indexOf('\n');
    }
    for (const w of waiters.splice(0)) w();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    process: child,
    lines,
    next(event) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = lines.find((l) => l.event === event);
          if (line) resolve(line);
          else if (child.exitCode !== null || child.signalCode !== null)
            reject(new Error(`${script} exited (${child.exitCode}) before "${event}": ${stderr}`));
          else waiters.push(check);
        };
        child.once('exit', check);
        check();
      });
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
