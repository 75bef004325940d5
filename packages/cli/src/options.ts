import type { RegistrySpec } from '@sidecar/core';
import { registryKindOf } from '@sidecar/core/plugin-kit';

/** Options every command accepts. */
export interface GlobalOptions {
  /** Registry URL or name; default SIDECAR_REGISTRY, else 'sql'. */
  registry?: string;
  /** Registry namespace; default SIDECAR_NAMESPACE, else 'default'. */
  namespace?: string;
  /** Print stack traces. */
  debug?: boolean;
}

/** The registry spec to use, checked (an unknown scheme is an InvalidConfigError). */
export function registryOf(options: GlobalOptions): RegistrySpec | undefined {
  const spec = options.registry ?? process.env.SIDECAR_REGISTRY;
  if (spec === undefined) return undefined;
  registryKindOf(spec);
  return spec as RegistrySpec;
}

/** The name the CLI uses for itself when it opens streams. */
export function cliPeerName(): string {
  return `sidecar-cli.${process.pid}`;
}

/** Resolves on the first of `signals` (SIGINT or SIGTERM by default), keeping the process alive until then. */
export function untilInterrupted(
  signals: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'],
): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    // Sidecar's own timers never hold the process open; this one does, until a signal.
    const keepAlive = setInterval(() => {}, 1 << 30);
    const done = (signal: NodeJS.Signals) => {
      clearInterval(keepAlive);
      for (const s of signals) process.off(s, done);
      resolve(signal);
    };
    for (const s of signals) process.once(s, done);
  });
}
