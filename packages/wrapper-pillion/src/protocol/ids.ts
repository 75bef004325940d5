/** The 8-digit part of the last id made; starts at a random point, then counts up (mod 1e8). */
let sequence = Math.floor(Math.random() * 1e8);
/** The millisecond of the last id made, and its text with the `_`. */
let lastMs = 0;
let prefix = '';

/**
 * An id in the original's format: `Date.now() + '_' + 8 digits`. Call ids use it as is;
 * callback names are `'x_' + generateId()`. The digits count up from a random start instead of
 * being drawn anew each time: cheaper, and unique by construction (a repeat needs 1e8 ids and
 * the clock stepping back to the very millisecond of the earlier one), so no lookup is needed
 * to rule out a clash with a pending call or callback.
 */
export function generateId(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    prefix = `${now}_`;
  }
  sequence = sequence >= 99_999_999 ? 0 : sequence + 1;
  return prefix + (sequence >= 10_000_000 ? String(sequence) : String(sequence).padStart(8, '0'));
}
