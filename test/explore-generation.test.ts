// The explorer's pure parts: generated scenarios are valid scenario files whose faults all
// stop before the settle time; shards split the run space exactly; summaries merge; the
// command's flags are checked.

import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parseFaults, parseOptions } from '../cli/commands/explore.ts';
import { UserError } from '../errors/user-error.ts';
import {
  BACKENDS,
  type BackendFields,
  BUGS_OFF,
  CID_QUIRKS,
  DEFAULT_SHAPE,
  draftToScenario,
  readableScenario,
  scenarioArbitrary,
  scenarioSize,
} from '../explore/arbitraries.ts';
import { FAULT_KINDS, toTimeline } from '../explore/faults.ts';
import { type ExploreSummary, mergeSummaries, parseShard, runSeed, shardRuns } from '../explore/shards.ts';
import { validateScenario } from '../scenarios/load.ts';
import { machineOptions } from '../scenarios/run/plan.ts';

const DAY = 86_400_000;

describe('scenario arbitraries', () => {
  test('every generated scenario is a valid scenario file, also in its written (readable) form', () => {
    for (const s of fc.sample(scenarioArbitrary(), { seed: 7, numRuns: 300 })) {
      const parsed = validateScenario(structuredClone(s), 'generated.yaml');
      const again = validateScenario(readableScenario(s), 'written.yaml');
      expect(again.duration).toBe(parsed.duration);
      expect(again.timeline.map((a) => a.at)).toEqual(parsed.timeline.map((a) => a.at));
    }
  });

  test('faults stop before the settle time and each one is recovered', () => {
    for (const s of fc.sample(scenarioArbitrary(), { seed: 11, numRuns: 300 })) {
      const p = validateScenario(structuredClone(s), 'generated.yaml');
      const faultEnd = p.duration - DEFAULT_SHAPE.settleMs;
      const state = new Map<string, number>();
      for (const a of p.timeline) {
        expect(a.at).toBeLessThanOrEqual(faultEnd);
        const key = 'node' in a ? `${a.do}:${a.node}` : a.do;
        const bump = (k: string, d: number) => state.set(k, (state.get(k) ?? 0) + d);
        if (a.do === 'offline' || a.do === 'crash' || a.do === 'leave') bump(key, 1);
        if (a.do === 'online') bump(`offline:${a.node}`, -1);
        if (a.do === 'restart') bump(`crash:${a.node}`, -1);
        if (a.do === 'join') bump(`leave:${a.node}`, -1);
        if (a.do === 'protocol') bump(`protocol:${a.node}`, a.enabled ? -1 : 1);
        if (a.do === 'archiveSupport') bump(`support:${a.node}`, a.enabled ? -1 : 1);
        if (a.do === 'partition') state.set('partition', 1);
        if (a.do === 'heal') state.set('partition', 0);
        // never two crashes of one node without a restart between them
        for (const v of state.values()) expect(v === 0 || v === 1).toBe(true);
      }
      for (const [k, v] of state) expect(`${k}=${v}`).toBe(`${k}=0`);
      const last = [...p.timeline].reverse().find((a) => a.do === 'network');
      if (last?.do === 'network') {
        const c = last.conditions;
        expect(c.loss ?? 0).toBe(0);
        expect(c.duplication ?? 0).toBe(0);
        expect(c.reordering ?? 0).toBe(0);
      }
      // slow seeding ends too
      const lastSeeding = [...p.timeline]
        .reverse()
        .find((a) => a.do === 'network' && a.conditions.seedDelay !== undefined);
      if (lastSeeding?.do === 'network') expect(lastSeeding.conditions.seedDelay).toBe(0);
    }
  });

  test('each fault kind can appear, and a fault list restricts the kinds', () => {
    const seen = new Set<string>();
    for (const s of fc.sample(scenarioArbitrary(), { seed: 3, numRuns: 400 })) {
      for (const a of s.timeline ?? []) {
        seen.add(a.do);
        if (a.do === 'network' && Number(a.conditions.seedDelay ?? 0) > 0) seen.add('seedDelay');
      }
      if (s.nodes.some((n) => n.name === 'owner2')) seen.add('secondControlNode');
    }
    for (const d of ['offline', 'crash', 'partition', 'network', 'corruptPieces', 'leave', 'protocol'])
      expect(seen).toContain(d);
    for (const d of ['archiveSupport', 'forgeMagnetlink', 'replayMagnetlink', 'dispatchWithoutIndex'])
      expect(seen).toContain(d);
    expect(seen).toContain('corruptStoredArchive');
    expect(seen).toContain('seedDelay');
    expect(seen).toContain('secondControlNode');
    const onlyCrash = scenarioArbitrary({ ...DEFAULT_SHAPE, faults: ['crash'] });
    for (const s of fc.sample(onlyCrash, { seed: 5, numRuns: 100 })) {
      for (const a of s.timeline ?? []) expect(['crash', 'restart']).toContain(a.do);
      expect(s.nodes.some((n) => n.name === 'owner2')).toBe(false);
    }
  });

  test('toTimeline merges overlapping faults of one kind on one node and clamps to the window', () => {
    const nodes = [
      { name: 'owner', owner: true },
      { name: 'm1', owner: false },
    ];
    const t = toTimeline(
      [
        { kind: 'crash', at: 1 * DAY, forMs: 3 * DAY, node: 1, amount: 0 },
        { kind: 'crash', at: 2 * DAY, forMs: 9 * DAY, node: 1, amount: 0 },
        { kind: 'offline', at: 4 * DAY, forMs: 30 * DAY, node: 0, amount: 0 },
      ],
      nodes,
      'c1',
      6 * DAY,
    );
    expect(t).toEqual([
      { at: 1 * DAY, do: 'crash', node: 'm1' },
      { at: 4 * DAY, do: 'restart', node: 'm1' },
      { at: 4 * DAY, do: 'offline', node: 'owner' },
      { at: 6 * DAY, do: 'online', node: 'owner' },
    ]);
  });

  test('a draft lays out as nodes, traffic and timeline; its size counts them', () => {
    const s = draftToScenario(
      {
        seed: 4,
        members: 2,
        joinAt: [0, 24],
        secondControlNode: true,
        secondControlNodeAt: 0,
        chats: 1,
        days: 14,
        rate: 10,
        maxSize: 500,
        slowImport: [false, true, false, false],
        faults: [{ kind: 'partition', at: DAY, forMs: DAY, node: 0, amount: 0b101 }],
      },
      DEFAULT_SHAPE,
    );
    expect(s.nodes.map((n) => n.name)).toEqual(['owner', 'owner2', 'm1', 'm2']);
    expect(s.nodes[3]).toMatchObject({ joinAt: DAY, importRate: 'slow' });
    expect(s.timeline).toEqual([
      {
        at: DAY,
        do: 'partition',
        groups: [
          ['owner', 'm1'],
          ['owner2', 'm2'],
        ],
      },
      { at: 2 * DAY, do: 'heal' },
    ]);
    expect(scenarioSize(s)).toEqual({ nodes: 4, actions: 2, days: 14, messagesPerDay: 10 });
  });
});

