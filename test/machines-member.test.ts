// protocol.md §6 (member), §7 signals and §9 spec switches, on the simulated world with
// the §10 monitors on in every run.

import { describe, expect, test } from 'vitest';
import { archiveIdOf, readIndex } from '../archive/index.ts';
import { magnetlinkClockReason } from '../machines/magnetlink-clock.ts';
import { DAY, HOUR, MINUTE, SECOND } from '../machines/options.ts';
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
    expect(s.magnetlinks).toHaveLength(2);
    expect(s.magnetlinks[1]!.magnetUri).toBe(s.magnetlinks[0]!.magnetUri);
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
    // announces again with a higher clock: the link is not yet "last seen", so it wins.
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

describe('§6.3 import and §6.4 resume', () => {
  test('§6.3 import waits the initial delay, then hands chunks of 10 at 1 chunk/s and marks the archive imported', async () => {
    const h = await small({ durationMs: 8 * DAY, members: [{ joinAt: WEEK - MINUTE }] });
    const s = await h.run();
    expectNoViolation(h);
    const m = h.members[0]!;
    const importing = ofType(m, 'community.importingHistoryArchiveMessages')[0]!;
    const imported = ofType(m, 'archive.archiveImported')[0]!;
    expect(importing.t).toBeGreaterThanOrEqual(h.start + WEEK - MINUTE + 5 * MINUTE);
    const n = imported.messages;
    expect(n).toBeGreaterThan(100);
    expect(imported.t - importing.t).toBe(Math.ceil(n / 10) * SECOND);
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
    expect(imported.t - importing.t).toBe(Math.ceil(imported.messages / 10) * 10);
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
      durationMs: WEEK + 10 * MINUTE,
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

  test('§10 past 16 MiB of data the monitor still finds a change in an old round, re-reading one old round in turn', async () => {
    // ~26 MB a week: from the third round on the monitor re-reads the newest earlier round
    // and one older round per round instead of all of `data`.
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
    expect(s.violation?.t).toBeLessThan(h.start + 7 * WEEK + SECOND);
  }, 60_000);
});
