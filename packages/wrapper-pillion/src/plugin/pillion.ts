import type { PeerGroup, Sidecar, WrapperPlugin } from '@sidecar/core';
import { type PillionOptions, resolveOptions } from '../options.js';
import { PillionStream } from '../stream/pillion-stream.js';
import { extendGroup, type PillionGroup } from './group.js';
import { PillionHost, type PillionSidecar } from './sidecar-ext.js';

/** The plugin `pillion()` returns: streams become PillionStreams, groups get `provide`, the sidecar `call`/`discover`/`proxy`. */
export type PillionPlugin = WrapperPlugin<PillionStream, PillionGroup, PillionSidecar>;

/**
 * The pillion wrapper plugin: every stream of the sidecar speaks pillion RPC over burro frames,
 * wire-compatible with the original JavaScript pair.
 *
 * @example
 * ```ts
 * const app = createSidecar({ name: 'my-server-app', wrappers: [pillion()] });
 * await app.start();
 * app.to('*').provide('greet', (name, cb) => cb('hi there, ' + name));
 *
 * const client = createSidecar({ name: 'client', wrappers: [pillion()] });
 * await client.start();
 * console.log(await client.to('my-server-app').call('greet', 'bob')); // 'hi there, bob'
 * ```
 */
export function pillion(options: PillionOptions = {}): PillionPlugin {
  const resolved = resolveOptions(options);
  const hosts: PillionHost[] = [];
  const hostOf = (group: PeerGroup<PillionStream>) =>
    hosts.length === 1 ? hosts[0] : hosts.find((host) => host.owns(group));
  return {
    kind: 'wrapper',
    name: 'pillion',
    create: () => (stream, context) => new PillionStream(stream, context, resolved),
    extendGroup(group) {
      const extension: PillionGroup = extendGroup(group, () => hostOf(group)?.publish(group, extension));
      return extension;
    },
    extendSidecar(sidecar: Sidecar<PillionStream>) {
      const host = new PillionHost(sidecar);
      hosts.push(host);
      return host.members();
    },
  };
}

declare module '@sidecar/core' {
  /** `wrappers: ['pillion']` has the same types as `wrappers: [pillion()]`. */
  interface NamedWrappers {
    pillion: PillionPlugin;
  }
}
