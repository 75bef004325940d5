import { type RegistrySpec, resolveRegistry } from '@sidecar/core';

/** Options every command accepts. */
export interface GlobalOptions {
  /** Registry URL or name; default SIDECAR_REGISTRY, else 'sql'. */
  registry?: string;
  /** Registry namespace; default SIDECAR_NAMESPACE, else 'default'. */
  namespace?: string;
  /** Print stack traces. */
  debug?: boolean;
}

/**
 * The registry and namespace to use, resolved by core's rules (flag, else SIDECAR_REGISTRY /
 * SIDECAR_NAMESPACE, else the defaults) and checked: an unknown scheme is an InvalidConfigError.
 */
export function registryOf(options: GlobalOptions): { registry: RegistrySpec; namespace: string } {
  const { registry, namespace } = resolveRegistry({
    registry: options.registry as RegistrySpec | undefined,
    namespace: options.namespace,
  });
  return { registry, namespace };
}

/** The arguments of `openRegistry` for these options. */
export function openArgs(options: GlobalOptions): [RegistrySpec, { namespace: string }] {
  const { registry, namespace } = registryOf(options);
  return [registry, { namespace }];
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
