import { createSecureContext, type SecureContext, type SecureVersion } from 'node:tls';
import { InvalidConfigError } from '@sidecar/core';
import { type Credentials, type LoadedCredentials, loadCredentials } from './credentials.js';
import { DEFAULT_MIN_VERSION, type TlsOptions } from './tls-options.js';

/** What node:tls needs of the credentials, for a server or a client context. */
export interface ContextOptions {
  ca: Buffer[];
  cert: Buffer;
  key: Buffer;
  minVersion: SecureVersion;
}

/**
 * The credentials of one TLS transport, loaded once (again after a failed load) and swapped whole
 * on reload: the PEM material for servers and the client context every dial uses.
 */
export class TlsContexts {
  readonly #options: TlsOptions;
  #loading: Promise<void> | undefined;
  #credentials: LoadedCredentials | undefined;
  #client: SecureContext | undefined;

  /** `options` is the transport's own copy: reload() writes new credentials into it. */
  constructor(options: TlsOptions) {
    this.#options = options;
  }

  /** Loads the credentials the first time (and after a failed attempt); resolves once usable. */
  ready(): Promise<void> {
    this.#loading ??= loadCredentials(this.#options).then((loaded) => {
      this.#client = this.#makeClient(loaded);
      this.#credentials = loaded;
    });
    this.#loading.catch(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  /** The client context of dials (set once ready). */
  get client(): SecureContext | undefined {
    return this.#client;
  }

  /** The server context options of the loaded credentials; InvalidConfigError before ready(). */
  serverOptions(): ContextOptions {
    if (!this.#credentials) throw new InvalidConfigError('the TLS credentials are not loaded yet');
    return this.#contextOptions(this.#credentials);
  }

  /**
   * Loads `credentials` over the current ones and checks them; `apply` gets the new server context
   * options (for the running servers) before anything is swapped. Rejects, keeping the current
   * ones, if the new material is unusable.
   */
  async reload(credentials: Partial<Credentials>, apply: (server: ContextOptions) => void): Promise<void> {
    const loaded = await loadCredentials({ ...this.#options, ...credentials });
    const client = this.#makeClient(loaded);
    apply(this.#contextOptions(loaded));
    Object.assign(this.#options, credentials);
    this.#credentials = loaded;
    this.#client = client;
    this.#loading = Promise.resolve();
  }

  #contextOptions(loaded: LoadedCredentials): ContextOptions {
    return {
      ca: loaded.ca,
      cert: loaded.cert,
      key: loaded.key,
      minVersion: this.#options.minVersion ?? DEFAULT_MIN_VERSION,
    };
  }

  #makeClient(loaded: LoadedCredentials): SecureContext {
    try {
      return createSecureContext(this.#contextOptions(loaded));
    } catch (err) {
      throw new InvalidConfigError(`unusable TLS certificate, key or CA: ${(err as Error).message}`, {
        cause: err,
      });
    }
  }
}
