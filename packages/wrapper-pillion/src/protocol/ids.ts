/**
 * An id in the original's format: `Date.now() + '_' + 8 random digits`. Call ids use it as is;
 * callback names are `'x_' + generateId()`.
 */
export function generateId(): string {
  return `${Date.now()}_${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
}

/** A fresh id for which `taken` is false (ids are random, so a retry is astronomically rare). */
export function uniqueId(taken: (id: string) => boolean, prefix = ''): string {
  for (;;) {
    const id = prefix + generateId();
    if (!taken(id)) return id;
  }
}
