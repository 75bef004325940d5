import { createInterface } from 'node:readline';

/** What a peer script reports about a failure: enough to tell typed sidecar errors from others. */
export interface ErrorInfo {
  name: string;
  code?: string;
  message: string;
  /** True for an error of one of sidecar's classes (it has a `SIDECAR_ERR_*` code). */
  typed: boolean;
}

/** Prints one JSON line on stdout: how every peer script talks to its test. */
export function emit(line: { t: string; [key: string]: unknown }): void {
  process.stdout.write(`${JSON.stringify({ ...line, at: Date.now() })}\n`);
}

/** The script's configuration (JSON in SIDECAR_PEER_CONFIG). */
export function readConfig<T>(): T {
  const raw = process.env.SIDECAR_PEER_CONFIG;
  if (!raw)
    throw new Error('SIDECAR_PEER_CONFIG is not set: peer scripts are started by the reliability tests');
  return JSON.parse(raw) as T;
}

/** Calls `handle` for every JSON command line on stdin; stdin closing counts as `{cmd:'stop'}`. */
export function onCommand(handle: (command: { cmd: string; [key: string]: unknown }) => void): void {
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (text) => {
    try {
      handle(JSON.parse(text) as { cmd: string });
    } catch (err) {
      emit({ t: 'bad-command', text, error: errorInfo(err) });
    }
  });
  lines.on('close', () => handle({ cmd: 'stop' }));
}

/** The name, code and message of a thrown value. */
export function errorInfo(err: unknown): ErrorInfo {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      ...(typeof code === 'string' ? { code } : {}),
      message: err.message.slice(0, 300),
      typed: typeof code === 'string' && code.startsWith('SIDECAR_ERR_'),
    };
  }
  return { name: 'NonError', message: String(err).slice(0, 300), typed: false };
}

/** Reports unexpected crashes as a JSON line before the process dies. */
export function reportCrashes(): void {
  process.on('uncaughtException', (err) => {
    emit({ t: 'crash', error: errorInfo(err), stack: err.stack });
    process.exit(70);
  });
  process.on('unhandledRejection', (err) => {
    emit({ t: 'crash', error: errorInfo(err), stack: (err as Error)?.stack });
    process.exit(70);
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
