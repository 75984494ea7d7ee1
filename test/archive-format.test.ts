// The pure core of the archive format: padding (with the reference quirk), partitions,
// chunks, archive ids, and the torrent (checked against a bencode written here, not the
// `bencode` package).

import { createHash } from 'node:crypto';
import { fc, test as fcTest } from '@fast-check/vitest';
import { keccak_256, sha3_256 } from '@noble/hashes/sha3.js';
import { describe, expect, test } from 'vitest';
import {
  archiveIdOf,
  buildArchives,
  buildTorrentFile,
  chunkMessages,
  defaultArchiveOptions,
  encodeInfoDict,
  infoHashFromMagnet,
  magnetFromTorrent,
  paddingFor,
  parseTorrentFile,
  partitionRanges,
  resolveArchiveOptions,
  TorrentFormatError,
} from '../archive/index.ts';
import { decodeWakuMessageArchive, encodeWakuMessageArchiveIndexMetadata } from '../proto/codec.ts';
import { toHex } from '../proto/hex.ts';
import type { WakuMessage } from '../proto/types.ts';

const topicA = new Uint8Array([1, 2, 3, 4]);
const topicB = new Uint8Array([9, 9, 9, 9]);

function msg(timestamp: number, payloadLength: number, n = timestamp, topic = topicA): WakuMessage {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(28, n);
  return {
    sig: new Uint8Array(0),
    timestamp,
    topic,
    payload: new Uint8Array(payloadLength).fill(n & 0xff),
    padding: new Uint8Array(0),
    hash,
    thirdPartyId: '',
  };
}

// --- an independent bencode, just enough for an info dictionary --------------------
type B = number | string | Uint8Array | B[] | { [k: string]: B };
function benc(v: B): Buffer {
  if (typeof v === 'number') return Buffer.from(`i${v}e`);
  if (typeof v === 'string') return benc(Buffer.from(v, 'utf8'));
  if (v instanceof Uint8Array) return Buffer.concat([Buffer.from(`${v.length}:`), v]);
  if (Array.isArray(v)) return Buffer.concat([Buffer.from('l'), ...v.map(benc), Buffer.from('e')]);
  const keys = Object.keys(v).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  return Buffer.concat([Buffer.from('d'), ...keys.flatMap((k) => [benc(k), benc(v[k]!)]), Buffer.from('e')]);
}

describe('padding rule', () => {
  const P = 102_400;
  test('raw < P: padded up to one piece', () => {
    expect(paddingFor(1, P)).toEqual({ size: P, padding: P - 1 });
    expect(paddingFor(P - 1, P)).toEqual({ size: P, padding: 1 });
  });
  test('raw = P: exactly one piece, no padding', () => {
    expect(paddingFor(P, P)).toEqual({ size: P, padding: 0 });
  });
  test('raw an exact multiple of P larger than P: one extra piece of zeros (the quirk), unless switched off', () => {
    expect(paddingFor(3 * P, P)).toEqual({ size: 4 * P, padding: P });
    expect(paddingFor(3 * P, P, false)).toEqual({ size: 3 * P, padding: 0 });
  });
  test('otherwise: up to the next piece boundary', () => {
    expect(paddingFor(2 * P + 5, P)).toEqual({ size: 3 * P, padding: P - 5 });
    expect(paddingFor(2 * P + 5, P, false)).toEqual({ size: 3 * P, padding: P - 5 });
  });
  fcTest.prop([fc.integer({ min: 1, max: 10_000_000 }), fc.integer({ min: 1, max: 300_000 }), fc.boolean()])(
    'size is a multiple of P, at least P, and raw + padding',
    (raw, p, quirk) => {
      const { size, padding } = paddingFor(raw, p, quirk);
      expect(size % p).toBe(0);
      expect(size).toBeGreaterThanOrEqual(p);
      expect(size).toBe(raw + padding);
      expect(padding).toBeLessThanOrEqual(p);
    },
  );

  test('the quirk end to end: an archive of exactly 2 pieces is stored in 3', () => {
    const P2 = 256;
    const options = resolveArchiveOptions({ pieceLength: P2 });
    // Find the payload length whose encoded archive is exactly 2 * P2 bytes.
    let found: ReturnType<typeof buildArchives> | undefined;
    for (let len = 300; len < 520 && !found; len++) {
      const r = buildArchives({
        topics: [topicA],
        messages: [msg(5, len)],
        start: 0,
        end: 10,
        offset: 0,
        options,
      });
      if (r.archives[0]!.stored.length === 2 * P2) found = r;
    }
    expect(found).toBeDefined();
    const a = found!.archives[0]!;
    expect(a.meta.size).toBe(3 * P2);
    expect(a.meta.padding).toBe(P2);
    expect(found!.block.length).toBe(3 * P2);
    expect(found!.block.subarray(2 * P2).every((x) => x === 0)).toBe(true);
  });
});

