// The monitors beyond §10 (scenarios/monitors/) and the key gate of encrypted runs, on
// hand-made signal streams: each one passes on a healthy stream and fails on the stream of
// the failure it names, with the node and the time.

import { describe, expect, it } from 'vitest';
import { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
import { MissingKeyError } from '../archive/index.ts';
import type { ArchiveSummary, NodeSignal, SignalInput } from '../machines/signals.ts';
import type { NodeAdapters } from '../ports/index.ts';
import type { HarnessNode } from '../scenarios/harness.ts';
import { creationFinishesMonitor } from '../scenarios/monitors/creation-finishes.ts';
import { importDelayMonitor } from '../scenarios/monitors/import-delay.ts';
import { firstUncovered, importedRangesMonitor } from '../scenarios/monitors/imported-ranges.ts';
import { watchMonitors } from '../scenarios/monitors/index.ts';
import { TEMPERATURE_BOUND, temperatureMonitor } from '../scenarios/monitors/temperature.ts';
import { ArchiveCatalog } from '../scenarios/run/archive-catalog.ts';
import { KeyGate } from '../scenarios/run/key-gate.ts';
import { simulatedCommunityCodec } from '../scenarios/sim-codec.ts';

const C = '0xcommunity';
const node = (id: string) => ({ id }) as HarnessNode;
const signal = (nodeId: string, t: number, s: SignalInput): NodeSignal =>
  ({ ...s, node: nodeId, t }) as NodeSignal;
const failed = (t: number, id = 'a1', reason: 'corrupt' | 'missingKey' = 'corrupt') =>
  signal('alice', t, { type: 'archive.importFailed', communityId: C, id, reason, detail: 'x' });
const imported = (nodeId: string, t: number, id: string) =>
  signal(nodeId, t, { type: 'archive.archiveImported', communityId: C, id, messages: 1, skipped: 0 });

function archive(id: string, from: number, to: number, offset = 0, size = 100): ArchiveSummary {
  return { id, from, to, offset, size, padding: 0, messages: 1 };
}

function catalogOf(archives: ArchiveSummary[]): ArchiveCatalog {
  const catalog = new ArchiveCatalog();
  catalog.onSignal(
    'owner',
    signal('owner', 1, {
      type: 'archive.roundCreated',
      communityId: C,
      start: 0,
      end: 99,
      archives,
      dropped: 0,
    }),
  );
  return catalog;
}

describe('temperature monitor (hot states)', () => {
  it('fails once a member retries more than the bound without progress, with its node and time', () => {
    const m = temperatureMonitor();
    for (let i = 0; i < TEMPERATURE_BOUND; i++) m.onSignal(node('alice'), failed(i));
    expect(m.failures()).toEqual([]);
    m.onSignal(node('alice'), failed(100));
    expect(m.failures()).toEqual([
      {
        node: 'alice',
        t: 100,
        text: expect.stringContaining(`${TEMPERATURE_BOUND + 1} hot steps without progress since t=0`),
      },
    ]);
    expect(m.highest('alice', C)).toBe(TEMPERATURE_BOUND + 1);
  });

  it('cools down on progress: retries separated by imports or downloads never reach the bound', () => {
    const m = temperatureMonitor(3);
    for (let round = 0; round < 10; round++) {
      for (let i = 0; i < 3; i++) m.onSignal(node('alice'), failed(round * 10 + i));
      m.onSignal(node('alice'), imported('alice', round * 10 + 5, `x${round}`));
    }
    m.onSignal(
      node('alice'),
      signal('alice', 200, { type: 'archive.taskEnded', communityId: C, status: 'timeout' }),
    );
    expect(m.failures()).toEqual([]);
    expect(m.highest('alice', C)).toBe(3);
    expect(m.exercised()).toBe(true);
  });

  it('counts download tasks that time out or fail, not cancelled ones', () => {
    const m = temperatureMonitor(2);
    for (const status of ['cancelled', 'cancelled', 'timeout', 'error', 'timeout'] as const)
      m.onSignal(node('bob'), signal('bob', 1, { type: 'archive.taskEnded', communityId: C, status }));
    expect(m.failures().map((f) => f.node)).toEqual(['bob']);
    expect(m.highest('bob', C)).toBe(3);
  });
});

describe('imported ranges cover the index', () => {
  it('finds the first uncovered part below a bound', () => {
    expect(firstUncovered([[0, 10]], [[0, 10]], 10)).toBeUndefined();
    expect(
      firstUncovered(
        [
          [0, 10],
          [10, 20],
        ],
        [
          [0, 5],
          [10, 20],
        ],
        20,
      ),
    ).toEqual([5, 10]);
    expect(
      firstUncovered(
        [
          [0, 10],
          [10, 20],
        ],
        [[0, 10]],
        10,
      ),
    ).toBeUndefined();
    expect(
      firstUncovered(
        [[0, 30]],
        [
          [0, 12],
          [10, 20],
        ],
        30,
      ),
    ).toEqual([20, 30]);
  });

  const catalog = catalogOf([archive('a', 0, 10), archive('b', 10, 20), archive('c', 20, 30)]);
  const indexRead = (nodeId: string) =>
    signal(nodeId, 2, { type: 'archive.indexRead', communityId: C, infoHash: 'ih', ids: ['a', 'b', 'c'] });

  it('fails when an archive is imported past one of the index it never imported', () => {
    const m = importedRangesMonitor(catalog);
    m.onSignal(node('alice'), indexRead('alice'));
    m.onSignal(node('alice'), imported('alice', 3, 'a'));
    m.onSignal(node('alice'), imported('alice', 4, 'c'));
    expect(m.failures()).toEqual([
      { node: 'alice', t: 4, text: expect.stringContaining('[1970-01-01T00:00:10Z, 1970-01-01T00:00:20Z)') },
    ]);
  });

  it('holds for imports in order, an unfinished tail included, and by time across other ids', () => {
    const m = importedRangesMonitor(
      catalogOf([archive('a', 0, 10), archive('b', 10, 20), archive('c', 20, 30), archive('ab', 0, 20)]),
    );
    m.onSignal(node('bob'), indexRead('bob'));
    m.onSignal(node('bob'), imported('bob', 3, 'a'));
    m.onSignal(node('bob'), imported('bob', 4, 'b'));
    m.onSignal(node('carol'), indexRead('carol'));
    m.onSignal(node('carol'), imported('carol', 3, 'ab'));
    m.onSignal(node('carol'), imported('carol', 4, 'c'));
    m.finish?.(10);
    expect(m.failures()).toEqual([]);
    expect(m.exercised()).toBe(true);
  });
});

describe('no import before the delay', () => {
  it('judges every import against the latest start of its node', () => {
    const m = importDelayMonitor(300_000);
    const importing = (t: number) =>
      signal('alice', t, { type: 'community.importingHistoryArchiveMessages', communityId: C });
    m.onBoot?.(node('alice'), 1000);
    m.onSignal(node('alice'), importing(301_000));
    expect(m.failures()).toEqual([]);
    m.onBoot?.(node('alice'), 400_000);
    m.onSignal(node('alice'), importing(460_000));
    expect(m.failures()).toEqual([
      { node: 'alice', t: 460_000, text: expect.stringContaining('imported 60000 ms after its start') },
    ]);
  });
});

describe('archive creation finishes', () => {
  const creating = (t: number) =>
    signal('owner', t, { type: 'community.creatingHistoryArchives', communityId: C });
  it('holds when every creation ends in created or none created', () => {
    const m = creationFinishesMonitor();
    m.onSignal(node('owner'), creating(1));
    m.onSignal(
      node('owner'),
      signal('owner', 2, { type: 'community.noHistoryArchivesCreated', communityId: C, from: 0, to: 1 }),
    );
    m.finish?.(3);
    expect(m.failures()).toEqual([]);
  });
  it('fails on a creation left open at the end or before the next one', () => {
    const m = creationFinishesMonitor();
    m.onSignal(node('owner'), creating(1));
    m.onSignal(node('owner'), creating(5));
    m.finish?.(9);
    expect(m.failures().map((f) => [f.t, f.text])).toEqual([
      [5, 'creation started at t=1 never finished before the next one'],
      [9, 'creation started at t=5 never finished'],
    ]);
  });
});

describe('monitor verdicts', () => {
  it('words the first failure, per node when asked, and "not checked" when nothing was judged', () => {
    const watch = watchMonitors({ importDelayMs: 0, catalog: new ArchiveCatalog() });
    for (let i = 0; i <= TEMPERATURE_BOUND; i++) watch.onSignal(node('alice'), failed(i));
    const nameOf = (id: string) => id.toUpperCase();
    expect(watch.verdicts(nameOf)).toMatchObject({
      temperatureBounded: expect.stringMatching(/^ALICE: 25 hot steps/),
      importedRangesCover: 'not checked',
    });
    expect(watch.verdicts(nameOf, 'BOB').temperatureBounded).toBe('ok');
  });
});

describe('key gate', () => {
  it("withholds the keys of cataloged archives only, until they arrive; restores lack earlier archives'", () => {
    const codec = simulatedCommunityCodec(new Uint8Array(32).fill(3));
    const fs = new MemoryFileSystem();
    const archiveBytes = codec.encode(new Uint8Array([1, 2, 3, 4]));
    const indexBytes = codec.encode(new Uint8Array([9, 9]));
    fs.mkdirp(`/data/${C}`);
    fs.writeAtomic(`/data/${C}/data`, archiveBytes);
    const catalog = new ArchiveCatalog();
    const gate = new KeyGate(codec, catalog, () => ({ fs, dataDir: '/data' }) as unknown as NodeAdapters);
    catalog.onSignal(
      'owner',
      signal('owner', 10, {
        type: 'archive.roundCreated',
        communityId: C,
        start: 0,
        end: 1,
        archives: [archive('a', 0, 1, 0, archiveBytes.length)],
        dropped: 0,
      }),
    );
    const alice = gate.codecFor('alice');
    expect(alice.decode(archiveBytes)).toEqual(new Uint8Array([1, 2, 3, 4]));
    gate.withhold('alice', C);
    expect(() => alice.decode(archiveBytes)).toThrow(MissingKeyError);
    expect(alice.decode(indexBytes)).toEqual(new Uint8Array([9, 9]));
    expect(gate.codecFor('bob').decode(archiveBytes)).toEqual(new Uint8Array([1, 2, 3, 4]));
    gate.arrive('alice', C);
    expect(alice.decode(archiveBytes)).toEqual(new Uint8Array([1, 2, 3, 4]));
    gate.restored('alice', [C], 11);
    expect(() => alice.decode(archiveBytes)).toThrow(MissingKeyError);
    gate.restored('alice', [C], 10);
    expect(alice.decode(archiveBytes)).toEqual(new Uint8Array([1, 2, 3, 4]));
  });
});