describe('shards and summaries', () => {
  test('the shards of n split the runs exactly: every run once', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 500 }), fc.integer({ min: 1, max: 9 }), (runs, n) => {
        const all = Array.from({ length: n }, (_, i) => shardRuns(runs, { index: i + 1, count: n })).flat();
        expect(all.sort((a, b) => a - b)).toEqual(Array.from({ length: runs }, (_, k) => k));
      }),
    );
  });

  test('run seeds depend on the exploration seed and the run number', () => {
    const seeds = new Set<number>();
    for (let k = 0; k < 1000; k++) seeds.add(runSeed(1, k));
    expect(seeds.size).toBe(1000);
    expect(runSeed(1, 5)).toBe(runSeed(1, 5));
    expect(runSeed(2, 5)).not.toBe(runSeed(1, 5));
  });

  test('parseShard reads i/n and rejects the rest', () => {
    expect(parseShard('2/4')).toEqual({ index: 2, count: 4 });
    for (const bad of ['0/4', '5/4', '1/0', 'x', '1/2/3']) expect(() => parseShard(bad)).toThrow(RangeError);
  });

  const summary = (shard: string, runs: number, failedRuns: number[]): ExploreSummary => ({
    runs,
    seed: 9,
    shard,
    shards: [shard],
    passed: runs - failedRuns.length,
    events: runs * 10,
    groups: [],
    failures: failedRuns.map((run) => ({
      property: 'convergence',
      scenarioFile: `out/explore-9-${run}.yaml`,
      tracefile: `out/explore-9-${run}.trace.jsonl`,
      shrinkSteps: 3,
      run,
      seed: run * 7,
      path: '0:1',
      message: 'm1 lacks 3 archived messages',
      size: { nodes: 2, actions: 1, days: 14, messagesPerDay: 4 },
      scenario: { name: `explore-9-${run}`, duration: DAY, communities: [], nodes: [] } as never,
    })),
  });

  test('merge adds the shards up and orders failures by run', () => {
    const m = mergeSummaries([summary('2/2', 5, [7]), summary('1/2', 5, [2, 4])]);
    expect(m).toMatchObject({
      runs: 10,
      seed: 9,
      shard: 'merged',
      shards: ['1/2', '2/2'],
      passed: 7,
      events: 100,
    });
    expect(m.failures.map((f) => f.run)).toEqual([2, 4, 7]);
  });

  test('merge refuses different seeds and a shard given twice', () => {
    expect(() => mergeSummaries([summary('1/2', 5, []), { ...summary('2/2', 5, []), seed: 1 }])).toThrow(
      /seeds differ/,
    );
    expect(() => mergeSummaries([summary('1/2', 5, []), summary('1/2', 5, [])])).toThrow(/twice/);
    expect(() => mergeSummaries([])).toThrow(/nothing/);
  });
});

