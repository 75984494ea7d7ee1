// `archivist compare <scenario> [--seed N] [--json] [--report file.html]`: the scenario run
// twice with the same seed, every node on the torrent backend and then on the
// content-addressed one (scenarios/compare.ts), and the two runs' backend figures side by
// side: time to full history, members complete, who uploaded (owners or peers), failed and
// retried fetches. Exit 0 when both runs pass, 1 when either fails an expectation or an
// invariant, 2 for bad input.

import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.ts';
import type { BackendComparison } from '../../scenarios/compare.ts';
import { loadScenario } from '../../scenarios/load.ts';
import type { BackendFigures, Spread } from '../../scenarios/result.ts';
import { formatDuration } from '../../scenarios/units.ts';
import {
  type ProgressFlags,
  parseProgressEvery,
  parseProgressMode,
  progressBar,
  progressFlags,
} from '../progress.ts';
import { parseSeed, runProgressLine, writeOut } from './run.ts';

/** "850 ms", "28 s", "2h30m" — a time to full history in words; "–" without one. */
export function timeText(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}

/** "0 B", "812 kB", "4.82 MB" (decimal units). */
export function bytesText(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

function detail(parts: Record<string, number>): string {
  const shown = Object.entries(parts).filter(([, v]) => v > 0);
  return shown.length === 0 ? '' : ` (${shown.map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

/** The rows of the comparison table: a label, then one cell per run. */
export function comparisonRows(figures: readonly BackendFigures[]): string[][] {
  const spread = (pick: (s: Spread) => number | null) =>
    figures.map((f) => timeText(pick(f.timeToFullHistory)));
  return [
    ['time to full history, median', ...spread((s) => s.median)],
    ['time to full history, p90', ...spread((s) => s.p90)],
    ['time to full history, max', ...spread((s) => s.max)],
    ['members complete', ...figures.map((f) => `${f.membersComplete}/${f.membersCounted}`)],
    ['archives imported', ...figures.map((f) => String(f.archivesImported))],
    ['torrent upload, owners', ...figures.map((f) => bytesText(f.uploaded.torrent.owners))],
    ['torrent upload, peers', ...figures.map((f) => bytesText(f.uploaded.torrent.peers))],
    ['content upload, owners', ...figures.map((f) => bytesText(f.uploaded.content.owners))],
    ['content upload, peers', ...figures.map((f) => bytesText(f.uploaded.content.peers))],
    [
      'failed fetches',
      ...figures.map((f) => {
        const { total, ...parts } = f.failedFetches;
        return `${total}${detail(parts)}`;
      }),
    ],
    [
      'retried fetches',
      ...figures.map((f) => {
        const { total, ...parts } = f.retriedFetches;
        return `${total}${detail(parts)}`;
      }),
    ],
  ];
}

/** The readable comparison printed without --json. */
export function comparisonText(c: BackendComparison): string {
  const head = ['', ...c.runs.map((r) => r.backend)];
  const rows = [head, ...comparisonRows(c.runs.map((r) => r.figures))];
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
