/**
 * Text from the far side (a refusal, a frame type) made safe for a one-line message: control,
 * invisible and bidi characters (newlines, terminal escapes, right-to-left overrides) become
 * spaces, and it is cut to `max` characters with an ellipsis.
 *
 * @example
 * ```ts
 * printable('no\u001b[2J', 40); // 'no [2J'
 * ```
 */
export function printable(value: unknown, max: number): string {
  const text = typeof value === 'string' ? value : String(value);
  const chars = [...text.slice(0, max * 2)];
  const cut = chars.length > max || text.length > max * 2;
  const clean = chars.slice(0, max).join('').replace(UNPRINTABLE, ' ');
  return cut ? `${clean}...` : clean;
}

const UNPRINTABLE =
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  /[\u0000-\u001f\u007f-\u009f\u2028\u2029\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/gu;
