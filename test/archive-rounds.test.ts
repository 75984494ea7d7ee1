// The archive format over the FileSystem port: rounds appended to a community folder.
// Properties over random traffic and round boundaries: `data` is append-only, earlier
// pieces keep their hashes, the incremental piece hashes equal a full re-hash, every
// message of a round's range is in exactly one archive (unless dropped), and the folder
// verifies.

import { createHash } from 'node:crypto';
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
import {
  type ArchiveCodec,
  ArchiveFormatError,
  communityFolder,
  createArchiveRound,
  extractArchive,
  indexEntriesByFrom,
  MissingKeyError,
  magnetFromTorrent,
  parseTorrentFile,
  readArchiveMessages,
  readIndex,
  TorrentFormatError,
  torrentPath,
  UnknownArchiveError,
  verifyCommunityFolder,
} from '../archive/index.ts';
import type { FileSystem } from '../ports/filesystem.ts';
import { toHex } from '../proto/hex.ts';
import type { WakuMessage } from '../proto/types.ts';

const C = '0x02aa';
const topicA = new Uint8Array([1, 2, 3, 4]);
const topicB = new Uint8Array([5, 6, 7, 8]);

function msg(timestamp: number, payloadLength: number, n: number, topic = topicA): WakuMessage {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, n);
  return {
    sig: new Uint8Array(65).fill(7),
    timestamp,
    topic,
    payload: new Uint8Array(payloadLength).fill(n & 0xff),
    padding: new Uint8Array(0),
    hash,
    thirdPartyId: n % 5 === 0 ? `third-${n}` : '',
  };
}

function round(
  fs: FileSystem,
  messages: WakuMessage[],
  start: number,
  end: number,
  options = {},
  codec?: ArchiveCodec,
) {
  return createArchiveRound(fs, {
    dataDir: '/data',
    torrentDir: '/torrents',
    communityId: C,
    topics: [topicA],
    messages,
    start,
    end,
    options: { pieceLength: 256, interval: 100, ...options },
    ...(codec ? { codec } : {}),
  });
}

const folder = communityFolder('/data', C);
const tPath = torrentPath('/torrents', C);

function pieceHashesOf(fs: FileSystem, P: number): string[] {
  const bytes = Buffer.concat([fs.read(`${folder}/data`), fs.read(`${folder}/index`)]);
  const out: string[] = [];
  for (let p = 0; p < bytes.length; p += P)
    out.push(
      createHash('sha1')
        .update(bytes.subarray(p, p + P))
        .digest('hex'),
    );
  return out;
}

const trafficArb = fc.array(
  fc.record({
    t: fc.integer({ min: 0, max: 999 }),
    len: fc.integer({ min: 0, max: 700 }),
    onA: fc.boolean(),
  }),
  { maxLength: 60 },
);

describe('rounds over random traffic and boundaries', () => {
  fcTest.prop(
    [trafficArb, fc.uniqueArray(fc.integer({ min: 1, max: 999 }), { maxLength: 6 }), fc.boolean()],
    {
      numRuns: 60,
    },
  )(
    'append-only data, stable pieces, incremental = full hashing, every message archived once',
    (traffic, cuts, quirk) => {
      const P = 256;
      const messages = traffic.map((x, n) => msg(x.t, x.len, n, x.onA ? topicA : topicB));
      const fs = new MemoryFileSystem();
      const bounds = [0, ...[...cuts].sort((a, b) => a - b), 1000];
      let prevData: Uint8Array = new Uint8Array(0);
      let prevPieces: string[] = [];
      const archived = new Map<string, number>();
      let dropped = 0;
      for (let r = 0; r + 1 < bounds.length; r++) {
        const [start, end] = [bounds[r]!, bounds[r + 1]!];
        const res = round(fs, messages, start, end, { maxArchiveBytes: 1000, extraPaddingPiece: quirk });
        dropped += res.dropped;
        if (!fs.exists(`${folder}/data`)) {
          expect(res.archives).toEqual([]);
          expect(res.infoHash).toBeUndefined();
          continue;
        }
        const data = fs.read(`${folder}/data`);
        // 1. data only grows and starts with the previous round's bytes.
        expect(data.length).toBeGreaterThanOrEqual(prevData.length);
        expect(Buffer.compare(Buffer.from(data.subarray(0, prevData.length)), Buffer.from(prevData))).toBe(0);
        // 2. + incremental hashing: the torrent's pieces are the pieces of the files, and
        // the pieces of earlier archives kept their hashes.
        const torrent = parseTorrentFile(fs.read(tPath));
        const pieces = pieceHashesOf(fs, P);
        expect(torrent.pieceHashes.map((h) => Buffer.from(h).toString('hex'))).toEqual(pieces);
        expect(res.infoHash).toBe(torrent.infoHash);
        expect(res.magnet).toBe(magnetFromTorrent(fs.read(tPath)));
        const stable = prevData.length / P;
        expect(pieces.slice(0, stable)).toEqual(prevPieces.slice(0, stable));
        // 3. layout, decoding, padding.
        const report = verifyCommunityFolder(fs, folder, fs.read(tPath));
        expect(report.problems).toEqual([]);
        expect(report.ok).toBe(true);
        for (const a of res.archives) {
          expect(a.from).toBeGreaterThanOrEqual(start);
          expect(a.to).toBeLessThanOrEqual(end);
          for (const m of extractArchive(fs, folder, a.id)) {
            const h = toHex(m.hash);
            archived.set(h, (archived.get(h) ?? 0) + 1);
            expect(m.timestamp).toBeGreaterThanOrEqual(a.from);
            expect(m.timestamp).toBeLessThan(a.to);
          }
        }
        prevData = data;
        prevPieces = pieces;
      }
      // 4. every message on the topic is in exactly one archive, unless dropped for size.
      const expected = messages.filter((m) => m.topic === topicA && m.payload.length + m.sig.length <= 1000);
      expect(dropped).toBe(messages.filter((m) => m.topic === topicA).length - expected.length);
      expect([...archived.values()].every((n) => n === 1)).toBe(true);
      expect([...archived.keys()].sort()).toEqual(expected.map((m) => toHex(m.hash)).sort());
    },
  );
});