describe('partitions and chunks', () => {
  test('windows of the interval from start, the last capped at end', () => {
    expect(partitionRanges(0, 25, 10)).toEqual([
      [0, 10],
      [10, 20],
      [20, 25],
    ]);
    expect(partitionRanges(5, 5, 10)).toEqual([]);
  });

  test('empty windows make no archive; the last window is capped at the range end', () => {
    const options = resolveArchiveOptions({ interval: 10, pieceLength: 64 });
    const r = buildArchives({
      topics: [topicA],
      messages: [msg(1, 3), msg(32, 3), msg(33, 3), msg(40, 3)],
      start: 0,
      end: 33,
      offset: 0,
      options,
    });
    expect(r.archives.map((a) => [a.meta.metadata.from, a.meta.metadata.to, a.messages])).toEqual([
      [0, 10, 1],
      [30, 33, 1],
    ]);
  });

  test('messages on other topics or outside [start, end) are left out', () => {
    const options = resolveArchiveOptions({ pieceLength: 64 });
    const r = buildArchives({
      topics: [topicA],
      messages: [msg(5, 3, 1), msg(5, 3, 2, topicB), msg(100, 3, 3), msg(4, 3, 4)],
      start: 5,
      end: 100,
      offset: 0,
      options,
    });
    const decoded = decodeWakuMessageArchive(r.archives[0]!.stored);
    expect(decoded.messages.map((m) => m.payload[0])).toEqual([1]);
    expect(decoded.metadata.contentTopic).toEqual([topicA]);
  });

  test('chunks hold at most maxArchiveBytes of payload+sig; a single larger message is dropped and counted', () => {
    const m = [msg(1, 60), msg(2, 30), msg(3, 20), msg(4, 150), msg(5, 50)];
    const { chunks, dropped } = chunkMessages(m, 100);
    expect(chunks.map((c) => c.map((x) => x.timestamp))).toEqual([
      [1, 2],
      [3, 5],
    ]);
    expect(dropped).toBe(1);
    const options = resolveArchiveOptions({ pieceLength: 64, maxArchiveBytes: 100 });
    const r = buildArchives({ topics: [topicA], messages: m, start: 0, end: 10, offset: 640, options });
    expect(r.dropped).toBe(1);
    expect(r.archives).toHaveLength(2);
    const [a, b] = r.archives;
    expect(a!.meta.metadata).toEqual(b!.meta.metadata);
    expect(a!.meta.offset).toBe(640);
    expect(b!.meta.offset).toBe(640 + a!.meta.size);
    expect(a!.id).not.toBe(b!.id);
  });

  test('the order inside an archive is timestamp, then hash; input order does not matter', () => {
    const options = resolveArchiveOptions({ pieceLength: 64 });
    const m = [msg(7, 2, 3), msg(5, 2, 9), msg(7, 2, 1), msg(6, 2, 2)];
    const one = buildArchives({ topics: [topicA], messages: m, start: 0, end: 10, offset: 0, options });
    const two = buildArchives({
      topics: [topicA],
      messages: [...m].reverse(),
      start: 0,
      end: 10,
      offset: 0,
      options,
    });
    expect(toHex(one.block)).toBe(toHex(two.block));
    const order = decodeWakuMessageArchive(one.archives[0]!.stored).messages.map((x) => x.payload[0]);
    expect(order).toEqual([9, 2, 1, 3]);
  });

  test('the defaults are the reference values', () => {
    expect(defaultArchiveOptions).toEqual({
      interval: 604_800,
      pieceLength: 102_400,
      maxArchiveBytes: 30_000_000,
      extraPaddingPiece: true,
    });
    expect(resolveArchiveOptions({ archiveInterval: 5, maxArchiveChunk: 7, pieceLength: undefined })).toEqual(
      {
        interval: 5,
        pieceLength: 102_400,
        maxArchiveBytes: 7,
        extraPaddingPiece: true,
      },
    );
    expect(() => resolveArchiveOptions({ pieceLength: 0 })).toThrow(/pieceLength/);
  });
});

describe('archive ids', () => {
  test('Keccak-256 (not SHA3-256) of the encoded index metadata, 0x + 64 lowercase hex', () => {
    const meta = {
      version: 0,
      metadata: { version: 0, from: 0, to: 0, contentTopic: [] },
      offset: 0,
      size: 0,
      padding: 0,
    };
    // Only the (always written) empty metadata sub-message: 12 00.
    expect(toHex(encodeWakuMessageArchiveIndexMetadata(meta))).toBe('0x1200');
    const id = archiveIdOf(meta);
    expect(id).toMatch(/^0x[0-9a-f]{64}$/);
    expect(id).toBe(toHex(keccak_256(new Uint8Array([0x12, 0x00]))));
    expect(id).not.toBe(toHex(sha3_256(new Uint8Array([0x12, 0x00]))));
    // And Keccak-256 itself is the Ethereum one: keccak256("") = c5d2…a470.
    expect(toHex(keccak_256(new Uint8Array(0)))).toBe(
      '0xc5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470',
    );
  });
});