describe('explore flags', () => {
  test('--faults takes known kinds, all and none', () => {
    expect(parseFaults('all')).toEqual([...FAULT_KINDS]);
    expect(parseFaults('none')).toEqual([]);
    expect(parseFaults('crash,partition')).toEqual(['crash', 'partition']);
    expect(() => parseFaults('crash,meteor')).toThrow(UserError);
    expect(() => parseFaults('meteor')).toThrow(/unknown fault "meteor"/);
  });

  test('--options sets mode, quirks, scenario options and the shape', () => {
    const shape = parseOptions(
      'mode=spec,noNewArchivesByCount=on,importRate=slow,members=2..3,days=14,rate=5..6',
      ['crash'],
    );
    expect(shape.settings.mode).toBe('spec');
    expect(shape.settings.quirks).toMatchObject({
      noNewArchivesByCount: true,
      retryUndecodableForever: false,
    });
    expect(shape.settings.options).toMatchObject({ importRate: 'slow' });
    expect(shape.members).toEqual({ min: 2, max: 3 });
    expect(shape.days).toEqual({ min: 14, max: 14 });
    expect(shape.faults).toEqual(['crash']);
    for (const bad of [
      'mode=fast',
      'members=3..1',
      'noNewArchivesByCount=maybe',
      'colour=red',
      'days=5',
      'x',
    ])
      expect(() => parseOptions(bad, [])).toThrow(UserError);
  });
});

