// `archivist explore`: random faulted scenarios against the §10 properties, shrinking a
// failure to a minimal scenario file + trace (docs/explore.md), each failure with the
// fast-check seed and path that replay it (`--replay seed:path`) and identical ones
// grouped; the shard from `--shard` or the environment of a fleet (explore/shard-env.ts);
// `--artifact` writes the JSON summary that `archivist explore merge` adds up, coverage
// included. Progress reads the wall clock but lives outside the simulated runs.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import { UserError } from '../../errors/user-error.ts';
import {
  BACKENDS,
  type Backend,
  BUGS_OFF,
  DEFAULT_SHAPE,
  type ScenarioShape,
} from '../../explore/arbitraries.ts';
import { coverageText } from '../../explore/coverage.ts';
import { EXPLORABLE_KINDS, FAULT_KINDS, type FaultKind } from '../../explore/faults.ts';
import { resolveShard, type ShardChoice } from '../../explore/shard-env.ts';
import {
  type ExploreFailure,
  type ExploreSettings,
  type ExploreSummary,
  mergeSummaries,
  type Shard,
  shardRuns,
} from '../../explore/shards.ts';
import { parseProgressEvery, parseProgressMode, progressBar, progressFlags, wallText } from '../progress.ts';

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
  'cidArchivePhaseTimeout',
  'cidInvertedUnseed',
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
 * `quirks`, or the shape of the generated worlds (members, days, rate, maxFaults, settle,
 * backend: torrent, cid, both, or any — one of the three drawn per run).
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
    } else if (key === 'backend') {
      if (value === 'any') shape.backends = [...BACKENDS];
      else if ((BACKENDS as readonly string[]).includes(value)) shape.backends = [value as Backend];
      else throw new UserError(`--options: backend: expected ${BACKENDS.join(', ')} or any, got "${value}"`);
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
        `--options: unknown key "${key}" (mode, ${QUIRK_KEYS.join(', ')}, ${Object.keys(OPTION_KEYS).join(', ')}, members, days, rate, maxFaults, settleDays, backend)`,
      );
    }
  }
  if (shape.days.min * 86_400_000 <= shape.settleMs)
    throw new UserError('--options: days: the run must be longer than the settle time');
  return shape;
}

/** `explore-2-of-4.json` from `explore-{index}-of-{count}.json`. */
export function artifactPath(template: string, shard: Shard): string {
  return template.replaceAll('{index}', String(shard.index)).replaceAll('{count}', String(shard.count));
}

/** `-1290:0:1:0` -> seed and path. */
export function parseReplay(text: string): { seed: number; path: string } {
  const m = /^(-?\d+)(?::(\d+(?::\d+)*))?$/.exec(text.trim());
  if (!m || !Number.isSafeInteger(Number(m[1])))
    throw new UserError(
      `--replay: expected seed:path as a failure prints it (e.g. -1290:0:1:0), got "${text}"`,
    );
  return { seed: Number(m[1]), path: m[2] ?? '' };
}

function writeJson(file: string, value: unknown): void {
  try {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, `${JSON.stringify(value)}\n`);
  } catch (error) {
    throw new UserError(
      `${file}: cannot write the summary (${(error as NodeJS.ErrnoException).code ?? error})`,
    );
  }
}

/** The command that replays one failure of an exploration with these settings. */
export function replayCommand(settings: ExploreSettings | undefined, seed: number, path: string): string {
  const faults = settings && settings.faults !== 'all' ? ` --faults ${settings.faults}` : '';
  const options = settings?.options ? ` --options ${settings.options}` : '';
  return `archivist explore${faults}${options} --replay ${seed}:${path}`;
}

