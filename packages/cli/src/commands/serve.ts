import { spawn } from 'node:child_process';
import type { Duplex } from 'node:stream';
import { createSidecar, type PeerInfo, validateName } from '@sidecar/core';
import { escapeText } from '../escape.js';
import { type GlobalOptions, registryOf, untilInterrupted } from '../options.js';

/**
 * `sidecar serve <name> [-- command args...]`: registers `name`; every incoming stream is piped
 * to a new child process's stdin/stdout (inetd style), or echoed back when no command is given.
 * The child gets SIDECAR_PEER_NAME / SIDECAR_PEER_INSTANCE in its environment.
 */
export async function serve(name: string, command: string[], options: GlobalOptions): Promise<void> {
  validateName(name);
  const app = createSidecar({ name, events: false, ...registryOf(options) });
  app.on('warning', (w) => process.stderr.write(`warning: ${escapeText(w.message)}\n`));
  app.on('stream', (stream, peer) =>
    command.length > 0 ? runChild(stream, peer, command) : stream.pipe(stream),
  );
  await app.start();
  const where = app.record.endpoints.map((e) => `${e.transport}://${e.host}:${e.port}`).join(' ');
  process.stderr.write(`serving "${name}" (instance ${app.instanceId}) at ${where}; Ctrl-C to stop\n`);
  // A daemon's stop signals, and SIGHUP: a closed terminal or ssh session deregisters it too.
  await untilInterrupted(['SIGINT', 'SIGTERM', 'SIGHUP']);
  await app.stop();
}

function runChild(stream: Duplex, peer: PeerInfo, command: string[]): void {
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, SIDECAR_PEER_NAME: peer.name, SIDECAR_PEER_INSTANCE: peer.instanceId },
  });
  child.on('error', (err) => {
    process.stderr.write(`cannot run ${file}: ${err.message}\n`);
    stream.destroy();
  });
  child.stdin.on('error', () => {});
  stream.on('error', () => child.kill());
  stream.pipe(child.stdin);
  child.stdout.pipe(stream);
  stream.once('close', () => {
    if (child.exitCode === null) child.kill();
  });
}
