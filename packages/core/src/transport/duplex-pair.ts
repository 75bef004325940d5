import { Duplex } from 'node:stream';

/** One end of an in-memory pipe: what is written to it is read from its peer, with backpressure. */
class PairEnd extends Duplex {
  peer!: PairEnd;
  #pendingWrite: (() => void) | undefined;

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.peer.destroyed) callback(new Error('the other end of the pipe is closed'));
    else if (this.peer.push(chunk)) callback();
    else this.peer.#pendingWrite = callback;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.peer.push(null);
    callback();
  }

  override _read(): void {
    const resume = this.#pendingWrite;
    this.#pendingWrite = undefined;
    resume?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    const resume = this.#pendingWrite;
    this.#pendingWrite = undefined;
    resume?.();
    if (!this.peer.destroyed) this.peer.destroy();
    callback(error);
  }
}

/** Two connected in-memory Duplex streams (Node 20 has no `stream.duplexPair`). */
export function duplexPair(): [Duplex, Duplex] {
  const a = new PairEnd();
  const b = new PairEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
