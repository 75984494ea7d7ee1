// `archivist machines [--json]`: the XState machines of the archive protocol (machines/),
// as a state outline or as JSON definitions for Stately's visualizer.

import type { Command } from 'commander';
import { describeMachines, machineDefinitions } from '../../machines/definitions.ts';

export function register(program: Command): void {
  program
    .command('machines')
    .description('print the protocol machines (node, controlNode, member)')
    .option('--json', 'print every machine definition as JSON (for the Stately visualizer)')
    .action((opts: { json?: boolean }) => {
      if (opts.json) process.stdout.write(`${JSON.stringify(machineDefinitions(), null, 2)}\n`);
      else process.stdout.write(`${describeMachines()}\n`);
    });
}
