import { Command, Option } from 'commander';
import { call } from './commands/call.js';
import { cat } from './commands/cat.js';
import { type CertsOptions, certs, DEFAULT_CERT_DAYS, DEFAULT_CERTS_DIR } from './commands/certs.js';
import { dashboard } from './commands/dashboard.js';
import { ls } from './commands/ls.js';
import { metricsSd, portNumber } from './commands/metrics-sd.js';
import { serve } from './commands/serve.js';
import { watch } from './commands/watch.js';
import { runDemo, runDemoPeer } from './demo/run-demo.js';
import type { GlobalOptions } from './options.js';

const REGISTRY_HELP =
  'registry URL or name: sql (default: SQLite per user), sqlite:PATH, postgres://..., redis://..., rediss://..., memory (env: SIDECAR_REGISTRY)';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`expected a positive whole number, got "${value}"`);
  return n;
}

/** Builds the `sidecar` command line (commander). */
export function buildProgram(): Command {
  const program = new Command('sidecar')
    .description('Duplex streams to named peers: list, watch and talk to them by name')
    .addOption(new Option('--registry <url>', REGISTRY_HELP))
    .addOption(
      new Option('--namespace <name>', 'registry namespace (env: SIDECAR_NAMESPACE)').default(
        undefined,
        'default',
      ),
    )
    .option('--debug', 'print stack traces with errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program
    .command('ls')
    .description('list the live peers: name, instance, endpoints, methods, age, time to expiry')
    .argument('[pattern]', 'peer name or glob (* and ?)', '*')
    .option('--json', 'print JSON for scripts')
    .action((pattern: string, _o: object, cmd: Command) => ls(pattern, cmd.optsWithGlobals()));

  program
    .command('watch')
    .description('print join / update / leave / timeout events as they happen, until Ctrl-C')
    .argument('[pattern]', 'peer name or glob (* and ?)', '*')
    .option('--json', 'print one JSON object per line (NDJSON)')
    .action((pattern: string, _o: object, cmd: Command) => watch(pattern, cmd.optsWithGlobals()));

  program
    .command('cat')
    .description('netcat by name: stdin to the peer, its replies to stdout')
    .argument('<name>', 'peer name')
    .option('--timeout <ms>', 'how long to wait for the peer to appear and answer', positiveInt, 5000)
    .option('--raw', 'skip the wrapper chain: bytes as they are')
    .option('--frames', 'JSON lines as burro frames (the default with a peer that publishes RPC methods)')
    .action((name: string, _o: object, cmd: Command) => cat(name, cmd.optsWithGlobals()));

  program
    .command('serve')
    .description(
      'register <name>; pipe each incoming stream to a new child process (inetd style), or echo it',
    )
    .argument('<name>', 'the name to serve as')
    .argument('[command...]', 'command to run per stream, after --')
    .action((name: string, command: string[], _o: object, cmd: Command) =>
      serve(name, command, cmd.optsWithGlobals<GlobalOptions>()),
    );

  program
    .command('call')
    .description('call a pillion method by URI, e.g. default://billing/charge or default://worker-?/status')
    .argument('<uri>', 'namespace://peer/method (the peer part may be a pattern)')
    .argument('[args...]', 'arguments as JSON values, e.g. \'"bob"\' 42 \'{"a":1}\'')
    .option('--timeout <ms>', 'time limit of the call', positiveInt, 10_000)
    .action(async (uri: string, args: string[], _o: object, cmd: Command) => {
      process.exitCode = await call(uri, args, cmd.optsWithGlobals());
    });

  program
    .command('metrics-sd')
    .description(
      'serve Prometheus HTTP service discovery (http_sd_configs) of the peers that expose /metrics',
    )
    .argument('[pattern]', 'peer name or glob (* and ?)', '*')
    .option('--port <port>', 'port to serve on (0: any free one)', portNumber, 9465)
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--once', 'print the target groups as JSON and exit')
    .action((pattern: string, _o: object, cmd: Command) => metricsSd(pattern, cmd.optsWithGlobals()));

  program
    .command('dashboard')
    .description('a live web page of the peers: state, heartbeats, endpoints, methods, metrics, events')
    .argument('[pattern]', 'peer name or glob (* and ?)', '*')
    .option('--port <port>', 'port to serve on (0: any free one)', portNumber, 9466)
    .option('--host <address>', 'address to bind', '127.0.0.1')
    .option('--interval <ms>', 'interval between registry reads', positiveInt, 1000)
    .action((pattern: string, _o: object, cmd: Command) => dashboard(pattern, cmd.optsWithGlobals()));

  program
    .command('demo')
    .description('start a few peers as processes on the embedded SQLite registry and show what sidecar does')
    .addOption(new Option('--peer <role>', 'internal: run one demo peer').hideHelp())
    .option(
      '--ttl <ms>',
      'record lifetime of the demo peers (how soon a killed peer times out)',
      positiveInt,
      2000,
    )
    .action((options: { peer?: string }, cmd: Command) =>
      options.peer ? runDemoPeer(options.peer, cmd.optsWithGlobals()) : runDemo(cmd.optsWithGlobals()),
    );

  program
    .command('certs')
    .description(
      'make a development CA and a certificate + key per peer name for the TLS transport: DIR/ca.crt, DIR/ca.key, DIR/<name>.crt, DIR/<name>.key',
    )
    .argument('<names...>', 'peer names to issue certificates for (the CA is reused when DIR has one)')
    .option('--out <dir>', 'directory for the files', DEFAULT_CERTS_DIR)
    .option('--days <n>', 'validity in days', positiveInt, DEFAULT_CERT_DAYS)
    .action((names: string[], _o: object, cmd: Command) => certs(names, cmd.optsWithGlobals<CertsOptions>()));

  return program;
}
