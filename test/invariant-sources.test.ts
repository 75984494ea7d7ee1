// §10.8 per torrent source: a member's downloaded archives are judged against the latest
// index it read from the control node that created the torrent, so two control nodes with
// diverging indices (§9) are no violation, while an archive missing from the latest index
// of its own source still is.

import { expect, test } from 'vitest';
import { SimWorld } from '../adapters/sim/world.ts';
import { InvariantMonitor } from '../machines/invariants.ts';
import type { NodeSignal, SignalInput } from '../machines/signals.ts';

const C = 'c1';

function setup() {
  const world = new SimWorld({ seed: 1, startTime: Date.UTC(2026, 0, 5) });
  const nodes = ['owner', 'owner2', 'm1'].map((id) => world.addNode({ id }));
  const monitor = new InvariantMonitor({ pieceLength: 102_400, topicsOf: () => [] });
  for (const n of nodes) monitor.attach({ id: n.id, adapters: n.adapters });
  const member = nodes[2] as (typeof nodes)[number];
  let t = 0;
  const emit = (node: string, s: SignalInput) => monitor.observe({ ...s, node, t: ++t } as NodeSignal);
  const download = (id: string) => {
    member.adapters.storage.markArchiveDownloaded(C, { id, from: 0, to: 1 });
    emit('m1', { type: 'community.historyArchiveDownloaded', communityId: C, from: 0, to: 1 });
  };
  const readIndex = (infoHash: string, ids: string[]) =>
    emit('m1', { type: 'archive.indexRead', communityId: C, infoHash, ids });
  const seeded = new Map<string, string>();
  /** A node seeds a (new) torrent: it unseeds the one before (one torrent per community). */
  const seeds = (node: string, infoHash: string) => {
    const before = seeded.get(node);
    if (before) emit(node, { type: 'archive.torrentUnseeded', communityId: C, infoHash: before });
    seeded.set(node, infoHash);
    emit(node, { type: 'archive.torrentSeeded', communityId: C, infoHash });
  };
  return { monitor, download, readIndex, seeds };
}

/** Both owners seed; the member downloads a1, a2 of owner's index h1, then reads owner2's h2 (b1). */
function twoOwnersSeeded(): ReturnType<typeof setup> {
  const s = setup();
  s.seeds('owner', 'h1');
  s.seeds('owner2', 'h2');
  s.readIndex('h1', ['a1', 'a2']);
  s.download('a1');
  s.download('a2');
  s.readIndex('h2', ['b1']);
  return s;
}

test('two control nodes: archives of one owner are not judged against the other owner’s index', () => {
  const { monitor, download, readIndex, seeds } = twoOwnersSeeded();
  // owner2's index (h2, b1 only) lacks a1 and a2: no violation
  download('b1');
  seeds('owner', 'h3');
  readIndex('h3', ['a1', 'a2', 'a3']);
  download('a3');
  expect(monitor.violation).toBeUndefined();
  expect(monitor.verdicts().importedSubsetDownloaded).toBe('ok');
});

test('an archive missing from the latest index of the owner it came from is a violation', () => {
  const { monitor, readIndex, seeds } = twoOwnersSeeded();
  seeds('owner', 'h3');
  readIndex('h3', ['a1']); // the owner's newer index dropped a2
  expect(monitor.violation?.invariant).toBe('importedSubsetDownloaded');
  expect(monitor.verdicts().importedSubsetDownloaded).toMatch(
    /^m1: downloaded a2 is not in the latest index seen from owner /,
  );
});

test('one control node: downloaded ⊆ the latest index seen, as before', () => {
  const { monitor, download, readIndex, seeds } = setup();
  seeds('owner', 'h1');
  readIndex('h1', ['a1']);
  download('a1');
  seeds('m1', 'h1'); // a member seeding what it downloaded does not make it a source
  seeds('owner', 'h2');
  readIndex('h2', ['a2']);
  expect(monitor.verdicts().importedSubsetDownloaded).toMatch(
    /downloaded a1 is not in the latest index seen/,
  );
});
