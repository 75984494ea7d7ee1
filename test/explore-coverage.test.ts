// What an explored run reached (issue 12 §3, coverage across shards): the machines' states
// and transitions from XState's inspection, the fault kinds of its timeline (through the
// registry of scenarios/faults/), and the quirk switches that came to decide something;
// summed over runs and merged over shards key by key.

import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { addRun, type Coverage, coverageText, emptyCoverage, mergeCoverage } from '../explore/coverage.ts';
import { noCoverage, QUIRKS, watchCoverage } from '../explore/coverage-watch.ts';
import { edgesOf, machineUniverse, statesOf } from '../explore/machine-coverage.ts';
import { checkScenario } from '../explore/property.ts';
import { machines } from '../machines/definitions.ts';
import { FAULTS } from '../scenarios/faults/index.ts';
import { parseScenario } from '../scenarios/load.ts';
import type { ScenarioInput } from '../scenarios/schema.ts';

const library = (name: string): ScenarioInput =>
  parse(readFileSync(`scenarios/${name}.yaml`, 'utf8')) as ScenarioInput;

describe('coverage of one run', () => {
  test('the universe is every state and branch of machines/definitions.ts', () => {
    const u = machineUniverse();
    for (const m of Object.values(machines)) {
      for (const s of statesOf(m)) expect(u.states).toContain(s);
      for (const e of edgesOf(m)) expect(u.transitions).toContain(e.name);
    }
    const empty = noCoverage();
    expect(Object.keys(empty.states)).toEqual(u.states);
    expect(Object.keys(empty.faults).sort()).toEqual(FAULTS.map((k) => k.name).sort());
    expect(Object.keys(empty.quirks).sort()).toEqual([...QUIRKS].sort());
  });

  test('a plain run reaches the machines of both roles, no fault and no quirk decision', async () => {
    const { coverage } = await checkScenario(library('weekly-rounds'), { coverage: true });
    if (!coverage) throw new Error('no coverage');
    const machinesReached = new Set(coverage.states.map((s) => s.split('.')[0]));
    expect([...machinesReached].sort()).toEqual(Object.keys(machines).sort());
    expect(coverage.transitions.length).toBeGreaterThan(15);
    for (const t of coverage.transitions) expect(machineUniverse().transitions).toContain(t);
    expect(coverage.faults).toEqual([]);
    expect(coverage.quirks).toEqual([]);
    expect(coverage.states).not.toContain('node.failed');
  });

  test('fault kinds come from the timeline through the registry', async () => {
    expect(
      (await checkScenario(library('corrupt-stored-archive'), { coverage: true })).coverage?.faults,
    ).toEqual(['corruptStoredArchive']);
    expect(
      (await checkScenario(library('two-control-nodes'), { coverage: true })).coverage?.faults.sort(),
    ).toEqual(['partition', 'secondControlNode']);
  });

  test('a quirk switch is reached where it decides, whichever way it is set', async () => {
    const corrupt = await checkScenario(library('corrupt-stored-archive'), { coverage: true });
    expect(corrupt.coverage?.quirks).toEqual(['retryUndecodableForever']);
    const leave = library('leave-while-seeding');
    const off = await checkScenario(leave, { coverage: true });
    expect(off.coverage?.quirks).toEqual(['dispatchCrashOnMissingCommunity']);
    expect(off.coverage?.states).not.toContain('node.failed');
    // switched on, the same decision fails the node: its `failed` state is reached too
    const on = await checkScenario(
      { ...leave, quirks: { ...leave.quirks, dispatchCrashOnMissingCommunity: true } },
      { coverage: true },
    );
    expect(on.coverage?.quirks).toEqual(['dispatchCrashOnMissingCommunity']);
    expect(on.coverage?.states).toContain('node.failed');
  });

  test('the padding quirk is reached by an archive of an exact multiple of pieces, and only then', () => {
    const scenario = parseScenario(readFileSync('scenarios/weekly-rounds.yaml', 'utf8'), 'w.yaml');
    const round = (size: number, padding: number) => ({
      type: 'archive.roundCreated' as const,
      node: 'owner',
      t: 0,
      communityId: 'c',
      start: 0,
      end: 1,
      dropped: 0,
      archives: [{ id: 'a', from: 0, to: 1, offset: 0, size, padding, messages: 1 }],
    });
    const P = 102_400;
    const reached = (size: number, padding: number): string[] => {
      const w = watchCoverage(scenario);
      w.onSignal({} as never, round(size, padding));
      return w.finish({ faults: [], communityNames: {} } as never).quirks;
    };
    expect(reached(3 * P, P)).toEqual(['extraPaddingPiece']); // on: 2 P of bytes + a piece of zeros
    expect(reached(2 * P, 0)).toEqual(['extraPaddingPiece']); // off: 2 P of bytes, no padding
    expect(reached(2 * P, 1000)).toEqual([]);
    expect(reached(P, P - 10)).toEqual([]);
  });
});

