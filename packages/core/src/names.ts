import { InvalidNameError } from './errors.js';

/** Longest allowed peer name, in characters. */
export const MAX_NAME_LENGTH = 255;

// Forbidden anywhere in a name: '/', whitespace, control characters (C0, DEL, C1).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we reject
const FORBIDDEN = /[/\s\u0000-\u001f\u007f-\u009f]/u;
const PATTERN_CHARS = /[*?]/;

function check(input: unknown, allowPattern: boolean): string {
  if (typeof input !== 'string') throw new InvalidNameError(input, 'a name must be a string');
  if (input.length === 0) throw new InvalidNameError(input, 'a name must not be empty');
  // UTF-16 length bounds the character count from above: count code points only when needed.
  if (input.length > MAX_NAME_LENGTH && [...input].length > MAX_NAME_LENGTH) {
    throw new InvalidNameError(input, `longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (!input.isWellFormed()) throw new InvalidNameError(input, 'contains a lone surrogate');
  const bad = FORBIDDEN.exec(input);
  if (bad) {
    throw new InvalidNameError(
      input,
      `contains ${JSON.stringify(bad[0])} ('/', whitespace and control characters are not allowed)`,
    );
  }
  if (!allowPattern && PATTERN_CHARS.test(input)) {
    throw new InvalidNameError(input, "'*' and '?' are pattern characters and cannot be part of a name");
  }
  return input;
}

/**
 * Returns `name` unchanged if it is a valid peer name, else throws InvalidNameError.
 * A name is 1-255 characters with no `/`, whitespace, control character, `*` or `?`.
 *
 * @example
 * ```ts
 * validateName('billing');   // 'billing'
 * validateName('a b');       // throws InvalidNameError
 * ```
 */
export function validateName(name: unknown): string {
  return check(name, false);
}

/** Like validateName, but `*` (any run of characters) and `?` (one character) are allowed. */
export function validatePattern(pattern: unknown): string {
  return check(pattern, true);
}

/** True if the (valid) name or pattern contains `*` or `?`. */
export function isPattern(nameOrPattern: string): boolean {
  return PATTERN_CHARS.test(nameOrPattern);
}

const compiled = new Map<string, RegExp>();

/** Compiles a glob (`*` = any characters, `?` = exactly one character) to an anchored RegExp. */
export function globToRegExp(pattern: string): RegExp {
  let re = compiled.get(pattern);
  if (!re) {
    const body = [...pattern]
      .map((ch) => (ch === '*' ? '.*' : ch === '?' ? '.' : ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&')))
      .join('');
    re = new RegExp(`^${body}$`, 'su');
    if (compiled.size > 1000) compiled.clear();
    compiled.set(pattern, re);
  }
  return re;
}

/**
 * True if `name` matches the glob `pattern` (`*` and `?`; every other character is literal).
 *
 * @example
 * ```ts
 * matchName('worker-?', 'worker-1'); // true
 * matchName('*', 'anything');         // true
 * ```
 */
export function matchName(pattern: string, name: string): boolean {
  if (!isPattern(pattern)) return pattern === name;
  if (pattern === '*') return true;
  return globToRegExp(pattern).test(name);
}
