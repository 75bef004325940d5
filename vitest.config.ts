import { defineConfig } from 'vitest/config';

export default defineConfig({
  oxc: { decorator: { legacy: true, emitDecoratorMetadata: true } },
  ssr: { resolve: { conditions: ['@sidecar/source'] } },
  test: {
    include: ['packages/*/test/**/*.test.ts', 'test/**/*.test.ts', 'examples/**/*.test.ts'],
    // The reliability suite has its own config and script (pnpm test:reliability).
    exclude: ['**/node_modules/**', 'test/reliability/**'],
    globalSetup: ['test/setup/global-setup.ts'],
    env: { SIDECAR_HOST: '127.0.0.1' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