test('the content-addressed quirks are reached where they decide, and only there', () => {
  const scenario = parseScenario(readFileSync('scenarios/weekly-rounds.yaml', 'utf8'), 'w.yaml');
  const node = { id: 'm1', adapters: { storage: { archives: () => [] } } } as never;
  const reached = (signals: Record<string, unknown>[]): string[] => {
    const w = watchCoverage(scenario);
    for (const s of signals) w.onSignal(node, { node: 'm1', communityId: 'c', ...s } as never);
    return w.finish({ faults: [], communityNames: {} } as never).quirks;
  };
  const seeded = (indexCid: string) => ({ type: 'archive.indexCidSeeded', t: 0, indexCid });
  // keeping another index than the one kept before: the unseed decision (either way)
  expect(reached([seeded('a'), seeded('b')])).toEqual(['cidInvertedUnseed']);
  expect(reached([seeded('a'), seeded('a')])).toEqual([]);
  const read = (t: number, kind?: 'cid') => ({
    type: 'archive.indexRead',
    t,
    infoHash: 'i',
    ids: [],
    ...(kind ? { kind } : {}),
  });
  const ended = (t: number) => ({ type: 'archive.taskEnded', t, status: 'timeout' });
  // an archive phase as long as the phase timer (20 s): the timer decided
  expect(reached([read(1000, 'cid'), ended(21_000)])).toEqual(['cidArchivePhaseTimeout']);
  expect(reached([read(1000, 'cid'), ended(20_999)])).toEqual([]);
  expect(reached([read(1000), ended(60_000)])).toEqual([]); // a torrent task has no such timer
});

describe('coverage of many runs', () => {
  test('runs add up per item; merging shards adds their counts key by key', () => {
    const items = { states: ['a.x', 'a.y'], transitions: ['a.x|E#0'], faults: ['crash'], quirks: ['q'] };
    const shard = (
      runs: { states: string[]; transitions: string[]; faults: string[]; quirks: string[] }[],
    ) => {
      const c = emptyCoverage(items);
      for (const r of runs) addRun(c, r);
      return c;
    };
    const one = shard([
      { states: ['a.x'], transitions: ['a.x|E#0'], faults: ['crash'], quirks: [] },
      { states: ['a.x', 'a.y'], transitions: [], faults: [], quirks: [] },
    ]);
    const two = shard([{ states: ['a.y'], transitions: [], faults: ['crash'], quirks: ['q'] }]);
    const merged: Coverage = mergeCoverage([one, two]);
    expect(merged).toEqual({
      runs: 3,
      states: { 'a.x': 2, 'a.y': 2 },
      transitions: { 'a.x|E#0': 1 },
      faults: { crash: 2 },
      quirks: { q: 1 },
    });
    const text = coverageText(merged, { faultsAsked: [] });
    expect(text).toContain('coverage over 3 runs');
    expect(text).toContain('states 2/2 (100%), transitions 1/1 (100%)');
    expect(text).toContain('fault kinds (runs injecting each): crash 2');
    expect(coverageText(emptyCoverage(items), { faultsAsked: [] })).toContain(
      'fault kinds (runs injecting each): none; not drawn: crash',
    );
    expect(coverageText(two)).toContain('not reached: a.x, a.x|E#0');
  });
});
