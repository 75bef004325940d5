import type { Duplex } from 'node:stream';
import { ConnectionClosedError, isSidecarError } from '../errors.js';

const patched = new WeakSet<Duplex>();

/**
 * Makes the errors a connected socket fails with SidecarErrors: a raw ECONNRESET or EPIPE becomes
 * a ConnectionClosedError naming the peer, with the original as `cause`. Node streams fail through
 * `destroy(err)`, so only that (rare) call is intercepted: the data path is untouched and the
 * socket itself stays the stream users get.
 */
export function typeSocketErrors(socket: Duplex, peerName: string): void {
  if (patched.has(socket)) return;
  patched.add(socket);
  const destroy = socket.destroy;
  socket.destroy = function (this: Duplex, error?: Error, ...rest: unknown[]) {
    const typed =
      error === undefined || error === null || isSidecarError(error)
        ? error
        : new ConnectionClosedError(`the connection with "${peerName}" failed: ${error.message}`, {
            cause: error,
          });
    return (destroy as (this: Duplex, ...args: unknown[]) => Duplex).call(this, typed, ...rest);
  } as Duplex['destroy'];
}
