import type { RpcCallMessage } from '@sidecar/core/diagnostics';
import type { CounterLike, HistogramLike } from './instruments.js';

type Record = (seconds: number) => void;

/**
 * Records finished RPC calls (`rpc.client.call.duration`, `rpc.server.call.duration`,
 * `sidecar.rpc.errors`). The hottest path of the metrics, every call on both sides: a successful
 * call costs one map lookup by method and a few additions, through a histogram series bound once
 * per method (and the last method seen per side is kept at hand, skipping even that lookup).
 */
export class RpcRecorder {
  readonly #client = new Map<string, Record>();
  readonly #server = new Map<string, Record>();
  #lastClient = '';
  #lastClientRecord: Record | undefined;
  #lastServer = '';
  #lastServerRecord: Record | undefined;

  constructor(
    readonly clientDuration: HistogramLike,
    readonly serverDuration: HistogramLike,
    readonly errors: CounterLike,
  ) {}

  /** Records one call (a message of DIAGNOSTICS.rpcCall). */
  readonly record = (m: RpcCallMessage): void => {
    if (m.error !== undefined) {
      this.#failed(m);
      return;
    }
    const method = m.method;
    if (m.side === 'client') {
      if (method !== this.#lastClient || this.#lastClientRecord === undefined) {
        this.#lastClientRecord = this.#bound(this.#client, this.clientDuration, method);
        this.#lastClient = method;
      }
      this.#lastClientRecord(m.duration);
    } else {
      if (method !== this.#lastServer || this.#lastServerRecord === undefined) {
        this.#lastServerRecord = this.#bound(this.#server, this.serverDuration, method);
        this.#lastServer = method;
      }
      this.#lastServerRecord(m.duration);
    }
  };

  #bound(cache: Map<string, Record>, histogram: HistogramLike, method: string): Record {
    let record = cache.get(method);
    if (!record) {
      record = histogram.bind({ 'rpc.system': 'pillion', 'rpc.method': method, 'error.type': '' });
      cache.set(method, record);
    }
    return record;
  }

  #failed(m: RpcCallMessage): void {
    const histogram = m.side === 'client' ? this.clientDuration : this.serverDuration;
    const error = m.error as string;
    histogram.record(m.duration, { 'rpc.system': 'pillion', 'rpc.method': m.method, 'error.type': error });
    this.errors.add(1, { side: m.side, 'rpc.method': m.method, 'error.type': error });
  }
}
