// Every command group registers itself here; one file per group in this folder.
import type { Command } from 'commander';
import { register as registerArchive } from './archive.ts';
import { register as registerCompare } from './compare.ts';
import { register as registerExplore } from './explore.ts';
import { register as registerMachines } from './machines.ts';
import { register as registerReal } from './real.ts';
import { register as registerReport } from './report.ts';
import { register as registerRun } from './run.ts';

export type RegisterCommands = (program: Command) => void;

export const commandGroups: RegisterCommands[] = [
  registerArchive,
  registerReal,
  registerRun,
  registerCompare,
  registerMachines,
  registerExplore,
  registerReport,
];
