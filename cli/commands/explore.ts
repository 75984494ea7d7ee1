// `archivist explore`: random faulted scenarios against the §10 properties, shrinking a
// failure to a minimal scenario file + trace (docs/explore.md); `archivist explore merge`
// adds up the JSON summaries of shards. The progress bar reads the wall clock
// (cli-progress does) but lives outside the simulated runs.

import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.ts';
import { BUGS_OFF, DEFAULT_SHAPE, type ScenarioShape } from '../../explore/arbitraries.ts';
import { EXPLORABLE_KINDS, FAULT_KINDS, type FaultKind } from '../../explore/faults.ts';
import type { ExploreSummary } from '../../explore/shards.ts';
import { progressBar } from '../progress.ts';

function wholeNumber(flag: string, text: string, min: number): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text)) || Number(text) < min)
    throw new UserError(`${flag}: expected a whole number >= ${min}, got "${text}"`);
  return Number(text);
}

/** `--faults offline,crash,…` (or "all" / "none"). */
export function parseFaults(text: string): FaultKind[] {
  if (text === 'all') return [...FAULT_KINDS];
  if (text === 'none' || text === '') return [];
  const out: FaultKind[] = [];
  for (const part of text.split(',').map((p) => p.trim())) {
    if (!EXPLORABLE_KINDS.includes(part))
      throw new UserError(
        `--faults: unknown fault "${part}" (known: ${EXPLORABLE_KINDS.join(', ')}, all, none)`,
      );
    out.push(part as FaultKind);
  }
  return out;
}

const QUIRK_KEYS = [
  'noNewArchivesByCount',
  'extraPaddingPiece',
  'dispatchCrashOnMissingCommunity',
  'retryUndecodableForever',
  'emptyDownloadSignals',
  'finishedOnAnyImportEnd',
  'startFailsWhenNotMember',
  'storeFailureStopsArchiving',
  'seedTwiceAtStartup',
] as const;
const OPTION_KEYS: Record<string, 'enum' | 'string' | 'number' | 'boolean'> = {
  actOnMagnetlinks: 'enum',
  magnetlinkQuiet: 'string',
  download: 'enum',
  importMode: 'enum',
  archiveInterval: 'string',
  pieceLength: 'string',
  maxArchiveChunk: 'string',
  metadataTimeout: 'string',
  metadataRetries: 'number',
  importDelay: 'string',
  importChunk: 'number',
  importRate: 'enum',
  missingKeyRetry: 'string',
  corruptRetry: 'string',
};

/**
 * `--options mode=spec,noNewArchivesByCount=on,importRate=slow,members=2..5,days=14..21`:
 * the scenario's mode, an option of the scenario file's `options`, a quirk (on/off) of
 * `quirks`, or the shape of the generated worlds (members, days, rate, maxFaults, settle).
 * Values are checked again when each generated scenario is validated.
 */
export function parseOptions(text: string | undefined, faults: FaultKind[]): ScenarioShape {
  const shape: ScenarioShape = {
    ...DEFAULT_SHAPE,
    faults,
    settings: {
      mode: 'reference',
      options: { ...DEFAULT_SHAPE.settings.options },
      quirks: { ...BUGS_OFF },
    },
  };
  if (!text) return shape;
  const options = shape.settings.options as Record<string, unknown>;
  const quirks = shape.settings.quirks as Record<string, unknown>;
  const range = (key: string, value: string): { min: number; max: number } => {
    const m = /^(\d+)(?:\.\.(\d+))?$/.exec(value);
    if (!m) throw new UserError(`--options: ${key}: expected n or min..max, got "${value}"`);
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : Number(m[2]);
    if (max < min) throw new UserError(`--options: ${key}: expected min <= max, got "${value}"`);
    return { min, max };
  };
  for (const pair of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new UserError(`--options: expected key=value, got "${pair}"`);
    const key = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    if (key === 'mode') {
      if (value !== 'reference' && value !== 'spec')
        throw new UserError(`--options: mode: expected reference or spec, got "${value}"`);
      shape.settings.mode = value;
    } else if ((QUIRK_KEYS as readonly string[]).includes(key)) {
      if (!['on', 'off', 'true', 'false'].includes(value))
        throw new UserError(`--options: ${key}: expected on or off, got "${value}"`);
      quirks[key] = value === 'on' || value === 'true';
    } else if (key === 'members') {
      const r = range(key, value);
      if (r.min < 1) throw new UserError('--options: members: expected at least 1');
      shape.members = r;
    } else if (key === 'days') {
      const r = range(key, value);
      if (r.min < 9)
        throw new UserError('--options: days: expected at least 9 (a week of faults and a settle)');
      shape.days = r;
    } else if (key === 'rate') {
      shape.rate = range(key, value);
    } else if (key === 'maxFaults') {
      shape.maxFaults = wholeNumber('--options: maxFaults', value, 0);
    } else if (key === 'settleDays') {
      shape.settleMs = wholeNumber('--options: settleDays', value, 1) * 86_400_000;
    } else if (key in OPTION_KEYS) {
      const kind = OPTION_KEYS[key];
      if (kind === 'number') options[key] = wholeNumber(`--options: ${key}`, value, 0);
      else if (kind === 'boolean') options[key] = value === 'true' || value === 'on';
      else options[key] = value;
    } else {
      throw new UserError(
        `--options: unknown key "${key}" (mode, ${QUIRK_KEYS.join(', ')}, ${Object.keys(OPTION_KEYS).join(', ')}, members, days, rate, maxFaults, settleDays)`,
      );
    }
  }
  if (shape.days.min * 86_400_000 <= shape.settleMs)
    throw new UserError('--options: days: the run must be longer than the settle time');
  return shape;
}

