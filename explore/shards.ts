// Splitting the run space of an exploration into shards, and adding up their summaries.
// Pure: no simulation here (the CLI's merge and the tests load only this).

import type { ScenarioInput } from '../scenarios/schema.ts';
import type { ScenarioSize } from './arbitraries.ts';
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
  message: string;
  size: ScenarioSize;
  scenario: ScenarioInput;
}

export interface ExploreSummary {
  runs: number;
  failures: ExploreFailure[];
  seed: number;
  /** "i/n", or "merged" for a merge of shards. */
  shard: string;
  /** Shards this summary covers ("i/n" each). */
  shards: string[];
  passed: number;
  /** Simulated events over all runs (not counting shrinking). */
  events: number;
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

/** Adds up the summaries of the shards of one exploration. */
export function mergeSummaries(summaries: readonly ExploreSummary[]): ExploreSummary {
  const first = summaries[0];
  if (!first) throw new RangeError('nothing to merge');
  const shards: string[] = [];
  for (const s of summaries) {
    if (s.seed !== first.seed) throw new RangeError(`seeds differ: ${first.seed} and ${s.seed}`);
    for (const sh of s.shards ?? [s.shard]) {
      if (shards.includes(sh)) throw new RangeError(`shard ${sh} appears twice`);
      shards.push(sh);
    }
  }
  const byRun = (a: ExploreFailure, b: ExploreFailure) => a.run - b.run;
  return {
    runs: summaries.reduce((n, s) => n + s.runs, 0),
    failures: summaries.flatMap((s) => s.failures).sort(byRun),
    seed: first.seed,
    shard: 'merged',
    shards: shards.sort(),
    passed: summaries.reduce((n, s) => n + (s.passed ?? 0), 0),
    events: summaries.reduce((n, s) => n + (s.events ?? 0), 0),
  };
}
