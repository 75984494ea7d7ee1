// Exploring over threads (this one and workers) runs exactly the runs of one thread, each
// with the same scenario: the summaries agree run for run, also where maxFailures stops early.

import { describe, expect, test } from 'vitest';
import { BUGS_OFF, DEFAULT_SHAPE, type ScenarioShape } from '../explore/arbitraries.ts';
import { explore } from '../explore/explorer.ts';
import { exploreInWorkers } from '../explore/parallel.ts';

const shape: ScenarioShape = {
  ...DEFAULT_SHAPE,
  members: { min: 1, max: 3 },
  days: { min: 8, max: 10 },
  rate: { min: 4, max: 10 },
  maxFaults: 2,
};

/** Two control nodes with the count-compare bug on: seed 5 fails within its first runs. */
const buggy: ScenarioShape = {
  ...shape,
  faults: ['secondControlNode', 'offline', 'partition'],
  settings: { ...DEFAULT_SHAPE.settings, quirks: { ...BUGS_OFF, noNewArchivesByCount: true } },
};

describe('explore over threads (this one and workers)', () => {
  test('two threads give the summary one thread gives (same runs, events, verdicts)', async () => {
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
    // the whole summary, coverage and failure groups included
    expect(two).toEqual(one);
    expect(one.coverage?.runs).toBe(6);
  }, 120_000);

  test('with maxFailures, two threads stop at the failure a single thread stops at', async () => {
    const config = { runs: 12, seed: 5, shape: buggy, maxShrinkRuns: 0, maxFailures: 1 };
    const one = await explore(config);
    const two = await exploreInWorkers(config, 2);
    expect(one.failures).toHaveLength(1);
    expect(two.failures.map((f) => [f.run, f.property])).toEqual(
      one.failures.map((f) => [f.run, f.property]),
    );
    expect(two.runs).toBeLessThan(12);
    expect(two).toEqual(one);
  }, 120_000);

  test('an error in any thread ends the exploration with that error', async () => {
    // the first failure cannot be written: its thread rejects, the others are stopped
    const config = { runs: 12, seed: 5, shape: buggy, maxShrinkRuns: 0, outDir: '/dev/null/explore' };
    await expect(exploreInWorkers(config, 2)).rejects.toThrow(/ENOTDIR.*\/dev\/null\/explore/);
  }, 120_000);
});
