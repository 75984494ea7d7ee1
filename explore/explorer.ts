// The explorer: run number k of an exploration with seed S draws one scenario with
// fast-check seed `runSeed(S, k)`, runs it and judges the properties; a failure is shrunk
// by fast-check to a minimal scenario that fails the same property, which is written as a
// scenario file (for `archivist run`) and its trace (for `archivist replay`), and carries
// fast-check's seed and path to it: `replayCounterexample(seed, path)` runs that very
// scenario again, as `fc.assert(…, {seed, path})` would. `--shard i/n` takes the runs k with
// k mod n = i - 1, so n machines together run exactly the runs one would;
// `mergeSummaries` adds their summaries up. Each run records what it reached
// (explore/coverage-watch.ts) into the summary's coverage.

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { CHECKS } from '../scenarios/checks.ts';
import { validateScenario } from '../scenarios/load.ts';
import { runScenario } from '../scenarios/runner.ts';
import type { ScenarioInput } from '../scenarios/schema.ts';
import {
  DEFAULT_SHAPE,
  readableScenario,
  type ScenarioShape,
  scenarioArbitrary,
  scenarioSize,
} from './arbitraries.ts';
import { addRun, type Coverage, type RunCoverage } from './coverage.ts';
import { noCoverage } from './coverage-watch.ts';
import type { PropertyName } from './properties.ts';
import { checkScenario, type Verdict } from './property.ts';
import {
  type ExploreFailure,
  type ExploreSettings,
  type ExploreSummary,
  runSeed,
  type Shard,
  shardRuns,
  summarise,
} from './shards.ts';

export * from './shards.ts';

export interface ExploreConfig {
  runs: number;
  seed: number;
  shape?: ScenarioShape;
  shard?: Shard;
  /** Where failures are written (scenario + trace); nothing is written when undefined. */
  outDir?: string;
  /** Candidate runs fast-check may spend shrinking one failure (default 150). */
  maxShrinkRuns?: number;
  /** Stop after this many failures (default: no limit). */
  maxFailures?: number;
  /** After each run of the shard: runs done, runs of the shard, failures so far. */
  onRun?: (done: number, total: number, failures: number) => void;
  /** How the exploration was asked for, kept in the summary (merges compare it). */
  settings?: ExploreSettings;
  /** Record what each run reached (default true; the summary's coverage). */
  coverage?: boolean;
}

interface Candidate {
  ok: boolean;
  property?: PropertyName;
  message?: string;
  events: number;
}

/** What one run of an exploration gave: its events, what it reached, and its shrunk failure if it failed. */
export interface RunOutcome {
  run: number;
  events: number;
  coverage?: RunCoverage;
  failure?: ExploreFailure;
}

/** What a run needs besides its number (an ExploreConfig without the run space). */
export type RunConfig = Pick<ExploreConfig, 'seed' | 'shape' | 'outDir' | 'maxShrinkRuns' | 'coverage'>;

/** The summary of a shard's outcomes, with the coverage of their runs. */
export function summaryOf(
  outcomes: readonly RunOutcome[],
  config: Pick<ExploreConfig, 'seed' | 'settings'>,
  shard: Shard,
): ExploreSummary {
  const recorded = outcomes.filter((o) => o.coverage);
  const coverage = recorded.length > 0 || outcomes.length === 0 ? noCoverage() : undefined;
  for (const o of recorded) addRun(coverage as Coverage, o.coverage as RunCoverage);
  return summarise(outcomes, {
    seed: config.seed,
    shard,
    ...(coverage ? { coverage } : {}),
    ...(config.settings ? { settings: config.settings } : {}),
  });
}

/** The scenario arbitrary of each shape, built once: every run of an exploration draws from it. */
const arbitraries = new WeakMap<ScenarioShape, ReturnType<typeof scenarioArbitrary>>();
function arbitraryOf(shape: ScenarioShape): ReturnType<typeof scenarioArbitrary> {
  let a = arbitraries.get(shape);
  if (!a) {
    a = scenarioArbitrary(shape);
    arbitraries.set(shape, a);
  }
  return a;
}

/**
 * Run `k` of an exploration: the scenario fast-check draws with seed `runSeed(seed, k)`,
 * judged on every property; a failure is shrunk and, with `outDir`, written out.
 */
