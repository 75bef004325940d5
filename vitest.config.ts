import { defineConfig } from 'vitest/config';

export default defineConfig({
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  ssr: { resolve: { conditions: ['@sidecar/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    // The reliability and doc-test suites have their own configs (pnpm test:reliability, test:docs).
    exclude: ['**/node_modules/**', 'test/reliability/**', 'test/docs/**'],
    globalSetup: ['test/setup/global-setup.ts'],
    env: { SIDECAR_HOST: '127.0.0.1' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
