import type { Duplex } from 'node:stream';
import { FrameBatch } from '../codec/frame.js';

/** What the outbox pauses and resumes while the peer does not read. */
export interface Throttled {
  /** The stream being read now (the socket once taken, else the wrapped stream). */
  reading(): Duplex;
  /** Whether reading may resume (false once the pillion stream is destroyed). */
  alive(): boolean;
}

/**
 * The write side of a pillion stream. Frames queued in one tick go out together, in one buffer
 * (one write, one syscall), at any concurrency: a burst of calls or replies made while handling
 * one chunk of input costs one write. Writes go to the socket itself once the stream has it
 * (`useSocket`), unless earlier writes still wait in the wrapped stream. While more than
 * `maxWriteBuffer` bytes wait to be taken by the peer, reading is paused (so replies cannot pile
 * up without bound), and resumed on 'drain'.
 */
export class Outbox {
  readonly #batch: FrameBatch;
  readonly #input: Duplex;
  readonly #maxWriteBuffer: number;
  readonly #throttle: Throttled;
  #socket: Duplex | undefined;
  #scheduled = false;
  #throttled = false;
  /** The callback of a raw write held back while the outbox is full (see `whenRoom`). */
  #held: (() => void) | undefined;
  readonly #flushNow = () => this.flush();
  readonly #onDrain = () => this.#unthrottle();

  constructor(input: Duplex, maxFrameSize: number, maxWriteBuffer: number, throttle: Throttled) {
    this.#input = input;
    this.#batch = new FrameBatch(maxFrameSize);
    this.#maxWriteBuffer = maxWriteBuffer;
    this.#throttle = throttle;
  }

  /** Writes go straight to `socket` from now on (the connection the wrapped stream sits on). */
  useSocket(socket: Duplex): void {
    this.#socket = socket;
    if (this.#throttled) socket.on('drain', this.#onDrain);
  }

  /** True while reading is paused because the peer does not read. */
  get throttled(): boolean {
    return this.#throttled;
  }

  /** Queues a value as a frame; throws (queuing nothing) if it has no JSON form or is too large. */
  add(value: unknown): void {
    this.#batch.add(value);
    this.#schedule();
  }

  /** Queues a JSON text as a frame; throws FrameTooLargeError (queuing nothing) if it is too large. */
  addJson(json: string): void {
    this.#batch.addJson(json);
    this.#schedule();
  }

  /**
   * Calls `done` at once when fewer than `maxWriteBuffer` bytes wait to be sent, else once the
   * peer has taken enough: the backpressure of the stream's own writable side (raw frames).
   */
  whenRoom(done: () => void): void {
    if (this.#batch.bytes + this.#queued() <= this.#maxWriteBuffer) done();
    else this.#held = done;
  }

  /** Drops every frame not written yet (and a held write callback). */
  clear(): void {
    this.#batch.clear();
    this.#held = undefined;
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    process.nextTick(this.#flushNow);
  }

  /** Writes every queued frame now, in one buffer. */
  flush(): void {
    this.#scheduled = false;
    if (this.#batch.size === 0) return;
    const input = this.#input;
    if (input.destroyed || input.writableEnded) {
      this.#batch.clear();
      return;
    }
    const socket = this.#socket;
    if (socket && input.writableLength === 0 && !socket.destroyed) socket.write(this.#batch.take());
    else input.write(this.#batch.take());
    if (!this.#throttled && this.#queued() > this.#maxWriteBuffer) this.#pause();
    if (!this.#throttled) this.#release();
  }

  #release(): void {
    const held = this.#held;
    this.#held = undefined;
    held?.();
  }

  /** Bytes written and not yet taken by the socket. */
  #queued(): number {
    return this.#input.writableLength + (this.#socket?.writableLength ?? 0);
  }

  #pause(): void {
    this.#throttled = true;
    this.#throttle.reading().pause();
    this.#input.on('drain', this.#onDrain);
    this.#socket?.on('drain', this.#onDrain);
  }

  #unthrottle(): void {
    if (!this.#throttled || this.#queued() > this.#maxWriteBuffer) return;
    this.#throttled = false;
    this.#input.off('drain', this.#onDrain);
    this.#socket?.off('drain', this.#onDrain);
    if (this.#throttle.alive()) this.#throttle.reading().resume();
    this.#release();
  }
}
