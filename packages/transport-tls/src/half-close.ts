import type { TLSSocket } from 'node:tls';

/**
 * Works around a node:tls bug (seen on Node 20): `end()` on a client socket before its TLS
 * handshake has finished, with nothing written, runs the shutdown while OpenSSL is still in its
 * handshake. The client's last handshake flight is then never sent, no close_notify or FIN follows,
 * the server never completes the handshake nor sees the end, and the reply the caller waits for
 * (half-close) never comes: the connection hangs until a timeout. A write made first is held until
 * the handshake ends, which is why `end(data)` works. This makes an early `end()` wait for the
 * handshake too, so a caller may end its side at once and still read the callee's answer.
 */
export function deferEndUntilSecure(socket: TLSSocket): void {
  let secure = false;
  socket.once('secureConnect', () => {
    secure = true;
  });
  const final = socket._final;
  socket._final = function (this: TLSSocket, callback: (error?: Error | null) => void): void {
    if (secure || this.destroyed) {
      final.call(this, callback);
      return;
    }
    // A failed handshake destroys the socket, which settles the pending end with it.
    this.once('secureConnect', () => final.call(this, callback));
  };
}
