/**
 * Types for the pillion 0.0.7 stand-in (and for the original pillion's API): an object-mode
 * Duplex speaking pillion messages; put burro under it for frames.
 */
import { Duplex } from 'node:stream';

declare namespace Pillion {
  /** A function given to or provided for the remote side: its arguments are remote JSON and callbacks. */
  // biome-ignore lint/suspicious/noExplicitAny: remote arguments are untyped, like the original's
  type RemoteFunction = (...args: any[]) => void;
  /** The call message the original sends. */
  interface CallMessage {
    type: 'call';
    id: string;
    method: string;
    params: unknown[];
    functions: number[];
  }
  /** The `error` message, emitted as is as an 'error' event. */
  interface ErrorMessage {
    type: 'error';
    inResponseTo: string | number;
    error: string;
  }
}

declare class Pillion extends Duplex {
  constructor(backend: Duplex);
  constructor(methods: Record<string, Pillion.RemoteFunction> | null, backend?: Duplex);
  provide(name: string, fn: Pillion.RemoteFunction): void;
  callRemote(method: string, ...params: unknown[]): Pillion.CallMessage;
  applyRemote(method: string, params: unknown[]): Pillion.CallMessage;
  bindRemote(method: string, ...params: unknown[]): (...more: unknown[]) => Pillion.CallMessage;
  _removeMethod(name: string): void;
  on(event: 'methodAdded' | 'methodRemoved', listener: (name: string) => void): this;
  on(event: 'error', listener: (error: Pillion.ErrorMessage | Error) => void): this;
  // biome-ignore lint/suspicious/noExplicitAny: the Duplex events' listeners
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

export = Pillion;
