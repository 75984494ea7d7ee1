// Exploration finds a reference bug switched on, shrinks it to a small scenario and writes
// a replayable scenario file + trace; with the bug off the same runs pass. And a bounded
// exploration of small faulted worlds (every fault kind) passes, as CI runs it.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { BUGS_OFF, DEFAULT_SHAPE, type ScenarioShape } from '../explore/arbitraries.ts';
import { type ExploreFailure, explore, mergeSummaries } from '../explore/explorer.ts';
import { checkScenario } from '../explore/property.ts';
import { loadScenario } from '../scenarios/load.ts';
import { replayTrace } from '../scenarios/replay.ts';
import { runScenario } from '../scenarios/runner.ts';

const DAY = 86_400_000;
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

/** Explores with a bug on until the first failure; checks it failed the property expected. */
async function findBug(
  run: { seed: number; runs: number; shape: ScenarioShape; maxShrinkRuns: number },
  property: string,
  message: RegExp,
): Promise<ExploreFailure> {
  const summary = await explore({ ...run, outDir: out, maxFailures: 1 });
  const f = summary.failures[0];
  expect(f, 'the bug was not found').toBeDefined();
  expect(f?.property).toBe(property);
  expect(f?.message).toMatch(message);
  return f as ExploreFailure;
}

/** The same exploration with the bug off: every run passes. */
async function expectAllPass(run: { seed: number; runs: number; shape: ScenarioShape }): Promise<void> {
  const summary = await explore({ ...run, maxShrinkRuns: 0 });
  expect(summary.failures.map((f) => `${f.run}: ${f.property} ${f.message}`)).toEqual([]);
  expect(summary.passed).toBe(run.runs);
}

function logShrunk(what: string, f: ExploreFailure): void {
  console.log(`${what}: run ${f.run}, ${f.shrinkSteps} shrink steps -> ${JSON.stringify(f.size)}`);
}

describe('exploration finds the count-compare "no new archives" bug with two control nodes', () => {
  const shape = (on: boolean) =>
    small({ faults: ['secondControlNode', 'offline', 'partition'] }, { noNewArchivesByCount: on });
  const RUNS = 12;

  test('bug on: found, shrunk to a small scenario, written as a replayable scenario + trace', async () => {
    const f = await findBug(
      { seed: 5, runs: RUNS, shape: shape(true), maxShrinkRuns: 60 },
      'noMissedArchives',
      /no new archives/,
    );
    // the minimal world: the two control nodes and one member, at most one fault, two weeks
    expect(f.scenario.nodes.map((n) => n.role).sort()).toEqual(['member', 'owner', 'owner']);
    expect(f.size.nodes).toBe(3);
    expect(f.size.actions).toBeLessThanOrEqual(2);
    expect(f.size.days).toBeLessThanOrEqual(14);
    logShrunk('count-compare bug', f);
    await expectReplayable(f, 'noNewArchivesByCount');
  });

  test('bug off: the same runs pass', async () => {
    await expectAllPass({ seed: 5, runs: RUNS, shape: shape(false) });
  });
});

/**
 * The written scenario file fails the same property when run again — judged by the
 * explorer, and by a plain run as `archivist run` does it (its `check:` expectation fails,
 * so the run FAILS) — and its trace replays identically.
 */
async function expectReplayable(f: ExploreFailure, quirk: string): Promise<void> {
  expect(readFileSync(f.scenarioFile, 'utf8')).toContain(`${quirk}: true`);
  const again = await checkScenario(loadScenario(f.scenarioFile) as never);
  expect(again.verdict.property).toBe(f.property);
  expect(again.verdict.message).toBe(f.message);
  const { result } = await runScenario(loadScenario(f.scenarioFile));
  expect(result.ok).toBe(false);
  expect(result.expectations.filter((e) => !e.ok).map((e) => e.text)).toEqual([
    `check ${f.property} holds (${f.message})`,
  ]);
  const replay = await replayTrace(f.tracefile);
  expect(replay.identical).toBe(true);
  expect(replay.events).toBeGreaterThan(10);
}

describe("exploration finds retry-forever on an archive that went bad on the member's disk", () => {
  // `corruptStoredArchive` damages a member's downloaded archive before its import; with
  // the quirk the import retries it (hourly, `corruptRetry`) until the next torrent.
  const shape = (on: boolean) =>
    small({ faults: ['corruptStoredArchive', 'offline'] }, { retryUndecodableForever: on });
  const RUNS = 10;

  test('bug on: found, shrunk to one member and the one fault, written as a replayable scenario + trace', async () => {
    const f = await findBug(
      { seed: 5, runs: RUNS, shape: shape(true), maxShrinkRuns: 40 },
      'noStuckImport',
      /does not decode/,
    );
    expect(f.scenario.nodes.map((n) => n.role)).toEqual(['owner', 'member']);
    expect(f.size.actions).toBe(1);
    expect(f.scenario.timeline?.[0]?.do).toBe('corruptStoredArchive');
    expect(f.size.days).toBeLessThanOrEqual(10);
    logShrunk('retry-forever bug', f);
    await expectReplayable(f, 'retryUndecodableForever');
  });

  test('bug off: the same runs pass (the archive is given up, the member moves on)', async () => {
    await expectAllPass({ seed: 5, runs: RUNS, shape: shape(false) });
  });
});

describe('exploration finds the crash on a missing community at dispatch (§5.5)', () => {
  // `slowSeeding` gives the torrent client hours to start seeding; a control node that
  // leaves its community meanwhile finds it gone at dispatch. Daily rounds (archiveInterval
  // 1d) give the fault window several seedings.
  const shape = (on: boolean) => ({
    ...small(
      {
        faults: ['slowSeeding', 'leave'],
        members: { min: 1, max: 1 },
        days: { min: 10, max: 12 },
        maxFaults: 6,
        settleMs: 3 * DAY,
      },
      { dispatchCrashOnMissingCommunity: on },
    ),
    settings: {
      ...DEFAULT_SHAPE.settings,
      options: { ...DEFAULT_SHAPE.settings.options, archiveInterval: '1d' },
      quirks: { ...BUGS_OFF, dispatchCrashOnMissingCommunity: on },
    },
  });
  const RUNS = 10;

  test('bug on: found, shrunk to the owner leaving while it seeds, written as a replayable scenario + trace', async () => {
    const f = await findBug(
      { seed: 7, runs: RUNS, shape: shape(true), maxShrinkRuns: 200 },
      'noNodeFailure',
      /^owner: dispatch: community .* not found/,
    );
    expect(f.size.nodes).toBe(2);
    // slow seeding on and off, the owner's leave and its join back
    const kinds = new Set(f.scenario.timeline?.map((a) => a.do));
    expect(kinds).toEqual(new Set(['network', 'leave', 'join']));
    expect(f.size.actions).toBeLessThanOrEqual(4);
    expect(f.size.days).toBeLessThanOrEqual(10);
    logShrunk('missing-community crash', f);
    await expectReplayable(f, 'dispatchCrashOnMissingCommunity');
  });

  test('bug off: the same runs pass (the dispatch is skipped)', async () => {
    await expectAllPass({ seed: 7, runs: RUNS, shape: shape(false) });
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
