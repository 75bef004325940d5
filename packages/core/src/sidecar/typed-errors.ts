import type { Duplex } from 'node:stream';
import { ConnectionClosedError, isSidecarError } from '../errors.js';

const patched = new WeakSet<Duplex>();

/**
 * Makes every 'error' a connected socket emits a SidecarError: a raw ECONNRESET or EPIPE becomes a
 * ConnectionClosedError naming the peer, with the original as `cause`. The socket object itself
 * stays the stream users get (nothing is copied per chunk); only its error events are rewritten.
 */
export function typeSocketErrors(socket: Duplex, peerName: string): void {
  if (patched.has(socket)) return;
  patched.add(socket);
  const emit = socket.emit;
  socket.emit = function (this: Duplex, event: string | symbol, ...args: unknown[]): boolean {
    if (event === 'error' && !isSidecarError(args[0])) {
      const cause = args[0];
      const detail = cause instanceof Error ? cause.message : String(cause);
      args[0] = new ConnectionClosedError(`the connection with "${peerName}" failed: ${detail}`, { cause });
    }
    return emit.call(this, event, ...args);
  } as Duplex['emit'];
}
