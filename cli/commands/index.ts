// Every command group registers itself here; one file per group in this folder.
import type { Command } from 'commander';

export type RegisterCommands = (program: Command) => void;

export const commandGroups: RegisterCommands[] = [];
