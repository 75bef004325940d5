import { CommanderError } from 'commander';
import { EXIT } from './exit-codes.js';
import { reportError } from './output.js';
import { buildProgram } from './program.js';

/** Runs the CLI with `argv` (defaults to the process's) and resolves with the exit code. */
export async function run(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    }
    return reportError(err, Boolean(program.opts().debug) || argv.includes('--debug'));
  }
}

const code = await run();
process.stdout.write('', () => process.exit(code));