export function register(program: Command): void {
  const command = program
    .command('explore')
    .description('Run random faulted scenarios against the §10 invariants and liveness; shrink failures')
    .option('--runs <n>', 'scenarios to run (all shards together)', '100')
    .option('--seed <n>', 'seed of the exploration', '1')
    .option(
      '--faults <list>',
      `fault kinds, comma separated (${EXPLORABLE_KINDS.join(', ')}; all = those but portFault; none)`,
      'all',
    )
    .option(
      '--options <list>',
      'key=value,… : mode, quirks (on/off), scenario options, members/days/rate ranges',
    )
    .option('--shard <i/n>', 'run only shard i of n of the runs', '1/1')
    .option('--out <dir>', 'where shrunk failures are written', 'out/explore')
    .option('--max-shrink <n>', 'candidate runs spent shrinking one failure', '150')
    .option(
      '--jobs <n>',
      'threads running scenarios, this one included (default: one per core; 1 = this thread only)',
    )
    .option('--json', 'print the summary as one JSON object')
    .action(
      async (opts: {
        runs: string;
        seed: string;
        faults: string;
        options?: string;
        shard: string;
        out: string;
        maxShrink: string;
        jobs?: string;
        json?: boolean;
      }) => {
        const runs = wholeNumber('--runs', opts.runs, 1);
        const seed = wholeNumber('--seed', opts.seed, 0);
        const maxShrinkRuns = wholeNumber('--max-shrink', opts.maxShrink, 0);
        const shape = parseOptions(opts.options, parseFaults(opts.faults));
        const { explore, parseShard, shardRuns } = await import('../../explore/explorer.ts');
        const { defaultJobs, exploreInWorkers } = await import('../../explore/parallel.ts');
        let shard: ReturnType<typeof parseShard>;
        try {
          shard = parseShard(opts.shard);
        } catch (error) {
          throw new UserError(`--shard: ${(error as Error).message}`);
        }
        const mine = shardRuns(runs, shard).length;
        const jobs = opts.jobs === undefined ? defaultJobs(mine) : wholeNumber('--jobs', opts.jobs, 1);
        const bar = progressBar(
          'exploring [{bar}] {value}/{total} runs | {failures} failures | {eta_formatted} left',
        );
        let summary: Awaited<ReturnType<typeof explore>>;
        try {
          const config = {
            runs,
            seed,
            shape,
            shard,
            outDir: opts.out,
            maxShrinkRuns,
            onRun: (done: number, total: number, failures: number) => bar.update(done, total, { failures }),
          };
          summary = jobs > 1 ? await exploreInWorkers(config, jobs) : await explore(config);
        } finally {
          bar.stop();
        }
        process.stdout.write(opts.json ? `${JSON.stringify(compact(summary))}\n` : summaryText(summary));
        process.exitCode = summary.failures.length === 0 ? 0 : 1;
      },
    );

  command
    .command('merge')
    .description('Combine the JSON summaries of the shards of one exploration')
    .argument('<summaries...>', 'summary files written by `archivist explore --json`')
    .option('--json', 'print the merged summary as one JSON object')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const { mergeSummaries } = await import('../../explore/shards.ts');
      const summaries = files.map((file) => readSummary(file));
      let merged: ReturnType<typeof mergeSummaries>;
      try {
        merged = mergeSummaries(summaries);
      } catch (error) {
        throw new UserError(`explore merge: ${(error as Error).message}`);
      }
      process.stdout.write(opts.json ? `${JSON.stringify(merged)}\n` : summaryText(merged));
      process.exitCode = merged.failures.length === 0 ? 0 : 1;
    });
}

type Summary = ExploreSummary;

/** The printed JSON: each failure without its scenario body (it is in the scenario file). */
function compact(s: Summary): unknown {
  return { ...s, failures: s.failures.map(({ scenario: _scenario, ...f }) => f) };
}

function readSummary(file: string): Summary {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(`${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new UserError(`${file}: expected the JSON summary printed by \`archivist explore --json\``);
  }
  const v = value as Partial<Summary> | null;
  if (!v || typeof v !== 'object') throw new UserError(`${file}: expected a JSON object`);
  if (typeof v.runs !== 'number') throw new UserError(`${file}: runs: expected a number`);
  if (typeof v.seed !== 'number') throw new UserError(`${file}: seed: expected a number`);
  if (typeof v.shard !== 'string') throw new UserError(`${file}: shard: expected "i/n"`);
  if (!Array.isArray(v.failures)) throw new UserError(`${file}: failures: expected a list`);
  return {
    runs: v.runs,
    seed: v.seed,
    shard: v.shard,
    shards: Array.isArray(v.shards) ? v.shards : [v.shard],
    failures: v.failures,
    passed: typeof v.passed === 'number' ? v.passed : v.runs - v.failures.length,
    events: typeof v.events === 'number' ? v.events : 0,
  };
}

function summaryText(s: Summary): string {
  const lines = [
    `explored ${s.runs} runs (seed ${s.seed}, shard ${s.shard === 'merged' ? s.shards.join(' ') : s.shard}): ${s.passed} passed, ${s.failures.length} failed`,
  ];
  for (const f of s.failures) {
    lines.push(`  run ${f.run}: ${f.property} — ${f.message}`);
    lines.push(
      `    shrunk in ${f.shrinkSteps} steps to ${f.size.nodes} nodes, ${f.size.actions} timeline actions, ${f.size.days} days, ${f.size.messagesPerDay} messages/day`,
    );
    if (f.scenarioFile) lines.push(`    archivist run ${f.scenarioFile}   archivist replay ${f.tracefile}`);
  }
  return `${lines.join('\n')}\n`;
}