describe('the content-addressed backend in explored scenarios', () => {
  const cidKinds = ['contentMissingBlocks', 'contentCorruptBlocks', 'contentSlowProvider', 'storeNodeLeaves'];

  test('a torrent-only shape (the default) writes no backend field and no cid quirk', () => {
    for (const s of fc.sample(scenarioArbitrary(), { seed: 13, numRuns: 200 })) {
      expect('backend' in s).toBe(false);
      expect(s.quirks).toEqual(BUGS_OFF);
    }
  });

  test('a shape of every backend draws each, with the cid quirks both ways, and only cid runs carry them', () => {
    const shape = { ...DEFAULT_SHAPE, backends: BACKENDS };
    const seen = new Set<string>();
    for (const s of fc.sample(scenarioArbitrary(shape), { seed: 17, numRuns: 300 })) {
      const f = s as typeof s & BackendFields;
      const backend = f.backend ?? 'torrent';
      seen.add(backend);
      if (backend === 'torrent') {
        expect(s.quirks).toEqual(BUGS_OFF);
        continue;
      }
      expect(f.quirks).toMatchObject(BUGS_OFF);
      for (const q of CID_QUIRKS) seen.add(`${q}=${f.quirks?.[q]}`);
    }
    expect([...seen].sort()).toEqual(
      [
        'both',
        'cid',
        'torrent',
        'cidArchivePhaseTimeout=true',
        'cidArchivePhaseTimeout=false',
        'cidInvertedUnseed=true',
        'cidInvertedUnseed=false',
      ].sort(),
    );
  });

  test("the cid quirk switches of a generated run are scenario quirks, handed to the machines' options", () => {
    const shape = { ...DEFAULT_SHAPE, backends: ['cid'] as const };
    const seen = new Set<string>();
    for (const s of fc.sample(scenarioArbitrary(shape), { seed: 29, numRuns: 40 })) {
      // `backend` itself is judged by the schema's own tests; here only the quirks
      const { backend, ...rest } = s as typeof s & BackendFields;
      expect(backend).toBe('cid');
      const o = machineOptions(validateScenario(structuredClone(rest), 'generated.yaml'));
      const q = (s as BackendFields).quirks;
      expect([o.cidArchivePhaseTimeout, o.cidInvertedUnseed]).toEqual([
        q?.cidArchivePhaseTimeout,
        q?.cidInvertedUnseed,
      ]);
      seen.add(`${o.cidArchivePhaseTimeout}/${o.cidInvertedUnseed}`);
    }
    expect(seen.size).toBe(4);
  });

  test('a cid quirk the settings set is kept in every run', () => {
    const shape = {
      ...DEFAULT_SHAPE,
      backends: ['cid'] as const,
      settings: { ...DEFAULT_SHAPE.settings, quirks: { ...BUGS_OFF, cidInvertedUnseed: false } },
    };
    for (const s of fc.sample(scenarioArbitrary(shape), { seed: 19, numRuns: 50 })) {
      const f = s as typeof s & BackendFields;
      expect(f.backend).toBe('cid');
      expect(f.quirks?.cidInvertedUnseed).toBe(false);
    }
  });

  test('the content network faults are drawn when named, each recovered by the end of the window', () => {
    expect(FAULT_KINDS.filter((k) => cidKinds.includes(k))).toEqual([]);
    expect(parseFaults(cidKinds.join(','))).toEqual(cidKinds);
    // (the timeline does not depend on the backend drawn)
    const shape = { ...DEFAULT_SHAPE, faults: cidKinds };
    const seen = new Set<string>();
    for (const s of fc.sample(scenarioArbitrary(shape), { seed: 23, numRuns: 200 })) {
      const p = validateScenario(structuredClone(s), 'generated.yaml');
      const faultEnd = p.duration - DEFAULT_SHAPE.settleMs;
      const open = new Map<string, boolean>();
      for (const a of p.timeline) {
        seen.add(a.do);
        expect(a.at).toBeLessThanOrEqual(faultEnd);
        if (a.do === 'contentMissingBlocks') open.set(`missing:${a.node}`, a.blocks > 0);
        if (a.do === 'contentSlowProvider') open.set(`slow:${a.node}`, a.delay > 0);
        if (a.do === 'storeNodeLeaves') open.set(`store:${a.node}`, true);
        if (a.do === 'storeNodeJoins') open.set(`store:${a.node}`, false);
      }
      for (const [k, v] of open) expect(`${k}=${v}`).toBe(`${k}=false`);
    }
    expect([...seen].sort()).toEqual(
      [
        'contentCorruptBlocks',
        'contentMissingBlocks',
        'contentSlowProvider',
        'storeNodeJoins',
        'storeNodeLeaves',
      ].sort(),
    );
  });

  test('--options backend= and the cid quirks', () => {
    expect(parseOptions(undefined, []).backends).toEqual(['torrent']);
    expect(parseOptions('backend=cid', []).backends).toEqual(['cid']);
    expect(parseOptions('backend=both', []).backends).toEqual(['both']);
    expect(parseOptions('backend=any', []).backends).toEqual([...BACKENDS]);
    expect(parseOptions('cidArchivePhaseTimeout=off', []).settings.quirks).toMatchObject({
      cidArchivePhaseTimeout: false,
    });
    expect(() => parseOptions('backend=ipfs', [])).toThrow(/backend: expected torrent, cid, both or any/);
  });
});
