// Splitting the run space of an exploration into shards, and adding up their summaries:
// the merge of every shard of an exploration is the summary one process gives over the
// same runs (runs, failures, their groups, events, coverage), the shard names aside.
// Pure: no simulation here (the CLI's merge and the tests load only this).

import type { ScenarioInput } from '../scenarios/schema.ts';
import type { ScenarioSize } from './arbitraries.ts';
import { type Coverage, mergeCoverage } from './coverage.ts';
import { type FailureGroup, groupFailures } from './failure-groups.ts';
import type { PropertyName } from './properties.ts';

export interface Shard {
  /** 1-based. */
  index: number;
  count: number;
}

export interface ExploreFailure {
  property: PropertyName;
  /** Written scenario file (empty when no outDir). */
  scenarioFile: string;
  /** Written trace file (empty when no outDir). */
  tracefile: string;
  shrinkSteps: number;
  /** Run number k in the seed space. */
  run: number;
  /** fast-check's seed of the run (`runSeed(seed, k)`): with `path`, replays the failure. */
  seed: number;
  /** fast-check's path to the shrunk counterexample (`archivist explore --replay seed:path`). */
  path: string;
  message: string;
  size: ScenarioSize;
  scenario: ScenarioInput;
}

/** How the exploration was asked for: shards of one exploration have the same. */
export interface ExploreSettings {
  /** Runs of the whole exploration (all shards). */
  runs: number;
  /** `--faults` and `--options` as given ("" when not). */
  faults: string;
  options: string;
  maxShrink: number;
}

export interface ExploreSummary {
  runs: number;
  failures: ExploreFailure[];
  /** The failures grouped: same property, same message but for its numbers. */
  groups: FailureGroup[];
  seed: number;
  /** "i/n", or "merged" for a merge of shards. */
  shard: string;
  /** Shards this summary covers ("i/n" each). */
  shards: string[];
  passed: number;
  /** Simulated events over all runs (not counting shrinking). */
  events: number;
  settings?: ExploreSettings;
  /** What the runs reached (explore/coverage.ts). */
  coverage?: Coverage;
  /** Shards of the exploration a merge lacks ("i/n"); absent when none is. */
  missing?: string[];
}

/** The fast-check seed of run `k` of an exploration with seed `seed` (a 32-bit mix). */
export function runSeed(seed: number, k: number): number {
  let h = (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(k + 1, 0xc2b2ae35)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x846ca68b) >>> 0;
  return (h ^ (h >>> 16)) | 0;
}

/** The run numbers a shard takes out of `runs`. */
export function shardRuns(runs: number, shard: Shard = { index: 1, count: 1 }): number[] {
  const out: number[] = [];
  for (let k = shard.index - 1; k < runs; k += shard.count) out.push(k);
  return out;
}

/** "i/n" -> Shard; throws a RangeError naming the problem. */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  if (!m) throw new RangeError(`expected i/n (e.g. 2/4), got "${text}"`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new RangeError(`expected 1 <= i <= n, got "${text}"`);
  return { index, count };
}

/** One run's share of a summary. */
export interface RunOutcomeLike {
  run: number;
  events: number;
  failure?: ExploreFailure;
}

/** The summary of the runs of one shard (outcomes in any order). */
export function summarise(
  outcomes: readonly RunOutcomeLike[],
  args: { seed: number; shard: Shard; settings?: ExploreSettings; coverage?: Coverage },
): ExploreSummary {
  const byRun = [...outcomes].sort((a, b) => a.run - b.run);
  const failures = byRun.flatMap((o) => (o.failure ? [o.failure] : []));
  const text = `${args.shard.index}/${args.shard.count}`;
  return {
    runs: byRun.length,
    failures,
    groups: groupFailures(failures),
    seed: args.seed,
    shard: text,
    shards: [text],
    passed: byRun.filter((o) => !o.failure).length,
    events: byRun.reduce((n, o) => n + o.events, 0),
    ...(args.settings ? { settings: args.settings } : {}),
    ...(args.coverage ? { coverage: mergeCoverage([args.coverage]) } : {}),
  };
}

/** Adds up the summaries of the shards of one exploration. */
export function mergeSummaries(summaries: readonly ExploreSummary[]): ExploreSummary {
  const first = summaries[0];
  if (!first) throw new RangeError('nothing to merge');
  const shards: string[] = [];
  const settings = JSON.stringify(first.settings ?? null);
  for (const s of summaries) {
    if (s.seed !== first.seed) throw new RangeError(`seeds differ: ${first.seed} and ${s.seed}`);
    if (JSON.stringify(s.settings ?? null) !== settings)
      throw new RangeError(
        `settings differ: ${JSON.stringify(first.settings ?? {})} and ${JSON.stringify(s.settings ?? {})}`,
      );
    for (const sh of s.shards ?? [s.shard]) {
      if (shards.includes(sh)) throw new RangeError(`shard ${sh} appears twice`);
      shards.push(sh);
    }
  }
  const counts = new Set(shards.map((sh) => sh.split('/')[1]));
  if (counts.size > 1) throw new RangeError(`shards of different splits: ${shards.sort().join(', ')}`);
  const n = Number([...counts][0]);
  const missing: string[] = [];
  for (let i = 1; i <= n; i++) if (!shards.includes(`${i}/${n}`)) missing.push(`${i}/${n}`);
  const byRun = (a: ExploreFailure, b: ExploreFailure) => a.run - b.run;
  const failures = summaries.flatMap((s) => s.failures).sort(byRun);
  const coverages = summaries.flatMap((s) => (s.coverage ? [s.coverage] : []));
  return {
    runs: summaries.reduce((n, s) => n + s.runs, 0),
    failures,
    groups: groupFailures(failures),
    seed: first.seed,
    shard: 'merged',
    shards: shards.sort((a, b) => Number(a.split('/')[0]) - Number(b.split('/')[0])),
    passed: summaries.reduce((n, s) => n + (s.passed ?? 0), 0),
    events: summaries.reduce((n, s) => n + (s.events ?? 0), 0),
    ...(first.settings ? { settings: first.settings } : {}),
    ...(coverages.length === summaries.length ? { coverage: mergeCoverage(coverages) } : {}),
    ...(missing.length > 0 ? { missing } : {}),
  };
}
