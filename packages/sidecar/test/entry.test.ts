/**
 * The package `sidecar` as npm users load it, in separate Node processes: CommonJS
 * `require('sidecar')` is the constructor carrying the named exports; ESM has the constructor as
 * default export and the named exports; `new sidecar(name)` starts by itself and a failed start
 * is a loud `error` event.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');

function node(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, args, {
    cwd: here,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-b', join(here, '..')], {
    stdio: 'inherit',
  });
}, 120_000);

describe('the sidecar package entry points', { timeout: 60_000 }, () => {
  it('require("sidecar") is the constructor, with the named exports on it; it starts by itself', () => {
    const registry = `sqlite:${join(mkdtempSync(join(tmpdir(), 'sidecar-entry-')), 'r.db')}`;
    const r = node(
      [
        '-e',
        `const sidecar = require('sidecar');
         console.log(typeof sidecar, typeof sidecar.createSidecar, typeof sidecar.pillion, typeof sidecar.sqlRegistry, typeof sidecar.tcp, typeof sidecar.PeerNotFoundError);
         const rpc = new sidecar('cjs-app');
         console.log(rpc instanceof sidecar, rpc instanceof sidecar.Sidecar);
         rpc.on('started', async () => { console.log('started', (await rpc.peers()).map((p) => p.name).join()); await rpc.stop(); });`,
      ],
      { SIDECAR_REGISTRY: registry },
    );
    expect(r.err).not.toMatch(/Error/);
    expect(r.out).toBe('function function function function function function\ntrue true\nstarted cjs-app\n');
    expect(r.code).toBe(0);
  });

  it('ESM: the default export is the constructor, the named exports are there', () => {
    const r = node([
      '--input-type=module',
      '-e',
      `import sidecar, { createSidecar, pillion, OriginalSidecar } from 'sidecar';
       console.log(sidecar === OriginalSidecar, typeof createSidecar, typeof pillion);
       // the seed's optional second and third arguments: a registry and a transport
       const rpc = new sidecar('esm-app', 'memory:esm', 'memory');
       const alive = setTimeout(() => {}, 10_000); // memory adapters hold no handle of their own
       rpc.on('started', async () => { console.log('started', (await rpc.peers())[0].endpoints.map((e) => e.transport).join()); await rpc.stop(); clearTimeout(alive); });`,
    ]);
    expect(r.out).toBe('true function function\nstarted memory\n');
    expect(r.code).toBe(0);
  });

  it('a start that fails is an error event that says what happened; unheard, the process exits with it', () => {
    const heard = node([
      '-e',
      `const sidecar = require('sidecar');
       const rpc = new sidecar('doomed', 'postgres://127.0.0.1:1/nothing');
       rpc.on('error', (e) => { console.log(e.code, e.message); });`,
    ]);
    expect(heard.out).toMatch(
      /^SIDECAR_ERR_REGISTRY_UNAVAILABLE sidecar "doomed" could not start: .*ECONNREFUSED/,
    );
    const unheard = node([
      '-e',
      `const sidecar = require('sidecar'); new sidecar('doomed', 'postgres://127.0.0.1:1/x');`,
    ]);
    expect(unheard.code).not.toBe(0);
    expect(unheard.err).toMatch(/sidecar "doomed" could not start/);
    const bad = node(['-e', `const sidecar = require('sidecar'); new sidecar({ name: 'x' });`]);
    expect(bad.err).toMatch(/name must be a string/);
  });
});
