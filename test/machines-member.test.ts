// protocol.md §6 (member), §7 signals and §9 spec switches, on the simulated world with
// the §10 monitors on in every run.

import { describe, expect, test } from 'vitest';
import { archiveIdOf, readIndex } from '../archive/index.ts';
import { createArchiveNode } from '../machines/embed.ts';
import { magnetlinkClockReason } from '../machines/magnetlink-clock.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { encodeWakuMessageArchiveIndex } from '../proto/codec.ts';
import { generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../sim/torrent-file.ts';
import {
  at,
  expectNoViolation,
  maxClockMagnetlink,
  ofType,
  publishMagnetlink,
  publishSignedMagnetlink,
  ratchet,
  small,
  WEEK,
} from './machines-helpers.ts';

const sec = (ms: number): number => Math.floor(ms / 1000);
const BOGUS = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=nothing`;

describe('§6.1 receiving a magnetlink', () => {
  test('§6.1 ignores a magnetlink with a lower clock', async () => {
    const h = await small({ durationMs: 9 * DAY });
    h.at(8 * DAY, () => {
      const first = h.summary().magnetlinks[0]!;
      publishMagnetlink(h, 'owner', h.communityKey, first.clock - 1, BOGUS);
    });
    await h.run();
    expectNoViolation(h);
    for (const m of h.members) {
      const got = ofType(m, 'archive.magnetlinkReceived');
      expect(got.at(-1)).toMatchObject({ accepted: false, reason: 'lower clock', magnetUri: BOGUS });
      expect(ofType(m, 'archive.taskStarted')).toHaveLength(1);
    }
  });

  test('§6.1 ignores a magnetlink not signed by the community key', async () => {
    const h = await small({ durationMs: 9 * DAY });
    const forger = generateCommunityKey(new Uint8Array(32).fill(5));
    h.at(8 * DAY, () => publishMagnetlink(h, 'm2', forger, h.start + 8 * DAY + 10 ** 9, BOGUS));
    await h.run();
    expectNoViolation(h);
    const m1 = h.members[0]!;
    expect(ofType(m1, 'archive.magnetlinkReceived').at(-1)).toMatchObject({
      accepted: false,
      reason: 'unknown community',
    });
    expect(ofType(m1, 'archive.taskStarted')).toHaveLength(1);
    expect(h.monitor.verdicts().onlyControlNodeDispatches).toBe('ok');
  });

  test('§6.1 ignores the last seen link (the owner announces its torrent again after a restart)', async () => {
    const h = await small({ durationMs: 11 * DAY });
    h.at(9 * DAY, () => h.crash('owner'));
    h.at(10 * DAY, () => h.restart('owner'));
    const s = await h.run();
    expectNoViolation(h);
    // within the interval the restarted owner seeds its torrent twice, and announces it twice
    // (docs/reference-behaviour.md §2)
    expect(s.magnetlinks).toHaveLength(3);
    expect(s.magnetlinks[1]!.magnetUri).toBe(s.magnetlinks[0]!.magnetUri);
    expect(s.magnetlinks[2]!.magnetUri).toBe(s.magnetlinks[0]!.magnetUri);
    for (const m of h.members) {
      expect(ofType(m, 'archive.magnetlinkReceived').at(-1)).toMatchObject({
        accepted: false,
        reason: 'last seen link',
      });
      expect(ofType(m, 'archive.taskStarted')).toHaveLength(1);
    }
  });

  test('§6.1 a member with archive support off or the protocol disabled acts on no link', async () => {
    const h = await small({
      durationMs: 9 * DAY,
      members: [{}, { archiveSupport: false }, { protocolEnabled: false }],
    });
    const s = await h.run();
    expectNoViolation(h);
    expect(s.members.map((m) => m.downloaded)).toEqual([1, 0, 0]);
    expect(ofType(h.members[2]!, 'archive.taskStarted')).toHaveLength(0);
  });

  test('§6.1 a newer link cancels the running task, which ends before the new one starts', async () => {
    // m1 downloads slowly (a 100 KiB piece takes ~50 s); the owner restarts meanwhile and
    // announces again with a higher clock: the link is not yet "last seen", so it wins. The
    // restarted owner announces twice (it seeds twice within the interval): the second
    // announcement, not "last seen" either, cancels the task the first one started.
    const h = await small({ durationMs: 8 * DAY, members: [{ downloadBps: 2_000 }, {}] });
    h.at(WEEK + 10 * SECOND, () => h.crash('owner'));
    h.at(WEEK + 20 * SECOND, () => h.restart('owner'));
    await h.run();
    expectNoViolation(h);
    const m1 = h.members[0]!;
    const events = m1.log.filter((x) => x.type === 'archive.taskStarted' || x.type === 'archive.taskEnded');
    expect(events.map((e) => (e.type === 'archive.taskEnded' ? `end:${e.status}` : 'start'))).toEqual([
      'start',
      'end:cancelled',
      'start',
      'end:cancelled',
      'start',
      'end:done',
    ]);
    expect(ofType(m1, 'archive.archiveImported')).toHaveLength(1);
    expect(h.monitor.verdicts().singleTask).toBe('ok');
  });

  test('§6.1 a request-to-join response carrying a link starts the task without the clock check', async () => {
    // The late member reads no channel history here: the response is its only link.
    const h = await small({
      durationMs: 9 * DAY,
      members: [{}, { joinAt: 7 * DAY + HOUR_AND_A_BIT }],
      options: { magnetlinkHistoryOnStart: false },
    });
    h.at(7 * DAY + HOUR_AND_A_BIT + MINUTE, () => {
      const link = h.summary().magnetlinks.at(-1)!;
      h.members[1]!.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
    });
    const s = await h.run();
    expectNoViolation(h);
    const late = h.members[1]!;
    expect(ofType(late, 'archive.taskStarted')[0]).toMatchObject({ source: 'requestToJoin' });
    expect(s.members[1]?.downloaded).toBe(1);
    expect(s.members[1]?.imported).toBe(1);
  });
});

const HOUR_AND_A_BIT = 61 * MINUTE;

describe('§6.1 a bound on the clocks a member accepts', () => {
  test('pure check: a clock past now + the bound (or past 2^53) is ignored; reference takes any clock', () => {
    const bound = { boundMagnetlinkClock: true, magnetlinkClockMaxAheadMs: DAY };
    const reference = { boundMagnetlinkClock: false, magnetlinkClockMaxAheadMs: DAY };
    const now = 1_767_571_200_000;
    expect(magnetlinkClockReason(now + DAY, undefined, now, bound)).toBeUndefined();
    expect(magnetlinkClockReason(now + DAY + 1, undefined, now, bound)).toBe('clock too far ahead');
    expect(magnetlinkClockReason(2 ** 64 - 1, undefined, now, bound)).toBe('clock too far ahead');
    expect(magnetlinkClockReason(2 ** 64 - 1, undefined, now, reference)).toBeUndefined();
    expect(magnetlinkClockReason(now - 1, now, now, bound)).toBe('lower clock');
    expect(magnetlinkClockReason(now - 1, now, now, reference)).toBe('lower clock');
    // A clock stored past the bound (before the bound was on) no longer blocks.
    expect(magnetlinkClockReason(now, 2 ** 64, now, bound)).toBeUndefined();
    expect(magnetlinkClockReason(now, 2 ** 64, now, reference)).toBe('lower clock');
  });

  for (const bounded of [false, true]) {
    test(`§6.1 ${bounded ? 'bounded: the owner-signed link with clock 2^64 - 1 is ignored, later links are not' : 'reference: an owner-signed link with clock 2^64 - 1 blocks every later link'}`, async () => {
      const h = await small({ durationMs: 15 * DAY, options: { boundMagnetlinkClock: bounded } });
      h.at(8 * DAY, () =>
        publishSignedMagnetlink(h, 'owner', maxClockMagnetlink(h.communityKey, BOGUS), sec(at(h, 8 * DAY))),
      );
      const s = await h.run();
      expectNoViolation(h);
      expect(s.rounds.length).toBeGreaterThanOrEqual(2);
      for (const m of h.members) {
        const got = ofType(m, 'archive.magnetlinkReceived');
        const poison = got.find((g) => g.magnetUri === BOGUS)!;
        const last = got.at(-1)!;
        expect(last.magnetUri).not.toBe(BOGUS);
        if (bounded) {
          expect(poison).toMatchObject({ accepted: false, reason: 'clock too far ahead' });
          expect(last).toMatchObject({ accepted: true });
        } else {
          expect(poison).toMatchObject({ accepted: true });
          expect(last).toMatchObject({ accepted: false, reason: 'lower clock' });
        }
      }
      expect(s.members.map((m) => m.downloaded)).toEqual(bounded ? [2, 2] : [1, 1]);
    });
  }
});

describe('§6.1/§9 links read from the store by a member that joins late', () => {
  for (const spec of [false, true]) {
    test(`§9 ${spec ? 'spec: waits 20 s after the last link read from the store' : 'reference: acts on each link read from the store at once, cancelling the previous task'}`, async () => {
      const h = await small({
        durationMs: 23 * DAY,
        members: [{}, { joinAt: 22 * DAY }],
        ...(spec ? { options: { magnetlinkWaitMs: 20 * SECOND } } : {}),
      });
      const s = await h.run();
      expectNoViolation(h);
      const late = h.members[1]!;
      const got = ofType(late, 'archive.magnetlinkReceived');
      expect(got.map((g) => g.accepted)).toEqual([true, true, true]);
      const ends = ofType(late, 'archive.taskEnded').map((e) => e.status);
      const started = ofType(late, 'archive.taskStarted');
      if (spec) {
        expect(started).toHaveLength(1);
        expect(started[0]!.t - got.at(-1)!.t).toBe(20 * SECOND);
        expect(ends).toEqual(['done']);
      } else {
        expect(started).toHaveLength(3);
        expect(ends).toEqual(['cancelled', 'cancelled', 'done']);
      }
      expect(s.members[1]?.downloaded).toBe(3);
      expect(h.monitor.verdicts().singleTask).toBe('ok');
    });
  }
});

describe('§6.2 download', () => {
  test('§6.2 a member offline when a link is sent misses it and catches up on the next round', async () => {
    const h = await small({ durationMs: 15 * DAY, checkConvergence: true, options: { importRate: 'fast' } });
    h.at(6 * DAY, () => h.offline('m1'));
    h.at(8 * DAY, () => h.online('m1'));
    const s = await h.run();
    expectNoViolation(h);
    expect(h.members[0]!.archive?.actor.getSnapshot().context.online).toBe(true);
    expect(ofType(h.members[0]!, 'archive.magnetlinkReceived')).toHaveLength(1);
    // round 2's link brings both archives
    expect(s.members[0]?.downloaded).toBe(2);
    expect(s.invariants.convergence).toBe('ok');
  });

  test('§6.2 metadata timeout retries once then gives up', async () => {
    const h = await small({ durationMs: 2 * DAY });
    h.at(DAY, () => h.members[0]!.archive?.requestToJoinResponse(h.communityId, BOGUS));
    await h.run();
    expectNoViolation(h);
    const m1 = h.members[0]!;
    const started = ofType(m1, 'archive.taskStarted')[0]!;
    const ended = ofType(m1, 'archive.taskEnded')[0]!;
    expect(ended.status).toBe('timeout');
    expect(ended.t - started.t).toBe(2 * 20 * SECOND);
    expect(ofType(m1, 'community.downloadingHistoryArchivesStarted')).toHaveLength(0);
  });

  test('§6.2 a torrent without an index file is malformed', async () => {
    const h = await small({ durationMs: 2 * DAY });
    h.at(DAY, () => {
      const m2 = h.members[1]!;
      const data = new Uint8Array(102_400).fill(7);
      m2.adapters.fs.mkdirp(`/data/${h.communityId}`);
      m2.adapters.fs.writeAtomic(`/data/${h.communityId}/data`, data);
      const torrent = buildTorrentFile(h.communityId, 102_400, [{ path: 'data', bytes: data }]);
      const magnet = magnetFor(parseTorrentFile(torrent).infoHash, h.communityId);
      void m2.adapters.torrent.seed(torrent, '/data').then(() => {
        h.members[0]!.archive?.requestToJoinResponse(h.communityId, magnet);
      });
    });
    await h.run();
    expectNoViolation(h);
    expect(ofType(h.members[0]!, 'archive.taskEnded')[0]).toMatchObject({ status: 'malformed' });
  });

  for (const validate of [false, true]) {
    test(`§6.2 an index entry overlapping another: ${validate ? 'validateIndex ends the task as malformed before any archive' : 'reference: imported first and retried for ever'}`, async () => {
      const h = await small({
        durationMs: WEEK + HOUR + 10 * MINUTE,
        options: { validateIndex: validate, importDelayMs: 0 },
      });
      h.at(WEEK + HOUR, () => {
        // The owner's round, with one more entry over the first archive's bytes and the
        // earliest `from`, served by m2 from a folder of its own.
        const folder = `/data/${h.communityId}`;
        const fs = h.owner.adapters.fs;
        const index = readIndex(fs, folder);
        const [, first] = [...index.archives].sort((a, b) => a[1].offset - b[1].offset)[0]!;
        const extra = {
          ...first,
          metadata: { ...first.metadata, from: first.metadata.from - 1 },
          padding: 0,
        };
        index.archives.set(archiveIdOf(extra), extra);
        const files = [
          { path: 'data', bytes: fs.read(`${folder}/data`) },
          { path: 'index', bytes: encodeWakuMessageArchiveIndex(index) },
        ];
        const m2 = h.members[1]!;
        m2.adapters.fs.mkdirp(`/forged/${h.communityId}`);
        for (const f of files) m2.adapters.fs.writeAtomic(`/forged/${h.communityId}/${f.path}`, f.bytes);
        const torrent = buildTorrentFile(h.communityId, 102_400, files);
        const magnet = magnetFor(parseTorrentFile(torrent).infoHash, h.communityId);
        void m2.adapters.torrent.seed(torrent, '/forged').then(() => {
          h.members[0]!.archive?.requestToJoinResponse(h.communityId, magnet);
        });
      });
      await h.run();
      expectNoViolation(h);
      const m1 = h.members[0]!;
      const ends = ofType(m1, 'archive.taskEnded');
      if (validate) {
        expect(ends.at(-1)).toMatchObject({ status: 'malformed' });
        expect(ends.at(-1)!.detail).toMatch(
          /the index breaks §10 invariant 3: archive 0x[0-9a-f]+ at offset 0 overlaps/,
        );
        expect(ofType(m1, 'archive.importFailed')).toHaveLength(0);
      } else {
        expect(ends).toHaveLength(1); // the owner's round; the forged task never ends
        const failed = ofType(m1, 'archive.importFailed');
        expect(failed.length).toBeGreaterThan(300); // one a second
        expect(new Set(failed.map((f) => f.id))).toEqual(new Set([failed[0]!.id]));
      }
    });
  }

  test('§6.2 a link to a torrent whose folder is another community is refused before anything is written', async () => {
    const h = await small({ durationMs: 2 * DAY });
    const other = `0x02${'ab'.repeat(32)}`;
    const data = new Uint8Array(102_400).fill(7);
    const torrent = buildTorrentFile(other, 102_400, [{ path: 'data', bytes: data }]);
    const { infoHash } = parseTorrentFile(torrent);
    h.at(DAY, () => {
      const m2 = h.members[1]!;
      m2.adapters.fs.mkdirp(`/data/${other}`);
      m2.adapters.fs.writeAtomic(`/data/${other}/data`, data);
      const magnet = magnetFor(infoHash, other);
      void m2.adapters.torrent.seed(torrent, '/data').then(() => {
        h.members[0]!.archive?.requestToJoinResponse(h.communityId, magnet);
      });
    });
    await h.run();
    expectNoViolation(h);
    const m1 = h.members[0]!;
    expect(ofType(m1, 'archive.taskEnded')[0]).toMatchObject({ status: 'malformed' });
    expect(m1.adapters.fs.exists(`/data/${other}/data`)).toBe(false);
    expect(m1.adapters.torrent.active()).not.toContain(infoHash);
  });

  test('§6.2 "no new archives" compares counts (reference quirk); with the switch off it compares ids', async () => {
    for (const quirk of [true, false]) {
      const h = await small({ durationMs: 8 * DAY, options: { countCompareNoNewArchives: quirk } });
      // m1 already knows one archive from elsewhere (another id): counts match round 1's index
      h.members[0]!.adapters.storage.markArchiveDownloaded(h.communityId, {
        id: `0x${'11'.repeat(32)}`,
        from: 1,
        to: 2,
      });
      h.members[0]!.adapters.storage.markArchiveImported(h.communityId, `0x${'11'.repeat(32)}`);
      h.at(0, () => {});
      await h.run();
      const m1 = h.members[0]!;
      const ended = ofType(m1, 'archive.taskEnded')[0]!;
      if (quirk) {
        expect(ended.status).toBe('noNewArchives');
        expect(ofType(m1, 'community.historyArchiveDownloaded')).toHaveLength(0);
      } else {
        expect(ended.status).toBe('done');
        expect(ofType(m1, 'community.historyArchiveDownloaded')).toHaveLength(1);
      }
      // the other member is unaffected
      expect(ofType(h.members[1]!, 'community.historyArchiveDownloaded')).toHaveLength(1);
    }
  });

  test('§6.2 downloads every missing archive in ascending from, by piece range, then seeds', async () => {
    const h = await small({ durationMs: 22 * DAY, members: [{}, { joinAt: 15 * DAY }] });
    h.at(15 * DAY + MINUTE, () => {
      const link = h.summary().magnetlinks.at(-1)!;
      h.members[1]!.archive?.requestToJoinResponse(h.communityId, link.magnetUri);
    });
    await h.run();
    expectNoViolation(h);
    const late = h.members[1]!;
    const d = ofType(late, 'community.historyArchiveDownloaded');
    expect(d.map((x) => x.to)).toEqual([
      sec(h.start + WEEK),
      sec(h.start + 2 * WEEK),
      sec(h.start + 3 * WEEK),
    ]);
    const types = late.log.map((x) => x.type);
    const lastDownloaded = types.lastIndexOf('community.historyArchiveDownloaded');
    expect(types.indexOf('community.downloadingHistoryArchivesStarted')).toBeLessThan(
      types.indexOf('community.historyArchiveDownloaded'),
    );
    expect(types.indexOf('community.historyArchivesSeeding', lastDownloaded)).toBeGreaterThan(lastDownloaded);
    // a member's own pieces serve others: m2 uploaded nothing it did not have, m1 keeps seeding
    expect(h.members[0]!.adapters.torrent.active()).toHaveLength(1);
    expect(h.monitor.verdicts().importedSubsetDownloaded).toBe('ok');
  });
});

describe('§6.2 counts differ but nothing is missing (reference quirk)', () => {
  for (const quirk of [true, false]) {
    test(`§6.2 a member knowing more archives than the index ${quirk ? 'still signals started and seeding, fetching nothing' : 'finds no new archives (switch off)'}`, async () => {
      const h = await small({ durationMs: WEEK + 2 * DAY, options: { signalEmptyDownload: quirk } });
      const fake = `0x${'11'.repeat(32)}`;
      h.at(WEEK + DAY, () => {
        // m1 has round 1's archive and one more the index does not list
        const m1 = h.members[0]!;
        m1.adapters.storage.markArchiveDownloaded(h.communityId, { id: fake, from: 1, to: 2 });
        m1.adapters.storage.markArchiveImported(h.communityId, fake);
        m1.archive?.requestToJoinResponse(h.communityId, h.summary().magnetlinks.at(-1)!.magnetUri);
      });
      await h.run();
      // A member can only know more archives than the latest index lists by breaking §10.8
      // (here by hand): the monitor says so at the index read; the run goes on to the end of
      // its 6 h slice, long enough for this task.
      expect(h.monitor.violation).toMatchObject({
        invariant: 'importedSubsetDownloaded',
        node: 'm1',
        message: expect.stringContaining(fake),
      });
      const m1 = h.members[0]!;
      const second = m1.log.slice(m1.log.findLastIndex((x) => x.type === 'archive.taskStarted'));
      const seq = second.filter((x) => x.type.startsWith('community.')).map((x) => x.type);
      expect(ofType(m1, 'community.historyArchiveDownloaded')).toHaveLength(1); // round 1's only
      if (quirk) {
        // (the same torrent: it stays in the client, nothing is unseeded)
        expect(seq).toEqual([
          'community.downloadingHistoryArchivesStarted',
          'community.historyArchivesSeeding',
          'community.downloadingHistoryArchivesFinished',
        ]);
        expect(second.find((x) => x.type === 'archive.taskEnded')).toMatchObject({ status: 'done' });
      } else {
        expect(seq).toEqual(['community.downloadingHistoryArchivesFinished']);
        expect(second.find((x) => x.type === 'archive.taskEnded')).toMatchObject({ status: 'noNewArchives' });
      }
    });
  }
});

describe('§6.3 the end of an import signals downloading-finished (reference quirk)', () => {
  /** m1 imports slowly (60 messages a day: ~42 chunks at 1/s); a second response with the same link cancels it. */
  async function cancelledMidImport(quirk: boolean) {
    const h = await small({
      durationMs: WEEK + DAY,
      members: 1,
      messagesPerDay: 60,
      options: { finishedOnAnyImportEnd: quirk },
    });
    h.at(WEEK + 10 * SECOND, () => {
      h.members[0]!.archive?.requestToJoinResponse(h.communityId, h.summary().magnetlinks.at(-1)!.magnetUri);
    });
    await h.run();
    expectNoViolation(h);
    return h.members[0]!;
  }

  test('§6.3 an import cancelled by a newer task signals finished before the new task starts', async () => {
    const m = await cancelledMidImport(true);
    const types = m.log.map((x) => x.type);
    const cancelledAt = types.indexOf('archive.taskEnded');
    expect(types.slice(cancelledAt - 1, cancelledAt + 2)).toEqual([
      'community.downloadingHistoryArchivesFinished',
      'archive.taskEnded',
      'archive.taskStarted',
    ]);
    // the second task finds no new archives, imports the rest of the archive and finishes again
    expect(ofType(m, 'community.downloadingHistoryArchivesFinished')).toHaveLength(2);
    expect(ofType(m, 'archive.archiveImported')).toHaveLength(1);
  });

  test('§6.3 with the switch off only an import that ran out of archives signals finished', async () => {
    const m = await cancelledMidImport(false);
    expect(ofType(m, 'community.downloadingHistoryArchivesFinished')).toHaveLength(1);
    expect(ofType(m, 'archive.taskEnded').map((e) => e.status)).toEqual(['done', 'noNewArchives']);
  });

  test('§6.3 an import that finds the node no longer a member ends with finished; one removed before its import signals nothing more', async () => {
    const h = await small({
      durationMs: WEEK + HOUR,
      members: [{ downloadBps: 2_000 }, { joinAt: WEEK - MINUTE }],
    });
    // m1 downloads slowly and is off the member list before its download ends (§6.2 step 7)
    h.at(WEEK + 5 * SECOND, () => h.members[0]!.archive?.join({ ...h.community, member: false }));
    // m2 downloads at once and waits for its initial delay: removed meanwhile (§6.3)
    h.at(WEEK + 2 * MINUTE, () => h.members[1]!.archive?.join({ ...h.community, member: false }));
    await h.run();
    expectNoViolation(h);
    const [m1, m2] = h.members as [(typeof h.members)[0], (typeof h.members)[0]];
    for (const m of [m1!, m2!]) {
      expect(ofType(m, 'community.historyArchivesSeeding')).toHaveLength(1); // downloaded
      expect(ofType(m, 'archive.taskEnded').map((e) => e.status)).toEqual(['notMember']);
      expect(ofType(m, 'archive.archiveImported')).toHaveLength(0);
    }
    expect(ofType(m1!, 'community.downloadingHistoryArchivesFinished')).toHaveLength(0);
    expect(ofType(m2!, 'community.downloadingHistoryArchivesFinished')).toHaveLength(1);
  });

  test('§6.4 a resumed import cancelled by a newer link signals finished', async () => {
    const h = await small({ durationMs: WEEK + HOUR, members: 1, messagesPerDay: 60 });
    h.at(WEEK + 2 * SECOND, () => h.crash('m1'));
    h.at(WEEK + 10 * MINUTE, () => h.restart('m1'));
    // the resumed import waits for the restarted node's initial delay; a response cancels it
    h.at(WEEK + 12 * MINUTE, () =>
      h.members[0]!.archive?.requestToJoinResponse(h.communityId, h.summary().magnetlinks.at(-1)!.magnetUri),
    );
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const started = ofType(m, 'archive.taskStarted');
    expect(started.map((x) => x.source)).toEqual(['magnetlink', 'resume', 'requestToJoin']);
    const finished = ofType(m, 'community.downloadingHistoryArchivesFinished');
    // the resume's (cancelled), then the response's task's
    expect(finished).toHaveLength(2);
    expect(finished[0]!.t).toBe(started[2]!.t);
  });
});

describe('§6.4 a node no longer a member with archives left to import', () => {
  async function restartNotMember(quirk: boolean) {
    const h = await small({ durationMs: WEEK + HOUR, members: 1, messagesPerDay: 60 });
    const log: NodeSignal[] = [];
    let node: ReturnType<typeof createArchiveNode> | undefined;
    h.at(WEEK + 2 * SECOND, () => h.crash('m1')); // mid-import: archives left to import
    h.at(WEEK + 10 * MINUTE, () => {
      const m1 = h.node('m1');
      m1.sim.restart();
      // kicked meanwhile: still joined, no longer on the member list
      node = createArchiveNode({
        nodeId: 'm1',
        adapters: m1.adapters,
        options: { ...h.options, startFailsWhenNotMember: quirk },
        communities: [{ ...h.community, member: false }],
        onSignal: (s) => log.push(s),
      });
    });
    await h.run();
    return { node: node!, log };
  }

  test('§6.4 the start fails with an error (reference quirk)', async () => {
    const { node, log } = await restartNotMember(true);
    expect(node.state()).toBe('failed');
    expect(log.map((s) => s.type)).toEqual(['archive.nodeFailed']);
    expect(log[0]).toMatchObject({
      error: expect.stringMatching(/not a member of community .* archives left to import/),
    });
  });

  test('§6.4 with the switch off the node starts and does not resume the import', async () => {
    const { node, log } = await restartNotMember(false);
    expect(node.state()).toBe('enabled');
    expect(log[0]?.type).toBe('community.historyArchivesProtocolEnabled');
    expect(log.filter((s) => s.type === 'archive.taskStarted' || s.type === 'archive.nodeFailed')).toEqual(
      [],
    );
  });
});

describe('§6.3 import and §6.4 resume', () => {
  test('§6.3 import waits the initial delay, then hands chunks of 10 at 1 chunk/s (the first at once) and marks the archive imported', async () => {
    const h = await small({ durationMs: 8 * DAY, members: [{ joinAt: WEEK - MINUTE }] });
    const s = await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const importing = ofType(m, 'community.importingHistoryArchiveMessages')[0]!;
    const imported = ofType(m, 'archive.archiveImported')[0]!;
    expect(importing.t).toBeGreaterThanOrEqual(h.start + WEEK - MINUTE + 5 * MINUTE);
    const n = imported.messages;
    expect(n).toBeGreaterThan(100);
    // the node's limiter is full when the first chunk asks: it goes at once, then one a second
    expect(imported.t - importing.t).toBe((Math.ceil(n / 10) - 1) * SECOND);
    expect(s.members[0]?.messagesImported).toBe(n);
    expect(m.adapters.storage.archives(h.communityId).every((a) => a.imported)).toBe(true);
    expect(ofType(m, 'community.downloadingHistoryArchivesFinished')[0]!.t).toBe(imported.t);
  });

  test('§6.3 the fast rate hands 100 chunks/s; the host can switch the rate', async () => {
    const h = await small({ durationMs: 8 * DAY, members: [{ importRate: 'fast' }] });
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const importing = ofType(m, 'community.importingHistoryArchiveMessages')[0]!;
    const imported = ofType(m, 'archive.archiveImported')[0]!;
    expect(imported.t - importing.t).toBe((Math.ceil(imported.messages / 10) - 1) * 10);
  });

  test('§6.4 a member that crashed during the import resumes it on restart, importing no archive twice', async () => {
    const h = await small({ durationMs: 8 * DAY, members: 1, messagesPerDay: 60 });
    let crashedAt = 0;
    h.members[0]!.archive; // booted at 0
    h.at(WEEK + 2 * SECOND, () => {
      // the import started at most a few seconds ago (chunks at 1/s over hundreds of messages)
      crashedAt = h.world.kernel.now();
      h.crash('m1');
    });
    h.at(WEEK + 10 * MINUTE, () => h.restart('m1'));
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const started = ofType(m, 'archive.taskStarted');
    expect(started.map((x) => x.source)).toEqual(['magnetlink', 'resume']);
    const imported = ofType(m, 'archive.archiveImported');
    expect(imported).toHaveLength(1);
    expect(imported[0]!.t).toBeGreaterThan(crashedAt);
    // the resumed import waited the initial delay after the restart
    const importing = ofType(m, 'community.importingHistoryArchiveMessages').at(-1)!;
    expect(importing.t).toBeGreaterThanOrEqual(h.start + WEEK + 15 * MINUTE);
  });
});

describe('§6.3 an archive that does not decode', () => {
  async function corruptBeforeImport(retryForever: boolean) {
    const h = await small({
      durationMs: WEEK + 5 * MINUTE,
      members: [{ joinAt: WEEK - MINUTE }],
      options: { retryCorruptArchiveForever: retryForever },
    });
    h.at(WEEK + MINUTE, () => {
      // the archive is downloaded (not yet imported: the import delay runs until WEEK + 4 min)
      const m = h.members[0]!;
      const path = `/data/${h.communityId}/data`;
      m.adapters.fs.writeAtomic(path, new Uint8Array(m.adapters.fs.size(path)).fill(0xff));
    });
    await h.run();
    expectNoViolation(h);
    return h.members[0]!;
  }

  test('§6.3 reference quirk: an archive failing to decode is retried forever', async () => {
    const m = await corruptBeforeImport(true);
    expect(ofType(m, 'community.historyArchiveDownloaded')).toHaveLength(1);
    const failures = ofType(m, 'archive.importFailed');
    expect(failures.length).toBeGreaterThan(100);
    expect(failures.every((f) => f.reason === 'corrupt')).toBe(true);
    expect(ofType(m, 'archive.archiveImported')).toHaveLength(0);
    expect(ofType(m, 'archive.taskEnded')).toHaveLength(0);
  });

  test('§6.3 with the quirk off the archive is skipped and the task finishes', async () => {
    const m = await corruptBeforeImport(false);
    expect(ofType(m, 'archive.importFailed')).toHaveLength(1);
    expect(ofType(m, 'archive.archiveImported')).toHaveLength(0);
    expect(ofType(m, 'archive.taskEnded')[0]).toMatchObject({ status: 'done' });
    expect(ofType(m, 'community.downloadingHistoryArchivesFinished')).toHaveLength(1);
  });
});

describe('§6.4 encrypted communities', () => {
  test('§6.4 a missing decryption key delays the import by 1 h', async () => {
    const memberCodec = ratchet();
    const h = await small({
      durationMs: WEEK + 3 * HOUR,
      codec: ratchet(),
      members: [{ joinAt: WEEK - MINUTE, codec: memberCodec }],
    });
    h.at(WEEK + MINUTE, () => {
      memberCodec.keyKnown = false; // downloaded; the key for its archive is not known yet
    });
    h.at(WEEK + 30 * MINUTE, () => {
      memberCodec.keyKnown = true;
    });
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const failed = ofType(m, 'archive.importFailed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.reason).toBe('missingKey');
    const importing = ofType(m, 'community.importingHistoryArchiveMessages')[0]!;
    expect(importing.t - failed[0]!.t).toBe(HOUR);
    expect(ofType(m, 'archive.archiveImported')).toHaveLength(1);
  });
});

describe('§7 signals', () => {
  test('§7 a member emits the download and import signals in order with their payloads', async () => {
    const h = await small({ durationMs: 8 * DAY, members: 1 });
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const seq = m.log.filter((x) => x.type.startsWith('community.')).map((x) => x.type);
    expect(seq).toEqual([
      'community.historyArchivesProtocolEnabled',
      'community.downloadingHistoryArchivesStarted',
      'community.historyArchiveDownloaded',
      'community.historyArchivesSeeding',
      'community.importingHistoryArchiveMessages',
      'community.downloadingHistoryArchivesFinished',
    ]);
    const d = ofType(m, 'community.historyArchiveDownloaded')[0]!;
    expect(d).toMatchObject({
      communityId: h.communityId,
      from: h.summary().rounds[0]!.start,
      to: h.summary().rounds[0]!.end,
    });
  });
});

describe('§9 spec switches', () => {
  test('§9 spec: a member acts 20 s after the last magnetlink', async () => {
    const h = await small({ durationMs: 8 * DAY, members: 1, options: { magnetlinkWaitMs: 20 * SECOND } });
    await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const got = ofType(m, 'archive.magnetlinkReceived')[0]!;
    const started = ofType(m, 'archive.taskStarted')[0]!;
    expect(started.t - got.t).toBe(20 * SECOND);
  });

  test('§9 download policy "latest" fetches only the newest archive', async () => {
    const h = await small({ durationMs: 40 * DAY, members: 1, options: { downloadPolicy: 'latest' } });
    h.at(9 * DAY, () => h.crash('owner'));
    h.at(39 * DAY, () => h.restart('owner'));
    await h.run();
    expectNoViolation(h);
    const d = ofType(h.members[0]!, 'community.historyArchiveDownloaded');
    expect(d.map((x) => x.to)).toEqual([sec(h.start + WEEK), sec(h.start + 39 * DAY)]);
  });

  test('§9 import "replace" deletes messages the owner never archived; "merge" keeps them', async () => {
    for (const mode of ['merge', 'replace'] as const) {
      const h = await small({
        durationMs: 8 * DAY,
        members: 1,
        checkConvergence: true,
        options: { importMode: mode, importRate: 'fast' },
      });
      const topic = chatTopic(h.chats[0]!);
      const stray = {
        sig: new Uint8Array(65),
        timestamp: sec(h.start + DAY),
        topic,
        payload: new Uint8Array(250).fill(3),
        padding: new Uint8Array(0),
        hash: new Uint8Array(32).fill(0xee),
        thirdPartyId: '',
      };
      h.members[0]!.adapters.storage.saveMessages([stray]);
      const s = await h.run();
      expectNoViolation(h);
      const holds = h.members[0]!.adapters.storage.messagesInRange(
        [topic],
        stray.timestamp,
        stray.timestamp + 1,
      ).some((x) => x.hash[0] === 0xee);
      expect(holds).toBe(mode === 'merge');
      expect(s.invariants.convergence).toBe('ok');
    }
  });
});

describe('§10 monitors', () => {
  test('§10 a rewritten data file breaks dataAppendOnly and stops the run at the round that saw it', async () => {
    const h = await small({ durationMs: 30 * DAY, members: 1 });
    h.at(8 * DAY, () => {
      const path = `/data/${h.communityId}/data`;
      const bytes = h.owner.adapters.fs.read(path).slice();
      bytes[0] = (bytes[0] ?? 0) ^ 0xff;
      h.owner.adapters.fs.writeAtomic(path, bytes);
    });
    const s = await h.run();
    expect(s.violation?.invariant).toBe('dataAppendOnly');
    expect(s.violation?.node).toBe('owner');
    expect(s.violation?.event?.type).toBe('archive.roundCreated');
    expect(s.violation?.t).toBeGreaterThanOrEqual(h.start + 2 * WEEK);
    expect(s.violation?.t).toBeLessThan(h.start + 2 * WEEK + SECOND);
    expect(s.virtualMs).toBeLessThan(30 * DAY);
  });

  test('§10 past 16 MiB of data a change in an old round is still found, at the write that made it', async () => {
    // ~26 MB a week: no round re-reads earlier data; the owner's files go through the
    // monitor's append-only watch, which compares a replacement of `data` when it happens.
    const h = await small({
      durationMs: 50 * DAY,
      members: 1,
      messagesPerDay: 2000,
      minSize: 1500,
      maxSize: 2200,
    });
    h.at(3 * WEEK + DAY, () => {
      const path = `/data/${h.communityId}/data`;
      expect(h.owner.adapters.fs.size(path)).toBeGreaterThan(16 * 2 ** 20);
      const bytes = h.owner.adapters.fs.read(path).slice();
      bytes[10] = (bytes[10] ?? 0) ^ 0xff; // inside the first round's archive
      h.owner.adapters.fs.writeAtomic(path, bytes);
    });
    const s = await h.run();
    expect(s.violation?.invariant).toBe('dataAppendOnly');
    expect(s.violation?.message).toMatch(/^bytes \[0, \d+\) of data changed/);
    expect(s.violation?.t).toBeGreaterThan(h.start + 3 * WEEK);
    expect(s.violation?.t).toBeLessThan(h.start + 4 * WEEK + SECOND);
  }, 60_000);

  test('§10 the owner-side monitors read only what each round appended', async () => {
    // Bytes read from the owner's `data`, round by round, against what the round appended.
    const reads: number[] = [];
    const h = await small({
      durationMs: 6 * WEEK,
      members: 1,
      messagesPerDay: 400,
      adaptersFor: (node) => {
        if (node.id !== 'owner') return node.adapters;
        const fs = node.adapters.fs;
        const count = (path: string, n: number): void => {
          if (path.endsWith('/data')) reads[reads.length - 1] = (reads.at(-1) ?? 0) + n;
        };
        const counted: typeof fs = {
          exists: (p) => fs.exists(p),
          size: (p) => fs.size(p),
          read: (p) => {
            const bytes = fs.read(p);
            count(p, bytes.length);
            return bytes;
          },
          readRange: (p, offset, length) => {
            count(p, length);
            return fs.readRange(p, offset, length);
          },
          writeAtomic: (p, bytes) => fs.writeAtomic(p, bytes),
          append: (p, bytes) => fs.append(p, bytes),
          mkdirp: (p) => fs.mkdirp(p),
          list: (p) => fs.list(p),
          remove: (p) => fs.remove(p),
        };
        return { ...node.adapters, fs: counted };
      },
      onSignal: (n, sig) => {
        if (n.id === 'owner' && sig.type === 'community.creatingHistoryArchives') reads.push(0);
      },
    });
    const s = await h.run();
    expectNoViolation(h);
    const rounds = s.rounds.filter((r) => r.archives > 0);
    expect(rounds.length).toBeGreaterThanOrEqual(5);
    const data = h.owner.adapters.fs.size(`/data/${h.communityId}/data`);
    const appended = ofType(h.owner, 'archive.roundCreated').map((r) =>
      r.archives.reduce((a, x) => a + x.size, 0),
    );
    for (let i = 1; i < appended.length; i++) {
      // the new archives, decoded once for invariant 4 and hashed once for invariant 2
      expect(reads[i], `round ${i + 1}`).toBeLessThanOrEqual(2 * (appended[i] ?? 0));
    }
    expect(reads.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(2 * data);
  });
});
