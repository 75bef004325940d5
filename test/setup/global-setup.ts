import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Vitest global setup. Every test talks to 127.0.0.1 only (SIDECAR_HOST). Each module in
 * ./services/ starts one real server the tests need (redis-server, postgres, ...), publishes
 * how to reach it in a SIDECAR_TEST_* environment variable, and returns its stop function.
 * A missing server binary fails the run with a message saying what to install.
 */
type StartService = () => Promise<() => Promise<void>>;

export default async function setup(): Promise<() => Promise<void>> {
  process.env.SIDECAR_HOST = '127.0.0.1';
  const dir = join(dirname(fileURLToPath(import.meta.url)), 'services');
  const files = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.ts')).sort();
  const stops: Array<() => Promise<void>> = [];
  try {
    const started = await Promise.all(
      files.map(async (file) => {
        const mod = (await import(join(dir, file))) as { default: StartService };
        return mod.default();
      }),
    );
    stops.push(...started);
  } catch (err) {
    await Promise.all(stops.map((stop) => stop()));
    throw err;
  }
  return async () => {
    await Promise.all(stops.map((stop) => stop().catch(() => {})));
  };
}
