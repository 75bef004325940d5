import { type RegistrySpec, registryKindOf } from '@sidecar/core';

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

/** Resolves on the first SIGINT or SIGTERM. */
export function untilInterrupted(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const done = (signal: NodeJS.Signals) => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve(signal);
    };
    process.once('SIGINT', done);
    process.once('SIGTERM', done);
  });
}
