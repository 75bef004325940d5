import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The repository root: peers run from here so `--import tsx` and the workspace packages resolve. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** One JSON line a peer process printed; `t` says what it is (`ready`, `call`, `event`, ...). */
export interface Line {
  t: string;
  [key: string]: unknown;
}

/** How to start a peer process. */
export interface SpawnOptions {
  /** Name used in error messages. @default the script path */
  label?: string;
  /** Command run before `node` (e.g. `ip netns exec NS`). @default [] */
  prefix?: string[];
  /** Extra environment variables. @default {} */
  env?: Record<string, string>;
}

const STDERR_TAIL = 4000;
const live = new Set<PeerProcess>();
const started: PeerProcess[] = [];

/**
 * A peer script running in its own Node process. Its stdout is read as JSON lines (kept in
 * `lines`), its stderr kept for error messages; commands are sent as JSON lines on stdin.
 */
export class PeerProcess {
  readonly lines: Line[] = [];
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #stderr = '';
  readonly #waiters = new Set<() => void>();

  constructor(
    readonly child: ChildProcess,
    readonly label: string,
  ) {
    live.add(this);
    started.push(this);
    this.exited = new Promise((done) =>
      child.once('exit', (code, signal) => {
        live.delete(this);
        done({ code, signal });
        this.#wake();
      }),
    );
    child.stderr?.on('data', (d: Buffer) => {
      this.#stderr = (this.#stderr + d.toString()).slice(-STDERR_TAIL);
    });
    child.stdin?.on('error', () => {});
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (text) => {
      if (!text.startsWith('{')) return;
      try {
        this.lines.push(JSON.parse(text) as Line);
      } catch {
        return;
      }
      this.#wake();
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** The last lines of the process's stderr. */
  get stderr(): string {
    return this.#stderr;
  }

  /** Lines of type `t`. */
  of(t: string): Line[] {
    return this.lines.filter((l) => l.t === t);
  }

  /** Resolves with the first line (now or later) that `match` accepts; fails after `timeoutMs`. */
  waitFor(match: (line: Line) => boolean, timeoutMs: number, what = 'a line'): Promise<Line> {
    return new Promise((resolvePromise, reject) => {
      const check = () => {
        const found = this.lines.find(match);
        if (found) finish(() => resolvePromise(found));
        else if (!this.running)
          finish(() => reject(new Error(`${this.label} exited before ${what}:\n${this.#stderr}`)));
      };
      const timer = setTimeout(
        () =>
          finish(() =>
            reject(new Error(`${this.label}: no ${what} within ${timeoutMs} ms\n${this.#stderr}`)),
          ),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(check);
        settle();
      };
      this.#waiters.add(check);
      check();
    });
  }

  /** Waits for the `ready` line every peer script prints once started. */
  ready(timeoutMs = 30_000): Promise<Line> {
    return this.waitFor((l) => l.t === 'ready', timeoutMs, 'ready line');
  }

  /** Sends a command (a JSON line on stdin). */
  send(command: object): void {
    if (this.running) this.child.stdin?.write(`${JSON.stringify(command)}\n`);
  }

  /** Sends a signal to this process (by its pid) and waits until it has exited. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await this.exited;
  }

  /** Asks the peer to stop gracefully (`{cmd:'stop'}`), then SIGKILL after `graceMs`. */
  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.send({ cmd: 'stop' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  #wake(): void {
    for (const check of [...this.#waiters]) check();
  }
}

/**
 * Starts `script` (a path relative to the repository root) with Node + tsx from TypeScript
 * sources. `config` reaches the script as JSON in SIDECAR_PEER_CONFIG.
 */
export function spawnPeer(script: string, config: object, options: SpawnOptions = {}): PeerProcess {
  const args = [
    process.execPath,
    '--import',
    'tsx',
    '--conditions=@sidecar/source',
    resolve(REPO_ROOT, script),
  ];
  const [command, ...rest] = [...(options.prefix ?? []), ...args] as [string, ...string[]];
  const child = spawn(command, rest, {
    cwd: REPO_ROOT,
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, ...options.env, SIDECAR_PEER_CONFIG: JSON.stringify(config) },
  });
  return new PeerProcess(child, options.label ?? script);
}

/** The last lines and stderr of every peer started by this test file: printed when a test fails. */
export function describePeers(lastLines = 12): string {
  return started
    .map((p) => {
      const tail = p.lines.slice(-lastLines).map((l) => `    ${JSON.stringify(l).slice(0, 400)}`);
      const state = p.running ? 'running' : `exited ${p.child.exitCode ?? p.child.signalCode}`;
      return [
        `  ${p.label} (pid ${p.pid}, ${state}, ${p.lines.length} lines)`,
        ...tail,
        p.stderr ? `    stderr: ${p.stderr.slice(-1500)}` : '',
      ].join('\n');
    })
    .join('\n');
}

/** SIGKILLs every peer process still running (by pid): the safety net of each test file. */
export async function killAllPeers(): Promise<void> {
  await Promise.all([...live].map((p) => p.kill('SIGKILL')));
}

process.once('exit', () => {
  for (const p of live) if (p.running) p.child.kill('SIGKILL');
});
