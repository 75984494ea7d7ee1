// `archivist run <scenario>`, `archivist replay <trace.jsonl>` and `archivist scenario schema`.
// Progress (cli/progress.ts) reads the wall clock, but it lives outside the simulated run:
// nothing it sees reaches the trace or the result; nor does `--inspect`, which only watches.

import { mkdirSync, writeFileSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.ts';
import { renderReport, renderRuns } from '../../report/html.ts';
import { loadScenario } from '../../scenarios/load.ts';
import type { RunDetails, RunResult } from '../../scenarios/result.ts';
import { type Scenario, scenarioJsonSchema } from '../../scenarios/schema.ts';
import { formatDuration } from '../../scenarios/units.ts';
import { type InspectionFile, openInspectionFile } from '../inspect-file.ts';
import {
  type ProgressFields,
  type ProgressFlags,
  parseProgressEvery,
  parseProgressMode,
  progressBar,
  progressFlags,
  type WallFigures,
  wallText,
} from '../progress.ts';

export function parseSeed(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)))
    throw new UserError(`--seed: expected a whole number >= 0, got "${text}"`);
  return Number(text);
}

export function writeOut(file: string, text: string, what: string): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
  } catch (error) {
    throw new UserError(
      `${file}: cannot write the ${what} (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
}

/** The readable summary printed without --json. */
export function summaryText(result: RunResult, communityNames: Record<string, string> = {}): string {
  const lines: string[] = [];
  lines.push(
    `${result.scenario} (seed ${result.seed}): ${result.ok ? 'PASSED' : 'FAILED'} — ${formatDuration(result.virtualMs)} virtual, ${result.events} events, trace ${result.traceHash.slice(0, 16)}`,
  );
  lines.push(
    `rounds: ${result.rounds.length}, magnetlinks: ${result.magnetlinks.length} (${result.magnetlinks.filter((m) => m.accepted).length} accepted)`,
  );
  for (const m of result.members) {
    lines.push(
      `  ${m.node}/${communityNames[m.communityId] ?? m.communityId.slice(0, 12)}: downloaded ${m.downloaded}, imported ${m.imported} (${m.messagesImported} messages), ${m.bytesDown} B down, ${m.bytesUp} B up`,
    );
  }
  const signals = Object.entries(result.signals);
  if (signals.length > 0)
    lines.push(`signals: ${signals.map(([k, v]) => `${k.replace(/^community\./, '')} ${v}`).join(', ')}`);
  const verdicts = (title: string, failMark: string, entries: Record<string, string>): void => {
    lines.push(title);
    for (const [name, verdict] of Object.entries(entries)) {
      const mark = verdict === 'ok' ? 'ok  ' : verdict === 'not checked' ? '-   ' : failMark;
      lines.push(`  ${mark} ${name}${verdict === 'ok' ? '' : `: ${verdict}`}`);
    }
  };
  verdicts('invariants:', 'FAIL', result.invariants);
  // checks fail a run only through a `check:` expectation: flag them, do not FAIL them
  verdicts('checks:', 'WARN', result.checks);
  lines.push('expectations:');
  for (const e of result.expectations) lines.push(`  ${e.ok ? 'ok  ' : 'FAIL'} ${e.text}`);
  return `${lines.join('\n')}\n`;
}

/** `archivist: simulating 12d of 60d virtual (20%), 1m5s wall, 1,204,331 events, rss 812 MB, ~4m20s left`. */
export function runProgressLine(
  done: number,
  total: number,
  fields: ProgressFields,
  wall: WallFigures,
): string {
  const pct = total > 0 ? Math.floor((100 * done) / total) : 100;
  const virtual = formatDuration(Math.floor(done / 60_000) * 60_000);
  const events = typeof fields.events === 'number' ? `, ${fields.events.toLocaleString('en-US')} events` : '';
  const eta = wall.etaMs !== undefined ? `, ~${wallText(wall.etaMs)} left` : '';
  return `${fields.scenario}: simulated ${virtual} of ${formatDuration(total)} virtual (${pct}%), ${wallText(wall.elapsedMs)} wall${events}, rss ${Math.round(wall.rssBytes / 1e6)} MB${eta}`;
}

/** What `--save` writes and `archivist report` reads: a run's result and the report's data. */
export const SAVED_RUN_KIND = 'archivist.run';

export interface SavedRun {
  kind: typeof SAVED_RUN_KIND;
  format: 1;
  label: string;
  result: RunResult;
  details: RunDetails;
}

/** A label telling two runs apart: the files' names, and the seeds when the files are one. */
function labels(a: { file: string; seed: number }, b: { file: string; seed: number }): [string, string] {
  if (a.file === b.file) return [`${basename(a.file)} seed ${a.seed}`, `${basename(b.file)} seed ${b.seed}`];
  return [`${basename(a.file)} (seed ${a.seed})`, `${basename(b.file)} (seed ${b.seed})`];
}

interface RunFlags extends ProgressFlags {
  seed?: string;
  trace?: string;
  report?: string;
  inspect?: string;
  compare?: string;
  compareSeed?: string;
  save?: string;
  json?: boolean;
}

export function register(program: Command): void {
  progressFlags(
    program
      .command('run')
      .description('Run a scenario on the simulated world')
      .argument('<scenario>', 'scenario file (YAML or JSON)')
      .option('--seed <n>', "seed (default: the scenario's)")
      .option('--trace <file>', 'write the trace as JSON lines (first line: the scenario and seed)')
      .option('--report <file>', 'write the HTML report')
      .option(
        '--inspect <file>',
        "write XState's inspection events of every node's actors as JSON lines (docs/machines.md)",
      )
      .option('--compare <scenario>', 'run this scenario too and put both runs side by side in --report')
      .option('--compare-seed <n>', 'seed of the --compare run (default: its scenario’s, or --seed)')
      .option('--save <file>', 'write the result and the report’s data as JSON, for `archivist report`')
      .option('--json', 'print the result as one JSON object (two in a list with --compare)'),
  ).action(async (file: string, opts: RunFlags) => {
    const scenario = loadScenario(file);
    const seed = parseSeed(opts.seed);
    const other = opts.compare !== undefined ? loadScenario(opts.compare) : undefined;
    const otherSeed = parseSeed(opts.compareSeed) ?? seed;
    const mode = parseProgressMode(opts.progress);
    const everyMs = parseProgressEvery(opts.progressEvery);
    // Loaded on use: only these commands need the simulated stack.
    const { runScenario } = await import('../../scenarios/runner.ts');
    const simulate = async (
      which: string,
      s: Scenario,
      runSeed: number | undefined,
      extra: { keepTrace: boolean; inspection?: InspectionFile },
    ): Promise<Awaited<ReturnType<typeof runScenario>>> => {
      const bar = progressBar({
        mode,
        everyMs,
        command: 'run',
        barFormat: 'simulating [{bar}] {percentage}% | {virtual} of {total_virtual} virtual',
        line: runProgressLine,
      });
      const { inspection } = extra;
      try {
        return await runScenario(s, {
          ...(runSeed === undefined ? {} : { seed: runSeed }),
          keepTrace: extra.keepTrace,
          ...(inspection ? { inspect: inspection.inspect } : {}),
          onProgress: (done, total, events) => {
            inspection?.flush();
            bar.update(done, total, {
              scenario: s.name,
              events,
              virtual: formatDuration(Math.floor(done / 60_000) * 60_000),
              total_virtual: formatDuration(total),
            });
          },
        });
      } catch (error) {
        // the runner names the field; the file is ours to add
        if (error instanceof UserError) throw new UserError(`${which}: ${error.message}`, error.exitCode);
        throw error;
      } finally {
        bar.stop();
      }
    };
    const inspection = opts.inspect ? openInspectionFile(opts.inspect) : undefined;
    let output: Awaited<ReturnType<typeof runScenario>>;
    try {
      output = await simulate(file, scenario, seed, {
        keepTrace: opts.trace !== undefined,
        ...(inspection ? { inspection } : {}),
      });
    } finally {
      inspection?.close();
    }
    const compared =
      other && opts.compare
        ? await simulate(opts.compare, other, otherSeed, { keepTrace: false })
        : undefined;
    const { result, details, traceLines } = output;
    if (opts.trace) writeOut(opts.trace, `${traceLines.join('\n')}\n`, 'trace');
    const label: [string, string] = compared
      ? labels({ file, seed: result.seed }, { file: opts.compare as string, seed: compared.result.seed })
      : [`${basename(file)} (seed ${result.seed})`, ''];
    if (opts.save) {
      const saved: SavedRun = { kind: SAVED_RUN_KIND, format: 1, label: label[0], result, details };
      writeOut(opts.save, `${JSON.stringify(saved)}\n`, 'run');
    }
    if (opts.report) {
      const html = compared
        ? renderRuns([
            { label: label[0], result, details },
            { label: label[1], result: compared.result, details: compared.details },
          ])
        : renderReport(result, details);
      writeOut(opts.report, html, 'report');
    }
    if (opts.json) process.stdout.write(`${JSON.stringify(compared ? [result, compared.result] : result)}\n`);
    else {
      process.stdout.write(summaryText(result, details.communityNames));
      if (compared) process.stdout.write(summaryText(compared.result, compared.details.communityNames));
      if (opts.report) process.stdout.write(`report: ${opts.report}\n`);
      if (inspection) process.stdout.write(`inspection: ${inspection.lines} events in ${opts.inspect}\n`);
    }
    process.exitCode = result.ok && (compared?.result.ok ?? true) ? 0 : 1;
  });

  program
    .command('replay')
    .description('Re-run the scenario and seed recorded in a trace and check the new trace is identical')
    .argument('<trace>', 'trace file written by `archivist run --trace`')
    .action(async (file: string) => {
      const { replayTrace } = await import('../../scenarios/replay.ts');
      const outcome = await replayTrace(file);
      if (outcome.identical) {
        process.stdout.write(`identical: ${outcome.events} events, trace ${outcome.traceHash}\n`);
        process.exitCode = 0;
      } else {
        const d = outcome.divergence;
        process.stdout.write(
          `diverges at line ${d?.line} (event ${d?.index}):\n  recorded: ${d?.recorded ?? '(end of trace)'}\n  replayed: ${d?.replayed ?? '(end of trace)'}\n`,
        );
        process.exitCode = 1;
      }
    });

  program
    .command('scenario')
    .description('Scenario file tools')
    .command('schema')
    .description('Print the JSON Schema of scenario files')
    .action(() => {
      process.stdout.write(`${JSON.stringify(scenarioJsonSchema(), null, 2)}\n`);
    });
}
