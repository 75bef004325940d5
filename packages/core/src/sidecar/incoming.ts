import type { IncomingConnection } from '../contracts/transport.js';
import { HelloRefusedError, isSidecarError, ProtocolError, TimeoutError } from '../errors.js';
import type { PeerInfo } from '../records.js';
import { encodeHello, type HelloPeer, helloProblem, type RefuseReason, readHello } from '../wire/hello.js';

const REFUSE_LINGER_MS = 1000;
/** Longest refusal message sent back, in characters. */
const MAX_REFUSE_TEXT = 300;

function refuse(connection: IncomingConnection, reason: RefuseReason, message: string): never {
  const { stream } = connection;
  const text = message.length > MAX_REFUSE_TEXT ? `${message.slice(0, MAX_REFUSE_TEXT)}...` : message;
  stream.end(encodeHello({ type: 'refuse', reason, message: text }));
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
    const problem = helloProblem(frame);
    if (problem !== undefined || frame.type !== 'hello') {
      refuse(connection, 'bad-hello', problem ?? 'not a hello');
    }
    const from = frame.from;
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
