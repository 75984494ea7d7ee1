// Entry point of the `archivist` command line. Each command group lives in cli/commands/.
import { Command, CommanderError } from 'commander';
import { UserError } from '../errors/user-error.ts';
import { commandGroups } from './commands/index.ts';

export function buildProgram(): Command {
  const program = new Command('archivist')
    .description('The Status community history archive protocol, simulated and real.')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });
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
      process.stderr.write(`archivist: ${error.message}\n`);
      return error.exitCode;
    }
    throw error;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
