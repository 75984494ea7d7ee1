// `archivist compare <scenario> [--seed N] [--json] [--report file.html]`: the scenario run
// twice with the same seed, every node on the torrent backend and then on the
// content-addressed one (scenarios/compare.ts), and the two runs' backend figures side by
// side: time to full history, members complete, who uploaded (owners or peers), failed and
// retried fetches. Exit 0 when both runs pass, 1 when either fails an expectation or an
// invariant, 2 for bad input.

import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.ts';
import { backendRows } from '../../scenarios/backend-table.ts';
import type { BackendComparison } from '../../scenarios/compare.ts';
import { loadScenario } from '../../scenarios/load.ts';
import { formatDuration } from '../../scenarios/units.ts';
import {
  type ProgressFlags,
  parseProgressEvery,
  parseProgressMode,
  progressBar,
  progressFlags,
} from '../progress.ts';
import { parseSeed, runProgressLine, writeOut } from './run.ts';

/** The readable comparison printed without --json. */
export function comparisonText(c: BackendComparison): string {
  const head = ['', ...c.runs.map((r) => r.backend)];
  const rows = [head, ...backendRows(c.runs.map((r) => r.figures))];
  const widths = head.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  const lines = [
    `${c.scenario} (seed ${c.seed}): ${c.runs.map((r) => `${r.backend} ${r.result.ok ? 'PASSED' : 'FAILED'}`).join(', ')}`,
    ...rows.map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    ),
  ];
  for (const r of c.runs)
    if (!r.result.ok)
      for (const e of r.result.expectations) if (!e.ok) lines.push(`  ${r.backend}: FAIL ${e.text}`);
  return `${lines.join('\n')}\n`;
}

interface CompareFlags extends ProgressFlags {
  seed?: string;
  json?: boolean;
  report?: string;
}

export function register(program: Command): void {
  progressFlags(
    program
      .command('compare')
      .description(
        'Run a scenario with every node on the torrent backend, then on the cid backend, and compare',
      )
      .argument('<scenario>', 'scenario file (YAML or JSON)')
      .option('--seed <n>', "seed of both runs (default: the scenario's)")
      .option('--json', 'print the comparison as one JSON object')
      .option('--report <file>', 'write the HTML report of both runs side by side'),
  ).action(async (file: string, opts: CompareFlags) => {
    const scenario = loadScenario(file);
    const seed = parseSeed(opts.seed);
    const mode = parseProgressMode(opts.progress);
    const everyMs = parseProgressEvery(opts.progressEvery);
    // Loaded on use: only the simulating commands need the simulated stack.
    const { COMPARED_BACKENDS, compareBackends, comparisonJson } = await import('../../scenarios/compare.ts');
    const bar = progressBar({
      mode,
      everyMs,
      command: 'compare',
      barFormat: 'simulating {scenario} [{bar}] {percentage}% | {virtual} of {total_virtual} virtual',
      line: runProgressLine,
    });
    let comparison: BackendComparison;
    try {
      comparison = await compareBackends(scenario, {
        ...(seed === undefined ? {} : { seed }),
        // one bar over both runs: the cid run continues where the torrent run ended
        onProgress: (backend, done, total, events) =>
          bar.update(COMPARED_BACKENDS.indexOf(backend) * total + done, COMPARED_BACKENDS.length * total, {
            scenario: `${scenario.name} (${backend})`,
            events,
            virtual: formatDuration(Math.floor(done / 60_000) * 60_000),
            total_virtual: formatDuration(total),
          }),
      });
    } catch (error) {
      // the runner names the field; the file is ours to add
      if (error instanceof UserError) throw new UserError(`${file}: ${error.message}`, error.exitCode);
      throw error;
    } finally {
      bar.stop();
    }
    if (opts.report) {
      const { renderRuns } = await import('../../report/html.ts');
      const html = renderRuns(
        comparison.runs.map((r) => ({
          label: `${scenario.name} — ${r.backend}`,
          result: r.result,
          details: r.details,
        })),
      );
      writeOut(opts.report, html, 'report');
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(comparisonJson(comparison))}\n`);
    else {
      process.stdout.write(comparisonText(comparison));
      if (opts.report) process.stdout.write(`report: ${opts.report}\n`);
    }
    process.exitCode = comparison.runs.every((r) => r.result.ok) ? 0 : 1;
  });
}
