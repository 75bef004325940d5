import { ProtocolError } from '../errors.js';
import type { InstanceRecord } from '../records.js';
import type { Connection } from './connector.js';
import { activate } from './handshake.js';

/** How long a standby connection may wait unused before it is closed, in ms. */
export const STANDBY_IDLE_MS = 30_000;
/** At most this many instances have standby connections at once; the least recently used go first. */
export const MAX_STANDBY_INSTANCES = 64;

/** False once the socket is closed or half-closed by the callee (never hand those out). */
function usable(socket: Connection['socket']): boolean {
  return !socket.destroyed && !socket.readableEnded && socket.writable;
}

/** True while the record still lists the endpoint the connection was dialled at. */
function listed(record: InstanceRecord, connection: Connection): boolean {
  const at = connection.endpoint;
  return (
    at === undefined ||
    record.endpoints.some((e) => e.transport === at.transport && e.host === at.host && e.port === at.port)
  );
}

interface Spare {
  connection: Connection;
  timer: NodeJS.Timeout;
  /** Stops watching the socket (it is handed out or dropped). */
  forget: () => void;
}

/**
 * Watches an idle standby socket: it is read (the callee sends nothing before ACTIVATE), so a
 * callee that dies or closes it is seen at once (its FIN or RST) and the socket is destroyed, not
 * handed out dead; a byte from the callee is a protocol error. Returns the function that stops
 * watching and leaves the socket as a fresh one (not flowing), for its stream.
 */
function watchIdle(socket: Connection['socket']): () => void {
  const onReadable = () => {
    if (socket.read(1) !== null)
      socket.destroy(new ProtocolError('the callee sent data on an unused standby connection'));
  };
  const onEnd = () => socket.destroy();
  socket.on('readable', onReadable);
  socket.once('end', onEnd);
  return () => {
    socket.off('readable', onReadable);
    socket.off('end', onEnd);
  };
}

/**
 * Connections opened ahead of need to instances this peer has talked to: each has done its dial
 * and handshake, and waits (the callee emits no `stream` for it) until `take` turns it into a
 * stream with one byte. A stream to a peer already talked to then costs no round trip. Refilled
 * in the background after each use; closed after STANDBY_IDLE_MS unused.
 */
export class StandbyPool {
  readonly #size: number;
  readonly #open: (record: InstanceRecord) => Promise<Connection>;
  /** Spares by instance id, the instance used last at the end. */
  readonly #spares = new Map<string, Spare[]>();
  readonly #filling = new Map<string, number>();
  #closed = false;

  /** `size` spares per instance (0: none); `open` dials one standby connection to an instance. */
  constructor(size: number, open: (record: InstanceRecord) => Promise<Connection>) {
    this.#size = size;
    this.#open = open;
  }

  /**
   * A spare to `record`'s instance, activated: a stream now. Undefined when none is ready. A spare
   * dialled at an endpoint the record no longer lists (the peer moved: DHCP) is closed, not used.
   */
  take(record: InstanceRecord): Connection | undefined {
    const spares = this.#spares.get(record.instanceId);
    let spare = spares?.shift();
    while (spare && (!usable(spare.connection.socket) || !listed(record, spare.connection))) {
      this.#drop(spare);
      spare = spares?.shift();
    }
    if (spares?.length === 0) this.#spares.delete(record.instanceId);
    if (!spare) return undefined;
    clearTimeout(spare.timer);
    spare.forget();
    activate(spare.connection.socket);
    this.refill(record);
    return spare.connection;
  }

  /** Opens spares to `record`'s instance in the background, up to the pool's size. */
  refill(record: InstanceRecord): void {
    const id = record.instanceId;
    const have = (this.#spares.get(id)?.length ?? 0) + (this.#filling.get(id) ?? 0);
    if (this.#closed || have >= this.#size) return;
    this.#filling.set(id, (this.#filling.get(id) ?? 0) + 1);
    this.#open(record)
      .then(
        (connection) => this.#keep(id, connection),
        () => {}, // a spare is an optimisation: a failed one is simply not there
      )
      .finally(() => {
        const left = (this.#filling.get(id) ?? 1) - 1;
        if (left > 0) this.#filling.set(id, left);
        else this.#filling.delete(id);
      });
  }

  /** Closes every spare; refills stop. */
  close(): void {
    this.#closed = true;
    for (const spares of this.#spares.values()) for (const spare of spares) this.#drop(spare);
    this.#spares.clear();
  }

  /** Reopens the pool after close() (a sidecar started again). */
  reopen(): void {
    this.#closed = false;
  }

  #keep(id: string, connection: Connection): void {
    const socket = connection.socket;
    if (this.#closed || socket.destroyed) {
      socket.destroy();
      return;
    }
    const spares = this.#spares.get(id) ?? [];
    this.#spares.delete(id); // re-inserted last: the most recently used instance
    this.#spares.set(id, spares);
    const onClose = () => {
      const list = this.#spares.get(id);
      const i = list?.indexOf(spare) ?? -1;
      if (list && i >= 0) list.splice(i, 1);
      if (list?.length === 0) this.#spares.delete(id);
      clearTimeout(spare.timer);
    };
    const unwatch = watchIdle(socket);
    const spare: Spare = {
      connection,
      timer: setTimeout(() => socket.destroy(), STANDBY_IDLE_MS).unref(),
      forget: () => {
        unwatch();
        socket.off('close', onClose);
      },
    };
    socket.once('close', onClose);
    spares.push(spare);
    while (this.#spares.size > MAX_STANDBY_INSTANCES) {
      const [oldest, list] = this.#spares.entries().next().value as [string, Spare[]];
      this.#spares.delete(oldest);
      for (const s of list) this.#drop(s);
    }
  }

  #drop(spare: Spare): void {
    clearTimeout(spare.timer);
    spare.forget();
    spare.connection.socket.destroy();
  }
}
