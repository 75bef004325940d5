import { defineConfig } from 'vitest/config';

/**
 * The reliability and load suite (`pnpm test:reliability`): simulated hosts in network
 * namespaces, faults, load and churn. Same settings as the root config, one file at a time (the
 * scenarios share the 2 cores and the lab subnet), and a report written at the end.
 */
export default defineConfig({
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  ssr: { resolve: { conditions: ['@sidecar/source'] } },
  test: {
    root: new URL('../..', import.meta.url).pathname,
    include: ['test/reliability/**/*.test.ts'],
    globalSetup: ['test/setup/global-setup.ts', 'test/reliability/report-setup.ts'],
    env: { SIDECAR_HOST: '127.0.0.1' },
    testTimeout: 180_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
