import { defineConfig } from 'vitest/config';

/** The doc-test suite: every runnable code block of the docs, against the packed tarballs. */
export default defineConfig({
  test: {
    include: ['test/docs/**/*.test.ts'],
    globalSetup: ['test/docs/global-setup.ts'],
    env: { SIDECAR_HOST: '127.0.0.1' },
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
