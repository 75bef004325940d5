import { ProtocolError, type SidecarError } from '@sidecar/core';
import { preview } from './messages.js';

/** What RemoteMethods reports to its session. */
export interface RemoteMethodsHost {
  /** The name of the remote peer, for warnings. */
  peerName(): string;
  /** The remote announced (`add`) or withdrew (`remove`) a method. */
  onChange?(change: 'add' | 'remove', name: string): void;
  /** An announcement was ignored (malformed, or over the limits: reported once). */
  onWarning?(error: SidecarError): void;
}

/**
 * The methods the remote side announced (`methodAdded`, or 0.0.3's `addMethod`) and did not
 * withdraw, bounded in number and in bytes of names: a peer cannot make this side remember an
 * unbounded list. Announcements over the limits are ignored (the methods stay callable).
 */
export class RemoteMethods {
  readonly names = new Set<string>();
  #bytes = 0;
  #limitReported = false;

  constructor(
    readonly max: number,
    readonly maxBytes: number,
    readonly host: RemoteMethodsHost,
  ) {}

  /** Handles one announcement (`added`: methodAdded/addMethod, else methodRemoved/removeMethod). */
  receive(message: Record<string, unknown>, added: boolean): void {
    const { type, name } = message;
    if (typeof name !== 'string' || name === '') {
      this.host.onWarning?.(
        new ProtocolError(`ignored a ${preview(type)} message without a non-empty string name`),
      );
      return;
    }
    if (!added) {
      if (this.names.delete(name)) {
        this.#bytes -= Buffer.byteLength(name);
        this.host.onChange?.('remove', name);
      }
      return;
    }
    if (this.names.has(name)) return;
    const bytes = Buffer.byteLength(name);
    if (this.names.size >= this.max || this.#bytes + bytes > this.maxBytes) {
      if (!this.#limitReported) {
        this.#limitReported = true;
        this.host.onWarning?.(
          new ProtocolError(
            `"${this.host.peerName()}" announced more methods than remembered (${this.max} names, ${this.maxBytes} bytes of names): further announcements are ignored; the methods stay callable`,
          ),
        );
      }
      return;
    }
    this.names.add(name);
    this.#bytes += bytes;
    this.host.onChange?.('add', name);
  }
}
