/**
 * Makes text from peers and registries safe to print on an operator's terminal.
 *
 * Names, method names, hosts, metadata and remote error text come from other processes (or from
 * whoever can write to the registry): printed raw, an escape sequence in them could move the
 * cursor, rewrite earlier lines, set the window title or reorder text (bidi controls). Every such
 * character is shown as a visible `\xHH` / `\uHHHH` escape instead.
 */

/**
 * C0 controls, DEL, C1 controls (0x80-0x9F: 0x9B is a one-byte CSI), the Unicode line and paragraph
 * separators, and the bidirectional controls (LRM, RLM, ALM, LRE..RLO, LRI..PDI).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** Unsafe characters of a JSON text (C0 controls are already escaped by JSON.stringify). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

function hex(ch: string, width: number): string {
  return (ch.codePointAt(0) ?? 0).toString(16).padStart(width, '0');
}

/** `text` with every control, C1 and bidi character shown as `\xHH` or `\uHHHH`; a one-line string. */
export function escapeText(text: string): string {
  return text.replace(UNSAFE, (ch) => {
    const code = ch.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${hex(ch, 2)}` : `\\u${hex(ch, 4)}`;
  });
}

/** Same as escapeText but keeps newlines and tabs (multi-line output such as a stack trace). */
export function escapeLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.split('\t').map(escapeText).join('\t'))
    .join('\n');
}

/**
 * JSON.stringify whose output is also terminal-safe: C1, DEL and bidi characters become `\uHHHH`
 * escapes, which every JSON parser reads back as the same string.
 */
export function safeJson(value: unknown, space?: number): string {
  const json = JSON.stringify(value, null, space) ?? 'null';
  return json.replace(UNSAFE_IN_JSON, (ch) => `\\u${hex(ch, 4)}`);
}
