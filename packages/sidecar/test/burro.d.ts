/** The part of burro 0.4.13 (no types of its own) the tests use. */
declare module 'burro' {
  import type { Duplex } from 'node:stream';
  /** Frames and JSON-encodes objects over `metal`: an object-mode Duplex. */
  export function wrap(metal: Duplex): Duplex;
}
