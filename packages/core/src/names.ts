import { InvalidNameError } from './errors.js';

/** Longest allowed peer name (and namespace), in characters. */
export const MAX_NAME_LENGTH = 255;
/** Longest allowed instance id, in characters. */
export const MAX_INSTANCE_ID_LENGTH = 64;

// Forbidden anywhere in a name: '/', whitespace, control characters (C0, DEL, C1).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what we reject
const FORBIDDEN = /[/\s\u0000-\u001f\u007f-\u009f]/u;
// Characters that draw nothing or reorder what is drawn: two names differing only by them read
// the same (zero-width space and joiners, soft hyphen, BOM, bidi overrides and isolates, ...).
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/u;
// Scripts whose letters copy each other (Latin 'a'/'p'/'o' against Cyrillic 'а'/'р'/'о' and Greek 'ο').
const CONFUSABLE_SCRIPTS = [
  ['Latin', /\p{Script=Latin}/u],
  ['Greek', /\p{Script=Greek}/u],
  ['Cyrillic', /\p{Script=Cyrillic}/u],
] as const;
const PATTERN_CHARS = /[*?]/;
// Printable ASCII but space and '/', 1-255 of them: nothing invisible, forbidden, unnormalized or
// of two scripts can hide in it, so such names (nearly all) skip the Unicode checks.
const PLAIN_ASCII = /^[!-.0-~]{1,255}$/;
const INSTANCE_ID = /^[A-Za-z0-9_-]+$/;

/** What a rule is applied to: it names the thing in the error message. */
type Kind = 'peer name' | 'namespace';

function check(input: unknown, allowPattern: boolean, kind: Kind): string {
  const fail = (reason: string): never => {
    throw new InvalidNameError(input, reason, kind);
  };
  if (typeof input !== 'string') fail(`a ${kind} must be a string`);
  const text = input as string;
  if (PLAIN_ASCII.test(text)) {
    if (!allowPattern && PATTERN_CHARS.test(text)) {
      fail(`'*' and '?' are pattern characters and cannot be part of a ${kind}`);
    }
    return text;
  }
  if (text.length === 0) fail(`a ${kind} must not be empty`);
  // UTF-16 length bounds the character count from above: count code points only when needed.
  if (text.length > MAX_NAME_LENGTH && [...text].length > MAX_NAME_LENGTH) {
    fail(`longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (!text.isWellFormed()) fail('contains a lone surrogate');
  const invisible = INVISIBLE.exec(text);
  if (invisible) {
    fail(
      `contains the invisible character U+${codePoint(invisible[0])} (zero-width, bidi and other default-ignorable characters make look-alike names)`,
    );
  }
  const bad = FORBIDDEN.exec(text);
  if (bad) {
    fail(`contains ${JSON.stringify(bad[0])} ('/', whitespace and control characters are not allowed)`);
  }
  if (text.normalize('NFC') !== text) {
    fail('is not in Unicode normalization form NFC (normalize it with .normalize("NFC"))');
  }
  const scripts = CONFUSABLE_SCRIPTS.filter(([, re]) => re.test(text)).map(([script]) => script);
  if (scripts.length > 1) {
    fail(`mixes ${scripts.join(' and ')} letters (they look alike: use one of these scripts)`);
  }
  if (!allowPattern && PATTERN_CHARS.test(text)) {
    fail(`'*' and '?' are pattern characters and cannot be part of a ${kind}`);
  }
  return text;
}

function codePoint(ch: string): string {
  return (ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0');
}

/**
 * Returns `name` unchanged if it is a valid peer name, else throws InvalidNameError.
 * A name is 1-255 characters in Unicode NFC with no `/`, whitespace, control character, `*` or
 * `?`, no invisible character (zero-width, bidi control or other default-ignorable code point),
 * and letters of at most one of the look-alike scripts Latin, Greek and Cyrillic.
 *
 * @example
 * ```ts
 * validateName('billing');        // 'billing'
 * validateName('a b');            // throws InvalidNameError
 * validateName('bill\u200bing');  // throws InvalidNameError (zero-width space)
 * ```
 */
export function validateName(name: unknown): string {
  return check(name, false, 'peer name');
}

/** Like validateName, but `*` (any run of characters) and `?` (one character) are allowed. */
export function validatePattern(pattern: unknown): string {
  return check(pattern, true, 'peer name');
}

/**
 * Returns `namespace` unchanged if it is a valid registry namespace, else throws InvalidNameError.
 * Namespaces follow exactly the rules of peer names (see validateName): not empty, no NUL,
 * control, escape or invisible characters, at most 255 characters.
 *
 * @example
 * ```ts
 * validateNamespace('prod');    // 'prod'
 * validateNamespace('');        // throws InvalidNameError
 * ```
 */
export function validateNamespace(namespace: unknown): string {
  return check(namespace, false, 'namespace');
}

/**
 * Returns `id` unchanged if it is a valid instance id (1-64 characters of `A-Z a-z 0-9 _ -`, as
 * the base64url ids sidecar makes), else throws InvalidNameError.
 */
export function validateInstanceId(id: unknown): string {
  if (typeof id !== 'string' || id.length > MAX_INSTANCE_ID_LENGTH || !INSTANCE_ID.test(id)) {
    const shown = typeof id === 'string' && id.length > 80 ? `${id.slice(0, 80)}...` : id;
    throw new InvalidNameError(
      shown,
      `an instance id is 1-${MAX_INSTANCE_ID_LENGTH} characters of A-Z, a-z, 0-9, '_' and '-'`,
      'instance id',
    );
  }
  return id;
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
