import { createSidecar, InvalidConfigError } from '@sidecar/core';
import { type PeerResult, parseMethodUri, pillion } from '@sidecar/wrapper-pillion';
import { escapeText, safeJson } from '../escape.js';
import { EXIT } from '../exit-codes.js';
import { cliPeerName, type GlobalOptions, registryOf } from '../options.js';
import { reportError, spinner } from '../output.js';

/** Options of `sidecar call`. */
export interface CallCommandOptions extends GlobalOptions {
  /** Per-call time limit, in ms. */
  timeout?: number;
}

function parseArgs(args: string[]): unknown[] {
  return args.map((text, i) => {
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new InvalidConfigError(`argument ${i + 1} is not JSON: ${text} (quote strings: '"bob"')`);
    }
  });
}

/**
 * `sidecar call <ns://peer/method> [json-args...]`: a pillion call from the shell. The value the
 * callback receives is printed as JSON. With a peer pattern, one JSON line per peer:
 * `{"peer":"worker-1","instanceId":"...","ok":true,"value":...}`; the exit code is 5 if any failed.
 */
export async function call(uri: string, rawArgs: string[], options: CallCommandOptions): Promise<number> {
  const target = parseMethodUri(uri);
  const args = parseArgs(rawArgs);
  const app = createSidecar({
    name: cliPeerName(),
    register: false,
    events: false,
    ...registryOf(options),
    namespace: target.namespace,
    wrappers: [pillion()],
  });
  await app.start();
  const wait = spinner(`calling ${uri}`);
  try {
    const callOptions = { timeout: options.timeout ?? 10_000 };
    if (target.pattern) {
      const results = (await app.call(uri, ...args, callOptions)) as PeerResult[];
      wait.stop();
      let failed = false;
      for (const r of results) {
        const base = { peer: r.peer.name, instanceId: r.peer.instanceId, ok: r.ok };
        if (r.ok) process.stdout.write(`${safeJson({ ...base, value: r.value ?? null })}\n`);
        else {
          failed = true;
          process.stdout.write(
            `${safeJson({ ...base, error: r.error.message, code: (r.error as { code?: string }).code })}\n`,
          );
        }
      }
      if (results.length === 0)
        process.stderr.write(
          `no live peer matching "${escapeText(target.peer)}" provides "${escapeText(target.method)}"\n`,
        );
      return failed ? EXIT.REMOTE : EXIT.OK;
    }
    const value = await app.call(uri, ...args, callOptions);
    wait.stop();
    process.stdout.write(`${safeJson(value ?? null)}\n`);
    return EXIT.OK;
  } catch (err) {
    wait.stop();
    return reportError(err, Boolean(options.debug));
  } finally {
    await app.stop();
  }
}
