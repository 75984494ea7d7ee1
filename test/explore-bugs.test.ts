// Exploration finds a reference bug switched on, shrinks it to a small scenario and writes
// a replayable scenario file + trace; with the bug off the same runs pass. And a bounded
// exploration of small faulted worlds (every fault kind) passes, as CI runs it.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BUGS_OFF, DEFAULT_SHAPE, type ScenarioShape } from '../explore/arbitraries.ts';
import { explore, mergeSummaries } from '../explore/explorer.ts';
import { checkScenario } from '../explore/property.ts';
import { loadScenario } from '../scenarios/load.ts';
import { replayTrace } from '../scenarios/replay.ts';

const out = mkdtempSync(join(tmpdir(), 'archivist-explore-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const small = (patch: Partial<ScenarioShape>, quirks: Record<string, boolean> = {}): ScenarioShape => ({
  ...DEFAULT_SHAPE,
  members: { min: 1, max: 3 },
  days: { min: 10, max: 14 },
  rate: { min: 4, max: 20 },
  maxFaults: 3,
  ...patch,
  settings: { ...DEFAULT_SHAPE.settings, quirks: { ...BUGS_OFF, ...quirks } },
});

describe('exploration finds the count-compare "no new archives" bug with two control nodes', () => {
  const shape = (on: boolean) =>
    small({ faults: ['secondControlNode', 'offline', 'partition'] }, { noNewArchivesByCount: on });
  const RUNS = 12;

  test('bug on: found, shrunk to a small scenario, written as a replayable scenario + trace', async () => {
    const summary = await explore({
      runs: RUNS,
      seed: 5,
      shape: shape(true),
      outDir: out,
      maxFailures: 1,
      maxShrinkRuns: 60,
    });
    const f = summary.failures[0];
    expect(f, 'the bug was not found').toBeDefined();
    if (!f) return;
    expect(f.property).toBe('noMissedArchives');
    expect(f.message).toMatch(/no new archives/);
    // the minimal world: the two control nodes and one member, at most one fault, two weeks
    expect(f.scenario.nodes.map((n) => n.role).sort()).toEqual(['member', 'owner', 'owner']);
    expect(f.size.nodes).toBe(3);
    expect(f.size.actions).toBeLessThanOrEqual(2);
    expect(f.size.days).toBeLessThanOrEqual(14);
    console.log(
      `count-compare bug: run ${f.run}, ${f.shrinkSteps} shrink steps -> ${JSON.stringify(f.size)}`,
    );
    // the written scenario file fails the same way when run again…
    const again = await checkScenario(loadScenario(f.scenarioFile) as never);
    expect(again.verdict.property).toBe('noMissedArchives');
    expect(readFileSync(f.scenarioFile, 'utf8')).toContain('noNewArchivesByCount: true');
    // …and its trace replays identically
    const replay = await replayTrace(f.tracefile);
    expect(replay.identical).toBe(true);
    expect(replay.events).toBeGreaterThan(10);
  });

  test('bug off: the same runs pass', async () => {
    const summary = await explore({ runs: RUNS, seed: 5, shape: shape(false), maxShrinkRuns: 0 });
    expect(summary.failures.map((f) => `${f.run}: ${f.property} ${f.message}`)).toEqual([]);
    expect(summary.passed).toBe(RUNS);
  });
});

describe('bounded exploration (CI)', () => {
  test('200 small faulted worlds with every fault kind keep every property', async () => {
    const shape = small({
      members: { min: 1, max: 2 },
      days: { min: 10, max: 12 },
      rate: { min: 2, max: 8 },
    });
    // two shards, one after the other (as two CI jobs would), merged
    const shards = [];
    for (const index of [1, 2])
      shards.push(
        await explore({ runs: 200, seed: 2026, shape, shard: { index, count: 2 }, maxShrinkRuns: 20 }),
      );
    const merged = mergeSummaries(shards);
    expect(merged.failures.map((f) => `${f.run}: ${f.property} ${f.message}`)).toEqual([]);
    expect(merged.runs).toBe(200);
    expect(merged.passed).toBe(200);
  });
});
