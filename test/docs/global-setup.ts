import { rmSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { installProject } from './project.js';

declare module 'vitest' {
  export interface ProvidedContext {
    docsProject: string;
  }
}

/**
 * Packs every package and installs the tarballs with npm into one fresh folder for all blocks;
 * removes it afterwards (unless SIDECAR_DOCS_PROJECT names a folder to keep and reuse).
 */
export default function setup(project: TestProject): () => void {
  const started = Date.now();
  const dir = installProject();
  process.stderr.write(
    `[docs] tarballs installed with npm in ${dir} (${Math.round((Date.now() - started) / 1000)} s)\n`,
  );
  project.provide('docsProject', dir);
  return () => {
    if (!process.env.SIDECAR_DOCS_PROJECT) rmSync(dir, { recursive: true, force: true });
  };
}