export function register(program: Command): void {
  const command = progressFlags(
    program
      .command('explore')
      .description('Run random faulted scenarios against the §10 invariants and liveness; shrink failures')
      .option('--runs <n>', 'scenarios to run (all shards together)', '100')
      .option('--seed <n>', 'seed of the exploration', '1')
      .option(
        '--faults <list>',
        `fault kinds, comma separated (${EXPLORABLE_KINDS.join(', ')}; all = those but ${EXPLORABLE_KINDS.filter((k) => !FAULT_KINDS.includes(k)).join(', ')}; none)`,
        'all',
      )
      .option(
        '--options <list>',
        'key=value,… : mode, quirks (on/off), scenario options, members/days/rate ranges, backend (torrent, cid, both, any)',
      )
      .option(
        '--shard <i/n>',
        'run only shard i of n of the runs (default: from the environment — JOB_COMPLETION_INDEX + ARCHIVIST_SHARDS, ARCHIVIST_SHARD, CI_NODE_INDEX + CI_NODE_TOTAL, … — else 1/1)',
      )
      .option('--out <dir>', 'where shrunk failures are written', 'out/explore')
      .option('--max-shrink <n>', 'candidate runs spent shrinking one failure', '150')
      .option(
        '--jobs <n>',
        'threads running scenarios, this one included (default: one per core; 1 = this thread only)',
      )
      .option(
        '--artifact <file>',
        'write the whole summary (failures with their scenarios, coverage) as JSON for `explore merge`; {index} and {count} name the shard',
      )
      .option('--replay <seed:path>', 'run one failure again from its fast-check seed and path (as printed)')
      .option('--json', 'print the summary as one JSON object'),
  ).action(
    async (opts: {
      runs: string;
      seed: string;
      faults: string;
      options?: string;
      shard?: string;
      out: string;
      maxShrink: string;
      jobs?: string;
      artifact?: string;
      replay?: string;
      json?: boolean;
      progress: string;
      progressEvery: string;
    }) => {
      const runs = wholeNumber('--runs', opts.runs, 1);
      const seed = wholeNumber('--seed', opts.seed, 0);
      const maxShrinkRuns = wholeNumber('--max-shrink', opts.maxShrink, 0);
      const shape = parseOptions(opts.options, parseFaults(opts.faults));
      const mode = parseProgressMode(opts.progress);
      const everyMs = parseProgressEvery(opts.progressEvery);
      const settings: ExploreSettings = {
        runs,
        faults: opts.faults,
        options: opts.options ?? '',
        maxShrink: maxShrinkRuns,
      };
      if (opts.replay !== undefined) {
        await replay(parseReplay(opts.replay), shape, opts.out, opts.json === true);
        return;
      }
      let choice: ShardChoice;
      try {
        choice = resolveShard(opts.shard);
      } catch (error) {
        throw new UserError(`${opts.shard !== undefined ? '--shard: ' : ''}${(error as Error).message}`);
      }
      const { shard } = choice;
      const { explore } = await import('../../explore/explorer.ts');
      const { defaultJobs, exploreInWorkers } = await import('../../explore/parallel.ts');
      const mine = shardRuns(runs, shard).length;
      const jobs = opts.jobs === undefined ? defaultJobs(mine) : wholeNumber('--jobs', opts.jobs, 1);
      const bar = progressBar({
        mode,
        everyMs,
        command: 'explore',
        barFormat: 'exploring [{bar}] {value}/{total} runs | {failures} failures | {eta_formatted} left',
        line: (done, total, fields, wall) =>
          `explored ${done} of ${total} runs of shard ${shard.index}/${shard.count}, ${fields.failures} failed, ${wallText(wall.elapsedMs)} wall${wall.etaMs !== undefined ? `, ~${wallText(wall.etaMs)} left` : ''}`,
      });
      let summary: ExploreSummary;
      try {
        const config = {
          runs,
          seed,
          shape,
          shard,
          outDir: opts.out,
          maxShrinkRuns,
          settings,
          onRun: (done: number, total: number, failures: number) => bar.update(done, total, { failures }),
        };
        summary = jobs > 1 ? await exploreInWorkers(config, jobs) : await explore(config);
      } finally {
        bar.stop();
      }
      if (opts.artifact) writeJson(artifactPath(opts.artifact, shard), summary);
      process.stdout.write(
        opts.json
          ? `${JSON.stringify(compact(summary))}\n`
          : summaryText(
              summary,
              choice.from !== 'default' && choice.from !== '--shard' ? choice.from : undefined,
            ),
      );
      process.exitCode = summary.failures.length === 0 ? 0 : 1;
    },
  );

  command
    .command('merge')
    .description('Combine the JSON summaries of the shards of one exploration (and their coverage)')
    .argument('<summaries...>', 'summary files written by `archivist explore --artifact` (or --json)')
    // not --artifact: the parent command's options are recognised after `merge` too
    .option('--save <file>', 'write the merged summary as JSON (an artefact like the shards’)')
    .option('--json', 'print the merged summary as one JSON object')
    .action(async (files: string[], opts: { json?: boolean; save?: string }) => {
      const summaries = files.map((file) => readSummary(file));
      let merged: ExploreSummary;
      try {
        merged = mergeSummaries(summaries);
      } catch (error) {
        throw new UserError(`explore merge: ${(error as Error).message}`);
      }
      if (merged.missing)
        process.stderr.write(
          `archivist: explore merge: shard${merged.missing.length > 1 ? 's' : ''} ${merged.missing.join(', ')} missing: the summary covers part of the exploration\n`,
        );
      if (opts.save) writeJson(opts.save, merged);
      process.stdout.write(opts.json ? `${JSON.stringify(compact(merged))}\n` : summaryText(merged));
      process.exitCode = merged.failures.length === 0 ? 0 : 1;
    });
}

