// Entry point of the `archivist` command line. Each command group lives in cli/commands/.
//
// Exit codes: 0 ok; 1 an expectation or a verification failed; 2 bad input (a user error:
// one line per problem on stderr, each starting with `archivist:`, no stack trace); 70 a bug
// (an error nobody expected: its stack follows the `archivist:` line, for a report).
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors/user-error.ts';
import { commandGroups } from './commands/index.ts';
import { errorLines } from './terminal.ts';
import { packageVersion } from './version.ts';

/** An error nobody expected (sysexits' EX_SOFTWARE). */
export const INTERNAL_ERROR = 70;

export function buildProgram(): Command {
  const program = new Command('archivist')
    .description('The Status community history archive protocol, simulated and real.')
    .version(packageVersion(), '-V, --version', 'print the version of archivist')
    .exitOverride()
    .configureOutput({
      writeErr: (s) => process.stderr.write(s),
      // Commander's own errors (unknown option, missing argument) as every other error line.
      outputError: (s, write) => write(errorLines(s.replace(/^error: /, '').trimEnd())),
    });
  for (const register of commandGroups) register(program);
  return program;
}

/** Runs the CLI and returns the process exit code; never throws for user errors. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UserError) {
      process.stderr.write(errorLines(error.message));
      return error.exitCode;
    }
    const detail = error instanceof Error ? (error.stack ?? error.message) : String(error);
    process.stderr.write(
      errorLines('unexpected error, a bug in archivist; please report it with this trace:'),
    );
    process.stderr.write(`${detail}\n`);
    return INTERNAL_ERROR;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
