/**
 * The installed tarballs themselves: what `npm i` put in node_modules must be complete (every
 * export and bin target present), hold no build files, and declare peers that do not break a
 * user's install.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { ROOT } from './project.js';

type Conditions = string | { [condition: string]: Conditions };

interface Manifest {
  name: string;
  bin?: Record<string, string>;
  exports?: Record<string, Conditions>;
  peerDependencies?: Record<string, string>;
}

const read = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Manifest;
const packageNames = readdirSync(join(ROOT, 'packages'))
  .filter((d) => existsSync(join(ROOT, 'packages', d, 'package.json')))
  .map((d) => read(join(ROOT, 'packages', d, 'package.json')).name);

/** Every file an export points at, through nested conditions (`require: { types, default }`). */
function targetsOf(conditions: Conditions): string[] {
  if (typeof conditions === 'string') return [conditions];
  return Object.entries(conditions)
    .filter(([condition]) => condition !== '@sidecar/source')
    .flatMap(([, nested]) => targetsOf(nested));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? (e.name === 'node_modules' ? [] : filesUnder(join(dir, e.name))) : [join(dir, e.name)],
  );
}

describe('the packed packages, as npm installed them', () => {
  for (const name of packageNames) {
    it(`${name}: every exports and bin target is in the tarball, and no build files are`, () => {
      const dir = join(inject('docsProject'), 'node_modules', name);
      const manifest = read(join(dir, 'package.json'));
      const targets = Object.values(manifest.exports ?? {}).flatMap(targetsOf);
      for (const target of targets) expect(existsSync(join(dir, target)), target).toBe(true);
      for (const bin of Object.values(manifest.bin ?? {})) {
        expect(existsSync(join(dir, bin)), bin).toBe(true);
        expect(statSync(join(dir, bin)).mode & 0o111, `${bin} is executable`).not.toBe(0);
      }
      expect(filesUnder(dir).filter((f) => /\.tsbuildinfo$|\.test\.[jt]s$/.test(f))).toEqual([]);
    });
  }

  it('peer ranges are ranges, not pinned versions (vitest 3, 4 and 5 projects can install core)', () => {
    for (const name of packageNames) {
      const peers =
        read(join(inject('docsProject'), 'node_modules', name, 'package.json')).peerDependencies ?? {};
      for (const [peer, range] of Object.entries(peers))
        expect(range, `${name} -> ${peer}`).not.toMatch(/^\d/);
    }
    const core = read(join(inject('docsProject'), 'node_modules', '@sidecar/core', 'package.json'));
    expect(core.peerDependencies?.vitest).toBe('>=3.0.0');
  });

  it('a CommonJS TypeScript project gets the types of require("sidecar") (cjs/index.d.cts)', () => {
    const project = inject('docsProject');
    const dir = join(project, 'cjs-consumer');
    mkdirSync(dir, { recursive: true });
    // A .cts file is CommonJS under NodeNext: `sidecar` resolves through the "require" condition.
    writeFileSync(
      join(dir, 'consumer.cts'),
      [
        "import sidecar = require('sidecar');",
        "const app = sidecar.createSidecar({ name: 'billing', registry: 'sql' });",
        'const started: Promise<void> = app.start();',
        "const original = new sidecar('legacy-app');",
        'void started;',
        'void original;',
        '// Typed, not any: a config of the wrong type is an error.',
        '// @ts-expect-error',
        'sidecar.createSidecar(42);',
        '',
      ].join('\n'),
    );
    const compilerOptions = {
      target: 'ES2022',
      module: 'NodeNext',
      moduleResolution: 'NodeNext',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      types: ['node'],
    };
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.cts'] }));
    const tsc = join(project, 'node_modules/.bin/tsc');
    let output = '';
    try {
      execFileSync(tsc, ['-p', dir, '--pretty', 'false'], { cwd: project, encoding: 'utf8' });
    } catch (err) {
      output = String((err as { stdout?: string }).stdout ?? err);
    }
    expect(output).toBe('');
  });
});