describe('a community folder', () => {
  test('extraction returns exactly the archived messages, in timestamp-then-hash order', () => {
    const fs = new MemoryFileSystem();
    const messages = [msg(50, 10, 3), msg(10, 20, 1), msg(10, 20, 0), msg(150, 5, 4)];
    const res = round(fs, messages, 0, 200);
    expect(res.archives.map((a) => [a.from, a.to, a.messages])).toEqual([
      [0, 100, 3],
      [100, 200, 1],
    ]);
    expect(extractArchive(fs, folder, res.archives[0]!.id)).toEqual([messages[2], messages[1], messages[0]]);
    expect(extractArchive(fs, folder, res.archives[1]!.id)).toEqual([messages[3]]);
    const entries = indexEntriesByFrom(readIndex(fs, folder));
    expect(entries.map(([id]) => id)).toEqual(res.archives.map((a) => a.id));
    expect(readArchiveMessages(fs, folder, entries[0]![1]).metadata).toEqual({
      version: 0,
      from: 0,
      to: 100,
      contentTopic: [topicA],
    });
    expect(() => extractArchive(fs, folder, `0x${'0'.repeat(64)}`)).toThrow(UnknownArchiveError);
  });

  test('a round with nothing to archive writes nothing and reports the torrent already there', () => {
    const fs = new MemoryFileSystem();
    const none = round(fs, [msg(500, 1, 1)], 0, 100);
    expect(none).toEqual({ communityId: C, start: 0, end: 100, archives: [], dropped: 0 });
    expect(fs.exists(folder)).toBe(false);
    const first = round(fs, [msg(5, 1, 1)], 0, 100);
    const data = fs.read(`${folder}/data`);
    const again = round(fs, [msg(5, 1, 1)], 100, 200);
    expect(again.archives).toEqual([]);
    expect(again.infoHash).toBe(first.infoHash);
    expect(again.magnet).toBe(first.magnet);
    expect(fs.read(`${folder}/data`)).toEqual(data);
  });

  test('the magnet reported is the one of the torrent written, trackers included', () => {
    const fs = new MemoryFileSystem();
    const trackers = ['udp://t1:1', 'udp://t2:2/announce'];
    const res = createArchiveRound(fs, {
      dataDir: '/data',
      torrentDir: '/torrents',
      communityId: C,
      topics: [topicA],
      messages: [msg(5, 10, 1)],
      start: 0,
      end: 100,
      trackers,
      createdBy: 'me',
      creationDate: 7,
    });
    const torrent = fs.read(tPath);
    expect(parseTorrentFile(torrent).trackers).toEqual(trackers);
    expect(res.infoHash).toBe(parseTorrentFile(torrent).infoHash);
    expect(res.magnet).toBe(magnetFromTorrent(torrent));
    expect(res.magnet).toContain('&tr=udp%3A%2F%2Ft1%3A1');
  });

  test('a community id that cannot be a torrent name is refused before anything is written', () => {
    const fs = new MemoryFileSystem();
    const params = {
      dataDir: '/data',
      torrentDir: '/torrents',
      topics: [topicA],
      messages: [msg(5, 10, 1)],
      start: 0,
      end: 100,
    };
    for (const bad of ['a/b', '..', '']) {
      expect(() => createArchiveRound(fs, { ...params, communityId: bad })).toThrow(TorrentFormatError);
    }
    expect(fs.list('/')).toEqual([]);
  });

  test('oversize messages are dropped and counted; the rest is archived', () => {
    const fs = new MemoryFileSystem();
    const res = round(fs, [msg(1, 2000, 1), msg(2, 10, 2)], 0, 100, { maxArchiveBytes: 1000 });
    expect(res.dropped).toBe(1);
    expect(extractArchive(fs, folder, res.archives[0]!.id).map((m) => m.timestamp)).toEqual([2]);
  });

  test('absent index reads as empty', () => {
    expect(readIndex(new MemoryFileSystem(), folder).archives.size).toBe(0);
  });

  test('the next round reads no byte of the old data when the old torrent is consistent', () => {
    const fs = new MemoryFileSystem();
    round(fs, [msg(5, 600, 1), msg(50, 600, 2)], 0, 100);
    let dataReads = 0;
    const spy: FileSystem = {
      exists: (p) => fs.exists(p),
      size: (p) => fs.size(p),
      writeAtomic: (p, b) => fs.writeAtomic(p, b),
      append: (p, b) => fs.append(p, b),
      mkdirp: (p) => fs.mkdirp(p),
      list: (p) => fs.list(p),
      remove: (p) => fs.remove(p),
      read: (p: string) => {
        if (p.endsWith('/data')) dataReads++;
        return fs.read(p);
      },
      readRange: (p: string, o: number, l: number) => {
        if (p.endsWith('/data')) dataReads++;
        return fs.readRange(p, o, l);
      },
    };
    const incremental = round(spy, [msg(150, 600, 3)], 100, 200);
    expect(dataReads).toBe(0);
    // Without a torrent the data is hashed again and the result is the same torrent.
    const copy = new MemoryFileSystem();
    round(copy, [msg(5, 600, 1), msg(50, 600, 2)], 0, 100);
    copy.remove(tPath);
    const rebuilt = round(copy, [msg(150, 600, 3)], 100, 200);
    expect(rebuilt.infoHash).toBe(incremental.infoHash);
  });

  test('a broken folder is refused and left as it was', () => {
    const fs = new MemoryFileSystem();
    round(fs, [msg(5, 600, 1)], 0, 100);
    const data = fs.read(`${folder}/data`);
    fs.writeAtomic(`${folder}/data`, data.subarray(0, 100));
    expect(() => round(fs, [msg(150, 1, 2)], 100, 200)).toThrow(ArchiveFormatError);
    expect(fs.size(`${folder}/data`)).toBe(100);
    fs.writeAtomic(`${folder}/data`, data);
    fs.writeAtomic(`${folder}/index`, new Uint8Array([0x0a, 0xff]));
    expect(() => round(fs, [msg(150, 1, 2)], 100, 200)).toThrow(/index does not decode/);
    expect([...fs.read(`${folder}/index`)]).toEqual([0x0a, 0xff]);
  });

  test('bytes of a round that crashed before its index are rolled back by the next round', () => {
    const fs = new MemoryFileSystem();
    round(fs, [msg(5, 600, 1)], 0, 100);
    fs.append(`${folder}/data`, new Uint8Array(300).fill(9));
    const res = round(fs, [msg(150, 10, 2)], 100, 200);
    expect(res.archives[0]!.offset).toBe(fs.size(`${folder}/data`) - res.archives[0]!.size);
    expect(verifyCommunityFolder(fs, folder, fs.read(tPath)).ok).toBe(true);
  });

  test('verification finds a changed byte, a truncated data and non-zero padding', () => {
    const fs = new MemoryFileSystem();
    const res = round(fs, [msg(5, 10, 1)], 0, 100);
    const torrent = fs.read(tPath);
    const data = fs.read(`${folder}/data`);
    const bad = data.slice();
    bad[bad.length - 1] = 1;
    fs.writeAtomic(`${folder}/data`, bad);
    const r1 = verifyCommunityFolder(fs, folder, torrent);
    expect(r1.ok).toBe(false);
    expect(r1.checks.padding).toBe('failed');
    expect(r1.checks.pieces).toBe('failed');
    fs.writeAtomic(`${folder}/data`, data.subarray(0, 50));
    const r2 = verifyCommunityFolder(fs, folder, torrent);
    expect(r2.checks.contiguity).toBe('failed');
    expect(r2.checks.decode).toBe('failed');
    expect(res.archives).toHaveLength(1);
  });

  test('an encrypting codec: stored bytes are wrapped, readers decode through it, a missing key is a MissingKeyError', () => {
    const xor = (b: Uint8Array) => b.map((x) => x ^ 0x5a);
    // The wrapping starts with a byte that is not a valid protobuf tag, so plain decoding fails.
    const codec: ArchiveCodec = {
      encode: (plain) => new Uint8Array([0xff, ...xor(plain)]),
      decode: (stored) => xor(stored.subarray(1)),
    };
    const fs = new MemoryFileSystem();
    const res = round(fs, [msg(5, 10, 1)], 0, 100, {}, codec);
    expect(() => readIndex(fs, folder)).toThrow(ArchiveFormatError);
    const meta = readIndex(fs, folder, codec).archives.get(res.archives[0]!.id)!;
    expect(readArchiveMessages(fs, folder, meta, codec).messages[0]!.timestamp).toBe(5);
    const locked: ArchiveCodec = {
      encode: codec.encode,
      decode: () => {
        throw new MissingKeyError();
      },
    };
    expect(() => readArchiveMessages(fs, folder, meta, locked)).toThrow(MissingKeyError);
    expect(verifyCommunityFolder(fs, folder, fs.read(tPath), codec).ok).toBe(true);
  });
});
