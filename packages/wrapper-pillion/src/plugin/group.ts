import type { PeerGroup } from '@sidecar/core';
import type { RemoteFunction } from '../protocol/pending.js';
import { PillionStream } from '../stream/pillion-stream.js';

/** What pillion adds to every group (`app.to('*')`, `app.to('worker-?')`). */
export interface PillionGroup {
  /**
   * Provides method `name` on every stream of the group, open now or opened later (incoming and
   * outgoing), and publishes it in this peer's registry record for `discover()`.
   *
   * @example
   * ```ts
   * app.to('*').provide('greet', (name, cb) => cb('hi there, ' + name));
   * ```
   */
  provide(name: string, fn: RemoteFunction): void;
  /** Stops providing `name` on every stream of the group; false if the group did not provide it. */
  unprovide(name: string): boolean;
  /** The methods this group provides. */
  readonly providedMethods: ReadonlySet<string>;
}

/**
 * The group extension: keeps the group's methods and applies them to its streams through
 * `group.forEach`. `changed` runs after every change (the sidecar republishes its methods).
 */
export function extendGroup(group: PeerGroup<PillionStream>, changed: () => void): PillionGroup {
  const methods = new Map<string, RemoteFunction>();
  let subscribed = false;
  const streams = () => [...group.streams.keys()].filter((s) => s instanceof PillionStream && !s.destroyed);
  return {
    provide(name, fn) {
      methods.set(name, fn);
      if (!subscribed) {
        subscribed = true;
        group.forEach((stream) => {
          if (!(stream instanceof PillionStream) || stream.destroyed) return;
          for (const [method, impl] of methods) stream.provide(method, impl);
        });
      } else {
        for (const stream of streams()) stream.provide(name, fn);
      }
      changed();
    },
    unprovide(name) {
      if (!methods.delete(name)) return false;
      for (const stream of streams()) stream.unprovide(name);
      changed();
      return true;
    },
    get providedMethods() {
      return new Set(methods.keys());
    },
  };
}