export async function exploreRun(k: number, config: RunConfig): Promise<RunOutcome> {
  const arbitrary = arbitraryOf(config.shape ?? DEFAULT_SHAPE);
  const maxShrink = config.maxShrinkRuns ?? 150;
  let first: Candidate | undefined;
  let coverage: RunCoverage | undefined;
  let calls = 0;
  let last: Candidate | undefined;
  const property = fc.asyncProperty(arbitrary, async (input) => {
    calls++;
    if (first && calls > maxShrink + 1) return true; // shrinking budget spent
    // the generated scenario's run counts for coverage; the shrinking candidates do not
    const checked = await checkScenario(input, { coverage: !first && config.coverage !== false });
    const { verdict } = checked;
    if (!first) coverage = checked.coverage;
    const c: Candidate = { ok: verdict.ok, events: verdict.events };
    if (verdict.property) c.property = verdict.property;
    if (verdict.message) c.message = verdict.message;
    if (!first) {
      first = c;
      return c.ok;
    }
    // While shrinking, only a failure of the same property counts.
    if (!c.ok && c.property === first.property) {
      last = c;
      return false;
    }
    return true;
  });
  const seed = runSeed(config.seed, k);
  const details = await fc.check(property, { seed, numRuns: 1 });
  const events = first?.events ?? 0;
  const base = { run: k, events, ...(coverage ? { coverage } : {}) };
  if (!details.failed || !details.counterexample) return base;
  const failed = (last ?? first) as Candidate;
  const scenario = withCheckExpectations(
    readableScenario({
      ...(details.counterexample[0] as ScenarioInput),
      name: `explore-${config.seed}-${k}`,
    }),
  );
  const failure: ExploreFailure = {
    property: failed.property as PropertyName,
    scenarioFile: '',
    tracefile: '',
    shrinkSteps: details.numShrinks,
    run: k,
    seed,
    path: details.counterexamplePath ?? '',
    message: failed.message ?? '',
    size: scenarioSize(scenario),
    scenario,
  };
  if (config.outDir) Object.assign(failure, await writeFailure(config.outDir, scenario));
  return { ...base, failure };
}

/** What replaying a counterexample gave: the scenario at that path and its verdict. */
export interface Replayed {
  scenario: ScenarioInput;
  verdict: Verdict;
}

/**
 * The counterexample fast-check reaches from `seed` along `path` (a failure's seed and
 * path), run once and judged, without shrinking: what `fc.assert(property, {seed, path})`
 * does. `shape` must be the exploration's (the same `--faults` and `--options`).
 */
export async function replayCounterexample(
  seed: number,
  path: string,
  shape: ScenarioShape = DEFAULT_SHAPE,
): Promise<Replayed> {
  let replayed: Replayed | undefined;
  const property = fc.asyncProperty(arbitraryOf(shape), async (input) => {
    const { verdict } = await checkScenario(input);
    replayed = { scenario: input, verdict };
    return verdict.ok;
  });
  await fc.check(property, { seed, path, numRuns: 1, endOnFailure: true });
  if (!replayed) throw new RangeError(`no scenario at seed ${seed} and path "${path}"`);
  return replayed;
}

/** Runs one exploration (or one shard of it), run after run in this thread. */
export async function explore(config: ExploreConfig): Promise<ExploreSummary> {
  const shard = config.shard ?? { index: 1, count: 1 };
  const runs = shardRuns(config.runs, shard);
  const outcomes: RunOutcome[] = [];
  let failures = 0;
  for (const k of runs) {
    if (config.maxFailures !== undefined && failures >= config.maxFailures) break;
    const outcome = await exploreRun(k, config);
    outcomes.push(outcome);
    if (outcome.failure) failures++;
    config.onRun?.(outcomes.length, runs.length, failures);
  }
  return summaryOf(outcomes, config, shard);
}

/**
 * The scenario expecting every check beyond §10 the explorer judged (scenarios/checks.ts),
 * so that `archivist run` of the written file fails on the same check as the explorer did
 * (the §10 invariants fail a run by themselves).
 */
export function withCheckExpectations(scenario: ScenarioInput): ScenarioInput {
  const download = scenario.options?.download;
  const judged = CHECKS.filter(
    (c) => c !== 'noMissedArchives' || download === undefined || download === 'all',
  );
  return { ...scenario, expect: [...(scenario.expect ?? []), ...judged.map((check) => ({ check }))] };
}

/** Writes the scenario file and the trace of its run; returns their paths. */
export async function writeFailure(
  outDir: string,
  scenario: ScenarioInput,
): Promise<{ scenarioFile: string; tracefile: string }> {
  mkdirSync(outDir, { recursive: true });
  const scenarioFile = join(outDir, `${scenario.name}.yaml`);
  const tracefile = join(outDir, `${scenario.name}.trace.jsonl`);
  const header = `# ${scenario.description ?? ''}\n# Replay: archivist run ${scenarioFile}  |  archivist replay ${tracefile}\n`;
  writeFileSync(scenarioFile, header + stringify(scenario, { lineWidth: 0 }));
  // The trace of a plain run, exactly what `archivist run --trace` writes, so that
  // `archivist replay` reproduces it.
  const { traceLines } = await runScenario(validateScenario(structuredClone(scenario), scenarioFile), {
    keepTrace: true,
  });
  writeFileSync(tracefile, `${traceLines.join('\n')}\n`);
  return { scenarioFile, tracefile };
}