/** `--replay seed:path`: the counterexample run once more, judged, written out. */
async function replay(
  at: { seed: number; path: string },
  shape: ScenarioShape,
  outDir: string,
  json: boolean,
): Promise<void> {
  const { readableScenario, scenarioSize } = await import('../../explore/arbitraries.ts');
  const { replayCounterexample, withCheckExpectations, writeFailure } = await import(
    '../../explore/explorer.ts'
  );
  let replayed: Awaited<ReturnType<typeof replayCounterexample>>;
  try {
    replayed = await replayCounterexample(at.seed, at.path, shape);
  } catch (error) {
    if (error instanceof RangeError) throw new UserError(`--replay: ${error.message}`);
    throw error;
  }
  const { verdict } = replayed;
  const name = `explore-replay-${at.seed < 0 ? `m${-at.seed}` : at.seed}`;
  const scenario = withCheckExpectations(readableScenario({ ...replayed.scenario, name }));
  const written = await writeFailure(outDir, scenario);
  const size = scenarioSize(scenario);
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ seed: at.seed, path: at.path, ok: verdict.ok, property: verdict.property, message: verdict.message, size, ...written })}\n`,
    );
  } else {
    const lines = [
      `replayed seed ${at.seed} path ${at.path || '(none)'}: ${verdict.ok ? 'passed' : `FAILED ${verdict.property} — ${verdict.message}`}`,
      `  ${size.nodes} nodes, ${size.actions} timeline actions, ${size.days} days, ${size.messagesPerDay} messages/day`,
      `  archivist run ${written.scenarioFile}   archivist replay ${written.tracefile}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  }
  process.exitCode = verdict.ok ? 0 : 1;
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
    throw new UserError(`${file}: expected the JSON summary written by \`archivist explore --artifact\``);
  }
  const v = value as Partial<Summary> | null;
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new UserError(`${file}: expected a JSON object`);
  if (typeof v.runs !== 'number') throw new UserError(`${file}: runs: expected a number`);
  if (typeof v.seed !== 'number') throw new UserError(`${file}: seed: expected a number`);
  if (typeof v.shard !== 'string') throw new UserError(`${file}: shard: expected "i/n"`);
  if (!Array.isArray(v.failures)) throw new UserError(`${file}: failures: expected a list`);
  v.failures.forEach((f, i) => {
    if (!f || typeof f !== 'object' || typeof f.run !== 'number' || typeof f.property !== 'string')
      throw new UserError(`${file}: failures[${i}]: expected a failure with run and property`);
  });
  return {
    runs: v.runs,
    seed: v.seed,
    shard: v.shard,
    shards: Array.isArray(v.shards) ? v.shards : [v.shard],
    failures: v.failures,
    groups: Array.isArray(v.groups) ? v.groups : [],
    passed: typeof v.passed === 'number' ? v.passed : v.runs - v.failures.length,
    events: typeof v.events === 'number' ? v.events : 0,
    ...(v.settings ? { settings: v.settings } : {}),
    ...(v.coverage ? { coverage: v.coverage } : {}),
  };
}

function summaryText(s: Summary, shardFrom?: string): string {
  const where = s.shard === 'merged' ? s.shards.join(' ') : s.shard;
  const distinct = s.groups.length;
  const lines = [
    `explored ${s.runs} runs (seed ${s.seed}, shard ${where}${shardFrom ? ` from ${shardFrom}` : ''}): ${s.passed} passed, ${s.failures.length} failed${s.failures.length > 0 ? ` — ${distinct} distinct failure${distinct === 1 ? '' : 's'}` : ''}`,
  ];
  const byRun = new Map(s.failures.map((f) => [f.run, f]));
  for (const g of s.groups) {
    // the group once, its smallest failure in full, every other one by its seed and path
    lines.push(`  ${g.count}× ${g.property}: ${g.signature}`);
    const f = byRun.get(g.smallest);
    if (f) {
      lines.push(
        `    run ${f.run} (seed ${f.seed}, path ${f.path || '-'})${g.count > 1 ? ', the smallest' : ''}: ${f.message}`,
      );
      lines.push(
        `      shrunk in ${f.shrinkSteps} steps to ${f.size.nodes} nodes, ${f.size.actions} timeline actions, ${f.size.days} days, ${f.size.messagesPerDay} messages/day`,
      );
      if (f.scenarioFile)
        lines.push(`      archivist run ${f.scenarioFile}   archivist replay ${f.tracefile}`);
      lines.push(`      ${replayCommand(s.settings, f.seed, f.path)}`);
    }
    const others = g.runs
      .filter((r) => r !== g.smallest)
      .flatMap((r) => (byRun.has(r) ? [byRun.get(r) as ExploreFailure] : []));
    for (const o of others)
      lines.push(
        `    run ${o.run}: --replay ${o.seed}:${o.path}${o.scenarioFile ? `   ${o.scenarioFile}` : ''}`,
      );
  }
  const out = `${lines.join('\n')}\n`;
  return s.coverage
    ? out + coverageText(s.coverage, s.settings ? { faultsAsked: faultsOf(s.settings) } : {})
    : out;
}

/** The fault kinds an exploration's `--faults` drew from (for the coverage's "not drawn"). */
function faultsOf(settings: ExploreSettings): string[] {
  try {
    return parseFaults(settings.faults);
  } catch {
    return [];
  }
}
