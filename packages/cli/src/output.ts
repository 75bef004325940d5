import { styleText } from 'node:util';
import { isSidecarError } from '@sidecar/core';
import { escapeLines, escapeText } from './escape.js';
import { exitCodeOf } from './exit-codes.js';

type Style = Parameters<typeof styleText>[0];

/** Colour only on a TTY, and never when NO_COLOR is set (https://no-color.org). */
export function useColor(stream: NodeJS.WriteStream = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
}

/** Styles text when colour is on for `stream`. */
export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  return useColor(stream) ? styleText(style, text) : text;
}

/** Renders rows as an aligned text table. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [paint('bold', line(headers)), ...rows.map(line)].join('\n');
}

/** A waiting line on stderr, shown only on a TTY and only after `delayMs`. */
export function spinner(text: string, delayMs = 400): { stop(): void } {
  const err = process.stderr;
  if (!err.isTTY) return { stop() {} };
  const frames = ['|', '/', '-', '\\'];
  let i = 0;
  let shown = false;
  const tick = () => {
    shown = true;
    err.write(`\r${frames[i++ % frames.length]} ${text}`);
  };
  let timer: NodeJS.Timeout | undefined;
  const start = setTimeout(() => {
    tick();
    timer = setInterval(tick, 100);
  }, delayMs);
  return {
    stop() {
      clearTimeout(start);
      clearInterval(timer);
      if (shown) err.write('\r\u001b[2K');
    },
  };
}

const HINTS: Record<string, string> = {
  SIDECAR_ERR_PEER_NOT_FOUND: 'is the peer running, on the same registry and namespace? try: sidecar ls',
  SIDECAR_ERR_REGISTRY_UNAVAILABLE: 'check --registry / SIDECAR_REGISTRY and that the registry server is up',
  SIDECAR_ERR_INVALID_NAME:
    "names are 1-255 characters without '/', whitespace, control characters, '*' or '?'",
  SIDECAR_ERR_INVALID_CONFIG: 'see: sidecar --help',
  SIDECAR_ERR_PEER_UNREACHABLE: 'the peer is registered but does not answer; it may have just crashed',
};

/** Prints an error as one line plus a hint (a stack trace only with --debug) and returns the exit code. */
export function reportError(err: unknown, debug: boolean): number {
  const code = isSidecarError(err) ? err.code : (err as { code?: string } | undefined)?.code;
  // Messages carry remote text (a peer's error, a registry row): escaped, one line.
  const message = escapeText(err instanceof Error ? err.message : String(err));
  const shownCode = code ? ` (${escapeText(String(code))})` : '';
  process.stderr.write(`${paint('red', 'error:', process.stderr)} ${message}${shownCode}\n`);
  const hint = code && Object.hasOwn(HINTS, code) ? HINTS[code] : undefined;
  if (hint) process.stderr.write(`${paint('dim', `hint: ${hint}`, process.stderr)}\n`);
  if (debug && err instanceof Error && err.stack) process.stderr.write(`${escapeLines(err.stack)}\n`);
  return exitCodeOf(code);
}

/** A duration in ms as a short human string (`850ms`, `12s`, `3m4s`, `2h5m`). */
export function duration(ms: number): string {
  if (ms < 0) return '-';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60}s`;
  return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m`;
}
