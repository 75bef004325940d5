import type { IncomingConnection } from '../contracts/transport.js';
import { HelloRefusedError, isSidecarError, ProtocolError, TimeoutError } from '../errors.js';
import { validateName } from '../names.js';
import type { PeerInfo } from '../records.js';
import { encodeHello, type HelloPeer, type RefuseReason, readHello } from '../wire/hello.js';

const REFUSE_LINGER_MS = 1000;

function refuse(connection: IncomingConnection, reason: RefuseReason, message: string): never {
  const { stream } = connection;
  stream.end(encodeHello({ type: 'refuse', reason, message }));
  setTimeout(() => stream.destroy(), REFUSE_LINGER_MS).unref();
  throw new HelloRefusedError(
    reason,
    `refused a connection from ${connection.remoteAddress ?? 'unknown'}: ${message}`,
  );
}

/**
 * Runs the callee's half of the hello on an accepted connection: reads the caller's hello within
 * `timeout`, checks it names this instance (and matches what the transport verified), and answers
 * `welcome` or `refuse`. Resolves with the caller; rejects (connection closed) on anything else.
 */
export async function acceptHello(
  connection: IncomingConnection,
  self: HelloPeer,
  timeout: number,
): Promise<PeerInfo> {
  const { stream } = connection;
  // A plain timer (not an AbortSignal): cheaper on the accept path of every connection.
  const timer = setTimeout(
    () =>
      stream.destroy(
        new TimeoutError(`no hello from ${connection.remoteAddress ?? 'a caller'} within ${timeout} ms`),
      ),
    timeout,
  );
  timer.unref();
  try {
    const frame = await readHello(stream);
    if (frame.type !== 'hello')
      refuse(connection, 'bad-hello', `expected a hello, got a ${String(frame.type)}`);
    const from = frame.from;
    try {
      validateName(from?.name);
      validateName(frame.to?.name);
    } catch (err) {
      refuse(connection, 'bad-hello', (err as Error).message);
    }
    if (typeof from.instanceId !== 'string' || typeof from.namespace !== 'string') {
      refuse(connection, 'bad-hello', 'the hello lacks an instanceId or namespace');
    }
    if (from.namespace !== self.namespace) {
      refuse(connection, 'wrong-namespace', `this is namespace "${self.namespace}", not "${from.namespace}"`);
    }
    const to = frame.to;
    if (to.name !== self.name || (to.instanceId !== undefined && to.instanceId !== self.instanceId)) {
      refuse(
        connection,
        'wrong-peer',
        `this is "${self.name}" (${self.instanceId}), not "${to.name}" (${to.instanceId ?? 'any'})`,
      );
    }
    const identity = connection.identity;
    if (identity && (identity.name !== from.name || identity.namespace !== from.namespace)) {
      refuse(
        connection,
        'identity-mismatch',
        `the caller's certificate names "${identity.name}" but its hello claims "${from.name}"`,
      );
    }
    stream.write(encodeHello({ type: 'welcome', from: self }));
    return { name: from.name, instanceId: from.instanceId, namespace: from.namespace };
  } catch (err) {
    if (!stream.writableEnded) stream.destroy();
    if (isSidecarError(err)) throw err;
    throw err instanceof Error ? err : new ProtocolError(String(err));
  } finally {
    clearTimeout(timer);
  }
}
