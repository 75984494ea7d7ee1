// Every command group registers itself here; one file per group in this folder.
import type { Command } from 'commander';
import { register as registerMachines } from './machines.ts';
import { register as registerReal } from './real.ts';
import { register as registerRun } from './run.ts';

export type RegisterCommands = (program: Command) => void;

export const commandGroups: RegisterCommands[] = [registerReal, registerRun, registerMachines];
