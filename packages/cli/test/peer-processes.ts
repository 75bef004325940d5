import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/metrics-peer.ts');

/** A peer process started by a test. */
export interface PeerProcess {
  child: ChildProcessWithoutNullStreams;
  instanceId: string;
  /** Resolves when the process has exited. */
  exited: Promise<void>;
}

const running = new Set<ChildProcessWithoutNullStreams>();

/** Starts a peer (pillion + metrics unless `metricsOn` is false) in its own process; resolves when registered. */
export async function startPeer(
  name: string,
  registry: string,
  options: { ttl?: number; metadata?: object; metricsOn?: boolean } = {},
): Promise<PeerProcess> {
  const args = [
    '--import',
    'tsx',
    '--conditions=@sidecar/source',
    fixture,
    name,
    registry,
    String(options.ttl ?? 1500),
    JSON.stringify(options.metadata ?? {}),
    ...(options.metricsOn === false ? ['--no-metrics'] : []),
  ];
  const child = spawn(process.execPath, args, { env: { ...process.env, SIDECAR_HOST: '127.0.0.1' } });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => running.delete(child));
  let out = '';
  let err = '';
  child.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const instanceId = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`peer ${name} did not start: ${err}`)), 30_000);
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /ready (\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`peer ${name} exited with ${code}: ${err}`));
    });
  });
  return { child, instanceId, exited };
}

/** Kills every peer process a test left running. */
export async function killPeers(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  running.clear();
}
