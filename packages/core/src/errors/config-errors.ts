import { SidecarError } from './sidecar-error.js';

/**
 * A peer name, pattern, namespace or instance id breaks the naming rules (see `validateName`,
 * `validateNamespace`, `validateInstanceId`). `kind` says which of them.
 */
export class InvalidNameError extends SidecarError {
  readonly code = 'SIDECAR_ERR_INVALID_NAME';
  constructor(
    readonly input: unknown,
    reason: string,
    readonly kind: 'peer name' | 'namespace' | 'instance id' = 'peer name',
  ) {
    super(`invalid ${kind} ${shown(input)}: ${reason}`);
  }
}

const SHOWN_MAX = 100;
const INVISIBLE = /[\p{Default_Ignorable_Code_Point}\p{Bidi_Control}]/gu;

/** `input` quoted for a message: escapes control and invisible characters, cut to 100 characters. */
function shown(input: unknown): string {
  const text =
    typeof input === 'string' && input.length > SHOWN_MAX ? `${input.slice(0, SHOWN_MAX)}...` : input;
  const json = JSON.stringify(text) ?? String(text);
  return json.replace(INVISIBLE, (ch) => `\\u${(ch.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`);
}

/** The configuration passed to createSidecar (or an environment variable) cannot be used. */
export class InvalidConfigError extends SidecarError {
  readonly code = 'SIDECAR_ERR_INVALID_CONFIG';
}

/** The plugin packages the zero-config defaults load (SQLite registry, TCP transport). */
const DEFAULT_PLUGIN_PACKAGES = ['@sidecar/registry-sql', '@sidecar/transport-tcp'];

/** A built-in plugin was asked for by name but its package is not installed. */
export class PluginNotInstalledError extends SidecarError {
  readonly code = 'SIDECAR_ERR_PLUGIN_NOT_INSTALLED';
  constructor(
    readonly packageName: string,
    cause?: unknown,
  ) {
    const line = (cmd: string) => `${cmd} ${packageName}`;
    const defaults = DEFAULT_PLUGIN_PACKAGES.includes(packageName)
      ? `; the defaults need ${DEFAULT_PLUGIN_PACKAGES.join(' and ')}: npm i sidecar installs them all`
      : '';
    super(
      `the plugin package ${packageName} is not installed; install it with: ${line('npm i')} (or: ${line('pnpm add')}, ${line('yarn add')})${defaults}`,
      { cause },
    );
  }
}

/** The sidecar is not started (call `start()` first) or is stopping. */
export class NotStartedError extends SidecarError {
  readonly code = 'SIDECAR_ERR_NOT_STARTED';
}
