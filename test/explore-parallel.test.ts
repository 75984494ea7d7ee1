// Exploring over worker threads runs exactly the runs of one thread, each with the same
// scenario: the summaries agree run for run, and sub-shards partition a shard.

import { describe, expect, test } from 'vitest';
import { DEFAULT_SHAPE, type ScenarioShape } from '../explore/arbitraries.ts';
import { explore, shardRuns } from '../explore/explorer.ts';
import { exploreInWorkers, subShard } from '../explore/parallel.ts';

const shape: ScenarioShape = {
  ...DEFAULT_SHAPE,
  members: { min: 1, max: 3 },
  days: { min: 8, max: 10 },
  rate: { min: 4, max: 10 },
  maxFaults: 2,
};

describe('explore over worker threads', () => {
  test('sub-shards of a shard partition its runs', () => {
    const shard = { index: 2, count: 3 };
    const parts = [0, 1, 2, 3].map((w) => shardRuns(50, subShard(shard, w, 4)));
    const union = parts.flat().sort((a, b) => a - b);
    expect(union).toEqual(shardRuns(50, shard));
    expect(new Set(union).size).toBe(union.length);
  });

  test('two workers give the summary one thread gives (same runs, events, verdicts)', async () => {
    const config = { runs: 6, seed: 11, shape, maxShrinkRuns: 0 };
    const one = await explore(config);
    const progress: number[] = [];
    const two = await exploreInWorkers({ ...config, onRun: (done) => progress.push(done) }, 2);
    expect(two.runs).toBe(one.runs);
    expect(two.passed).toBe(one.passed);
    expect(two.events).toBe(one.events);
    expect(two.failures.map((f) => [f.run, f.property])).toEqual(
      one.failures.map((f) => [f.run, f.property]),
    );
    expect(two.shard).toBe('1/1');
    expect(Math.max(...progress)).toBe(6);
  }, 120_000);
});
