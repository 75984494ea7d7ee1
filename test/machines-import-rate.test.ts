// §6.3 as the reference runs it (docs/reference-behaviour.md §1, §5): one import rate
// limiter for the node, shared by its communities (burst 1: the first chunk at once), and
// the import loop's 100 ms ticker before each pass; an archive that does not decode is
// tried again on the next tick, an empty one is imported in the pass that reads it.

import { describe, expect, test } from 'vitest';
import { MINUTE, SECOND } from '../machines/options.ts';
import { expectNoViolation, ofType, seedEmptyArchive, small, WEEK } from './machines-helpers.ts';

describe('§6.3 one import rate limiter for the node', () => {
  test('two communities importing at once share the node rate: together as long as one archive of all their chunks', async () => {
    const h = await small({
      durationMs: WEEK + 10 * MINUTE,
      communities: 2,
      members: [{ joinAt: WEEK - MINUTE }],
      messagesPerDay: 40,
    });
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const importing = ofType(m, 'community.importingHistoryArchiveMessages');
    const imported = ofType(m, 'archive.archiveImported');
    expect(new Set(imported.map((s) => s.communityId)).size).toBe(2);
    const chunks = imported.map((s) => Math.ceil((s.messages + s.skipped) / 10));
    const first = Math.min(...importing.map((s) => s.t));
    const last = Math.max(...imported.map((s) => s.t));
    // one slot a second for the node: the first chunk at once, every other one a second later
    expect(last - first).toBe((chunks[0]! + chunks[1]! - 1) * SECOND);
    // each community alone would have needed (its chunks - 1) seconds: they overlapped
    expect(last - first).toBeGreaterThan(Math.max(...chunks.map((c) => (c - 1) * SECOND)));
    // the two imports alternate slots: neither finished before the other had started
    expect(Math.max(...importing.map((s) => s.t))).toBeLessThan(Math.min(...imported.map((s) => s.t)));
  });

  test('a late joiner imports its archives one after the other: each next pass at once, its first chunk a step after the last one', async () => {
    const h = await small({
      durationMs: 3 * WEEK + 20 * MINUTE,
      members: [{}, { joinAt: 3 * WEEK - MINUTE }],
    });
    await h.run();
    expectNoViolation(h);
    const late = h.members[1]!;
    const importing = ofType(late, 'community.importingHistoryArchiveMessages');
    const imported = ofType(late, 'archive.archiveImported');
    expect(imported).toHaveLength(3);
    for (let i = 0; i < 3; i++) {
      const chunks = Math.ceil(imported[i]!.messages / 10);
      // the limiter was idle before the first archive (its first chunk at once); each later
      // archive asks right after the previous one's last chunk (a step later)
      expect(imported[i]!.t - importing[i]!.t).toBe((i === 0 ? chunks - 1 : chunks) * SECOND);
      // an import of a second or more leaves a tick pending: the next pass starts at once
      if (i > 0) expect(importing[i]!.t).toBe(imported[i - 1]!.t);
    }
    // (the first finished signal is the second link's task's, cancelled in its import delay)
    expect(ofType(late, 'community.downloadingHistoryArchivesFinished').at(-1)!.t).toBe(imported[2]!.t);
  });
});

describe('§6.3 passes that take no time wait for the next 100 ms tick', () => {
  test('an empty archive is imported in the pass that reads it; the pass after finds nothing left', async () => {
    const h = await small({
      durationMs: 2 * 24 * 3600 * 1000,
      members: [{}, { communities: [] }],
      messagesPerDay: 0,
    });
    const from = Math.floor(h.start / 1000);
    h.at(3600 * 1000, () => {
      void seedEmptyArchive(h, 'm2', from, from + 3600).then((magnet) =>
        h.members[0]!.archive?.requestToJoinResponse(h.communityId, magnet),
      );
    });
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const seeding = ofType(m, 'community.historyArchivesSeeding')[0]!;
    const importing = ofType(m, 'community.importingHistoryArchiveMessages');
    const imported = ofType(m, 'archive.archiveImported');
    expect(imported).toHaveLength(1);
    expect(imported[0]).toMatchObject({ messages: 0, skipped: 0 });
    expect(importing).toHaveLength(1);
    // the import starts with the download's end (the initial delay is long over): its first
    // pass on the first tick, the archive imported in it, the next pass a tick later
    expect(importing[0]!.t - seeding.t).toBe(100);
    expect(imported[0]!.t).toBe(importing[0]!.t);
    expect(ofType(m, 'community.downloadingHistoryArchivesFinished')[0]!.t - imported[0]!.t).toBe(100);
    expect(m.adapters.storage.archives(h.communityId).every((a) => a.imported)).toBe(true);
  });

  test('an archive that does not decode is tried again 100 ms later, forever (reference quirk)', async () => {
    const h = await small({ durationMs: WEEK + 5 * MINUTE, members: [{ joinAt: WEEK - MINUTE }] });
    h.at(WEEK + MINUTE, () => {
      const m = h.members[0]!;
      const path = `/data/${h.communityId}/data`;
      m.adapters.fs.writeAtomic(path, new Uint8Array(m.adapters.fs.size(path)).fill(0xff));
    });
    await h.run();
    expectNoViolation(h);
    const failures = ofType(h.members[0]!, 'archive.importFailed');
    // the initial delay ends at WEEK + 4 min: a tick is pending, the first try is at once;
    // the ticker keeps the grid of the import's start (the download's end), so the first
    // retry comes at its next point and every later one 100 ms after the one before
    expect(failures[0]!.t).toBe(h.start + WEEK + 4 * MINUTE);
    const firstGap = failures[1]!.t - failures[0]!.t;
    expect(firstGap).toBeGreaterThan(0);
    expect(firstGap).toBeLessThanOrEqual(100);
    for (let i = 2; i < failures.length; i++) expect(failures[i]!.t - failures[i - 1]!.t).toBe(100);
    expect(failures).toHaveLength(601); // a minute of retries
  });

  test('corruptArchiveRetryMs adds a wait before the retry (the library and the explorer use 1 h)', async () => {
    const h = await small({
      durationMs: WEEK + 3 * 3600 * 1000,
      members: [{ joinAt: WEEK - MINUTE }],
      options: { corruptArchiveRetryMs: 3600 * 1000 },
    });
    h.at(WEEK + MINUTE, () => {
      const m = h.members[0]!;
      const path = `/data/${h.communityId}/data`;
      m.adapters.fs.writeAtomic(path, new Uint8Array(m.adapters.fs.size(path)).fill(0xff));
    });
    await h.run();
    const failures = ofType(h.members[0]!, 'archive.importFailed');
    // after an hour's wait a tick is pending: the retry is at once
    expect(failures.map((f) => f.t - failures[0]!.t)).toEqual([0, 3600 * 1000, 2 * 3600 * 1000]);
  });
});
