import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root. */
export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** How long the install may take: better-sqlite3 compiles from source (~100 s on 2 cores). */
export const INSTALL_TIMEOUT_MS = 15 * 60_000;

function run(cmd: string, args: string[], cwd: string, timeout = INSTALL_TIMEOUT_MS): void {
  try {
    execFileSync(cmd, args, { cwd, timeout, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed in ${cwd}:\n${e.stderr ?? ''}${e.stdout ?? ''}${e.message}`,
    );
  }
}

/** `pnpm pack` of every packages/* directory (the umbrella `sidecar` included): the tarball paths. */
export function packAll(dest: string): string[] {
  mkdirSync(dest, { recursive: true });
  run('pnpm', ['build'], ROOT);
  for (const dir of readdirSync(join(ROOT, 'packages')).sort()) {
    const pkg = join(ROOT, 'packages', dir);
    if (!existsSync(join(pkg, 'package.json'))) continue;
    run('pnpm', ['pack', '--pack-destination', dest], pkg, 120_000);
  }
  return readdirSync(dest)
    .filter((f) => f.endsWith('.tgz'))
    .map((f) => join(dest, f));
}

function rootDevVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    devDependencies: Record<string, string>;
  };
  const version = pkg.devDependencies[name];
  if (!version) throw new Error(`the root package.json has no devDependency ${name}`);
  return version;
}

/**
 * A fresh npm project outside the repository with every packed tarball installed by plain npm,
 * plus typescript and @types/node for the type-checked blocks. Installed once per run.
 * SIDECAR_DOCS_PROJECT=DIR reuses a folder an earlier run installed (for working on docs only).
 */
export function installProject(): string {
  const reuse = process.env.SIDECAR_DOCS_PROJECT;
  if (reuse && existsSync(join(reuse, 'node_modules', 'sidecar'))) return reuse;
  const dir = reuse ?? mkdtempSync(join(tmpdir(), 'sidecar-docs-'));
  mkdirSync(dir, { recursive: true });
  const tarballs = packAll(join(dir, 'tarballs'));
  writeFileSync(
    join(dir, 'package.json'),
    `${JSON.stringify({ name: 'sidecar-doc-tests', private: true, type: 'module' }, null, 2)}\n`,
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          moduleDetection: 'force',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['blocks/**/*.ts'],
      },
      null,
      2,
    )}\n`,
  );
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--loglevel=error',
      ...tarballs,
      `typescript@${rootDevVersion('typescript')}`,
      `@types/node@${rootDevVersion('@types/node')}`,
    ],
    dir,
  );
  return dir;
}
