import type { Socket } from 'node:net';
import type { Server, TLSSocket } from 'node:tls';
import { ConnectionLimitError, type SidecarError } from '@sidecar/core';
import { sourceAddress, type Waiting, WaitingRoom } from '@sidecar/core/plugin-kit';

interface Handshake extends Waiting {
  readonly socket: Socket;
}

const keyOf = (socket: { remoteAddress?: string | undefined; remotePort?: number | undefined }) =>
  `${socket.remoteAddress ?? 'unknown'}:${socket.remotePort ?? 0}`;

/**
 * Bounds the connections a TLS server holds before their handshake has finished: core's
 * connection limits only see a connection once it is secure, and until then each one holds a
 * descriptor for up to `handshakeTimeout`. When full, the connection waiting longest (from the
 * newcomer's address first) is closed and reported as a ConnectionLimitError through `onError`.
 * Returns `done(socket)`, to call when a handshake has finished or failed.
 */
export function limitHandshakes(
  server: Server,
  limits: { max: number; maxPerAddress: number },
  onError: (error: SidecarError) => void,
): { done: (socket: TLSSocket) => void } {
  const waiting = new Map<string, Handshake>();
  const room = new WaitingRoom<Handshake>(limits, (handshake, limit) => {
    handshake.socket.destroy();
    const max = limit === 'total' ? limits.max : limits.maxPerAddress;
    const what =
      limit === 'total'
        ? 'connections waiting for a TLS handshake'
        : `connections waiting for a TLS handshake from ${handshake.address}`;
    onError(
      new ConnectionLimitError(
        limit === 'total' ? 'pending-handshakes' : 'pending-handshakes-per-address',
        max,
        'evicted',
        `${max} ${what} reached: closed the one from ${handshake.address} that waited longest to make room`,
      ),
    );
  });
  server.on('connection', (socket: Socket) => {
    const key = keyOf(socket);
    const handshake: Handshake = { address: sourceAddress(key), since: Date.now(), socket };
    room.makeRoom(handshake.address);
    room.add(handshake);
    waiting.set(key, handshake);
    socket.once('close', () => {
      room.remove(handshake);
      if (waiting.get(key) === handshake) waiting.delete(key);
    });
  });
  return {
    done(socket) {
      const key = keyOf(socket);
      const handshake = waiting.get(key);
      if (!handshake) return;
      room.remove(handshake);
      waiting.delete(key);
    },
  };
}