describe('torrent', () => {
  const data = new Uint8Array(250).map((_, i) => i);
  const index = new Uint8Array([1, 2, 3]);
  const P = 100;
  const pieces = Buffer.concat(
    [data.subarray(0, 100), data.subarray(100, 200), Buffer.concat([data.subarray(200), index])].map((p) =>
      createHash('sha1').update(p).digest(),
    ),
  );
  const input = {
    name: '0xabc',
    pieceLength: P,
    files: [
      { path: 'data', length: data.length },
      { path: 'index', length: index.length },
    ],
    pieces,
  };

  test('the info dictionary is exactly {files, name, piece length, pieces}; the info-hash is its SHA-1', () => {
    const expected = benc({
      files: [
        { length: 250, path: ['data'] },
        { length: 3, path: ['index'] },
      ],
      name: '0xabc',
      'piece length': 100,
      pieces,
    });
    expect(Buffer.from(encodeInfoDict(input)).equals(expected)).toBe(true);
    const torrent = buildTorrentFile({
      ...input,
      trackers: ['udp://t1:1', 'udp://t2:2'],
      createdBy: 'me',
      creationDate: 7,
    });
    const t = parseTorrentFile(torrent);
    expect(Buffer.from(t.infoDict).equals(expected)).toBe(true);
    expect(t.infoHash).toBe(createHash('sha1').update(expected).digest('hex'));
    expect(t.files).toEqual([
      { path: 'data', length: 250, offset: 0 },
      { path: 'index', length: 3, offset: 250 },
    ]);
    expect(t.pieceHashes).toHaveLength(3);
    expect(t.trackers).toEqual(['udp://t1:1', 'udp://t2:2']);
    expect(t.createdBy).toBe('me');
    expect(t.creationDate).toBe(7);
    // The whole file, also by the independent encoder: announce-list only, no single
    // `announce`, as the reference's torrent writer leaves it.
    const whole = benc({
      'announce-list': [['udp://t1:1'], ['udp://t2:2']],
      'created by': 'me',
      'creation date': 7,
      info: {
        files: [
          { length: 250, path: ['data'] },
          { length: 3, path: ['index'] },
        ],
        name: '0xabc',
        'piece length': 100,
        pieces,
      },
    });
    expect(Buffer.from(torrent).equals(whole)).toBe(true);
  });

  test('magnet link: info-hash, name, trackers', () => {
    const torrent = buildTorrentFile({ ...input, trackers: ['udp://t1:1'] });
    const ih = parseTorrentFile(torrent).infoHash;
    expect(magnetFromTorrent(torrent)).toBe(`magnet:?xt=urn:btih:${ih}&dn=0xabc&tr=udp%3A%2F%2Ft1%3A1`);
    expect(magnetFromTorrent(torrent, [])).toBe(`magnet:?xt=urn:btih:${ih}&dn=0xabc`);
    expect(infoHashFromMagnet(magnetFromTorrent(torrent))).toBe(ih);
    expect(() => infoHashFromMagnet('magnet:?dn=x')).toThrow(TorrentFormatError);
    expect(() => infoHashFromMagnet('http://example.com')).toThrow(TorrentFormatError);
  });

  const withInfo = (info: Record<string, B>) => benc({ info });
  const pieces20 = new Uint8Array(20);

  test.each([
    [
      'a parent path',
      { files: [{ length: 1, path: ['..'] }], name: 'c', 'piece length': 10, pieces: pieces20 },
    ],
    [
      'a path with two components',
      { files: [{ length: 1, path: ['a', 'b'] }], name: 'c', 'piece length': 10, pieces: pieces20 },
    ],
    [
      'an absolute path',
      { files: [{ length: 1, path: ['/etc'] }], name: 'c', 'piece length': 10, pieces: pieces20 },
    ],
    [
      'a name with ..',
      { files: [{ length: 1, path: ['data'] }], name: '../c', 'piece length': 10, pieces: pieces20 },
    ],
    [
      'a piece count that does not fit',
      { files: [{ length: 11, path: ['data'] }], name: 'c', 'piece length': 10, pieces: pieces20 },
    ],
    [
      'a zero piece length',
      { files: [{ length: 1, path: ['data'] }], name: 'c', 'piece length': 0, pieces: pieces20 },
    ],
  ])('refuses %s', (_, info) => {
    expect(() => parseTorrentFile(withInfo(info as Record<string, B>))).toThrow(TorrentFormatError);
  });

  fcTest.prop([fc.uint8Array({ maxLength: 80 })])('random bytes raise only TorrentFormatError', (bytes) => {
    try {
      parseTorrentFile(bytes);
    } catch (error) {
      expect(error).toBeInstanceOf(TorrentFormatError);
    }
  });
});
