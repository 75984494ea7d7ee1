// `archivist report <run.json> [<run.json>] --out report.html`: the HTML report of a run
// saved with `archivist run --save`, or of two side by side — two seeds, two scenarios,
// or the same scenario before and after a change of the code.

import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.ts';
import { type ReportRun, renderRuns } from '../../report/html.ts';
import { SAVED_RUN_KIND, type SavedRun, writeOut } from './run.ts';

function readRun(file: string): ReportRun {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`}`,
    );
  }
  let value: Partial<SavedRun> | null;
  try {
    value = JSON.parse(text) as Partial<SavedRun> | null;
  } catch {
    throw new UserError(`${file}: expected a run saved by \`archivist run --save\` (JSON)`);
  }
  if (!value || value.kind !== SAVED_RUN_KIND)
    throw new UserError(
      `${file}: expected a run saved by \`archivist run --save\` (kind "${SAVED_RUN_KIND}")`,
    );
  if (value.format !== 1) throw new UserError(`${file}: format: expected 1, got ${String(value.format)}`);
  const { result, details } = value;
  if (!result || typeof result !== 'object' || !Array.isArray(result.members))
    throw new UserError(`${file}: result: expected the result of a run`);
  if (!details || typeof details !== 'object' || !Array.isArray(details.activity) || !details.parameters)
    throw new UserError(`${file}: details: expected the report's data of a run`);
  return { label: typeof value.label === 'string' ? value.label : basename(file), result, details };
}

export function register(program: Command): void {
  program
    .command('report')
    .description('Write the HTML report of one saved run, or of two side by side')
    .argument('<runs...>', 'runs saved by `archivist run --save` (one or two)')
    .requiredOption('--out <file>', 'the HTML report to write')
    .action((files: string[], opts: { out: string }) => {
      if (files.length > 2) throw new UserError(`report: expected one or two runs, got ${files.length}`);
      const runs = files.map(readRun);
      if (runs.length === 2 && runs[0]?.label === runs[1]?.label)
        for (const [i, r] of runs.entries()) r.label = `${r.label} [${basename(files[i] as string)}]`;
      writeOut(opts.out, renderRuns(runs), 'report');
      process.stdout.write(`report: ${opts.out}\n`);
    });
}
