/**
 * A third-party registry plugin in about 100 lines: one JSON file per instance in a directory,
 * changes announced by appending to a log file that watchers poll. It exists to show what a
 * plugin author writes: extend BaseRegistry, implement its storage hooks, export one factory.
 */
import { appendFile, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONFIG, type InstanceRecord, type RegistryPlugin, resolve } from '@sidecar/core';
import {
  BaseRegistry,
  type BaseRegistryOptions,
  decodeStored,
  type RawRegistryChange,
} from '@sidecar/core/plugin-kit';

/** Options of the directory registry. */
export interface DirectoryRegistryOptions extends BaseRegistryOptions {
  /** Directory holding the records (created if missing). */
  dir: string;
  /** How often watchers read the change log, in ms. @default 100 */
  pollInterval?: number;
}

export class DirectoryRegistry extends BaseRegistry {
  readonly reach = 'machine' as const;
  readonly #dir: string;
  readonly #log: string;
  readonly #pollInterval: number;
  #timer: NodeJS.Timeout | undefined;
  #offset = 0;

  constructor(options: DirectoryRegistryOptions) {
    super(options);
    this.#dir = join(options.dir, encodeURIComponent(this.namespace));
    this.#log = join(this.#dir, 'changes.log');
    this.#pollInterval = options.pollInterval ?? 100;
  }

  #file(instanceId: string): string {
    return join(this.#dir, `${instanceId}.json`);
  }

  async #announce(change: RawRegistryChange): Promise<void> {
    await appendFile(this.#log, `${JSON.stringify(change)}\n`);
  }

  protected async connect(): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    await appendFile(this.#log, '');
  }

  protected async disconnect(): Promise<void> {}

  // The store's clock is this machine's: lifetimes arrive relative (ttlMs) and become times here.
  protected async put(input: InstanceRecord, ttlMs: number): Promise<number> {
    const record = { ...input, expiresAt: Date.now() + ttlMs };
    const existed = await stat(this.#file(record.instanceId)).then(
      () => true,
      () => false,
    );
    const tmp = `${this.#file(record.instanceId)}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(record));
    await rename(tmp, this.#file(record.instanceId));
    await this.#announce({ type: existed ? 'update' : 'join', record });
    return record.expiresAt;
  }

  protected async touch(instanceId: string, ttlMs: number): Promise<boolean> {
    const text = await readFile(this.#file(instanceId), 'utf8').catch(() => undefined);
    if (text === undefined) return false;
    const expiresAt = Date.now() + ttlMs;
    const record = decodeStored(text); // core's one decoder of stored values
    if (typeof record !== 'object' || record === null) return false;
    await writeFile(this.#file(instanceId), JSON.stringify({ ...record, expiresAt }));
    return true;
  }

  protected async remove(instanceId: string): Promise<void> {
    const text = await readFile(this.#file(instanceId), 'utf8').catch(() => undefined);
    if (text === undefined) return;
    await rm(this.#file(instanceId), { force: true });
    await this.#announce({ type: 'leave', record: text }); // BaseRegistry decodes the text
  }

  protected async fetchByName(name: string, signal?: AbortSignal): Promise<unknown[]> {
    return (await this.fetchAll('*', signal)).filter((r) => (r as { name?: unknown } | null)?.name === name);
  }

  /** Live records only (expired ones wait for a sweep). */
  protected async fetchAll(_pattern: string, signal?: AbortSignal): Promise<unknown[]> {
    const now = Date.now();
    return (await this.#readAll(signal)).filter(
      (r) => !(((r as InstanceRecord | null)?.expiresAt ?? now + 1) <= now),
    );
  }

  /** Every stored value, decoded; the caller's signal reaches each read (the hooks get one). */
  async #readAll(signal?: AbortSignal): Promise<unknown[]> {
    const files = (await readdir(this.#dir)).filter((f) => f.endsWith('.json'));
    const values = await Promise.all(
      files.map((f) =>
        readFile(join(this.#dir, f), { encoding: 'utf8', signal }).catch((err: unknown) => {
          if (signal?.aborted) throw err;
          return 'null'; // removed meanwhile
        }),
      ),
    );
    return values.map(decodeStored); // not JSON: left as text, which BaseRegistry skips with a warning
  }

  protected async sweep(): Promise<void> {
    const now = Date.now();
    for (const value of await this.#readAll()) {
      const record = value as InstanceRecord;
      if (typeof record?.expiresAt !== 'number' || record.expiresAt > now) continue;
      // rename is atomic: of several sweepers exactly one wins the file, and only it announces.
      const claimed = `${this.#file(record.instanceId)}.${process.pid}.swept`;
      if (
        await rename(this.#file(record.instanceId), claimed).then(
          () => true,
          () => false,
        )
      ) {
        await rm(claimed, { force: true });
        await this.#announce({ type: 'timeout', record });
      }
    }
  }

  protected async subscribe(deliver: (change: unknown) => void): Promise<void> {
    this.#offset = (await stat(this.#log)).size;
    this.#timer = setInterval(async () => {
      const text = await readFile(this.#log).catch(() => Buffer.alloc(0));
      const fresh = text.subarray(this.#offset).toString('utf8');
      const end = fresh.lastIndexOf('\n') + 1;
      this.#offset += Buffer.byteLength(fresh.slice(0, end));
      for (const line of fresh.slice(0, end).split('\n').filter(Boolean)) deliver(line); // JSON text
    }, this.#pollInterval);
    this.#timer.unref();
  }

  protected async unsubscribe(): Promise<void> {
    clearInterval(this.#timer);
  }
}

/** The plugin: `createSidecar({ name, registry: directoryRegistry({ dir }) })`. */
export function directoryRegistry(options: DirectoryRegistryOptions): RegistryPlugin {
  return {
    kind: 'registry',
    name: 'directory',
    // A factory: it resolves what it needs (here the namespace) from the sidecar's container.
    create: (container) =>
      new DirectoryRegistry({ namespace: resolve(container, CONFIG).namespace, ...options }),
  };
}
