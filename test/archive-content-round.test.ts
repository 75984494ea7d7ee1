// The content-addressed archive format (archive/content-round.ts): a round uploads each
// archive on its own and an index of {metadata, cid} entries keyed by Keccak-256 of the
// encoded entry; earlier entries are kept; encrypted communities go through the codec.
import { createHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';
import { describe, expect, test } from 'vitest';
import {
  type ArchiveCodec,
  ArchiveFormatError,
  buildArchives,
  cidArchiveIdOf,
  cidEntriesNewestFirst,
  cidIndexesToUnseed,
  cidIndexHasNew,
  createCidRound,
  decodeCidArchive,
  decodeStoredCidIndex,
  encodeStoredCidIndex,
  loadPreviousCidIndex,
  MissingKeyError,
  planCidArchives,
  readCidArchive,
  resolveArchiveOptions,
  UnknownArchiveError,
  verifyCidIndex,
} from '../archive/index.ts';
import { ContentNotHeld } from '../ports/content-store.ts';
import { encodeLogosStorageWakuMessageArchiveIndex } from '../proto/codec.ts';
import { toHex } from '../proto/hex.ts';
import { chatTopic } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';

/** A store that keeps uploads in a map; ids are CIDv1 raw sha2-256 of the bytes. */
class MapStore {
  readonly blobs = new Map<string, Uint8Array>();
  readonly uploads: Uint8Array[] = [];
  async upload(bytes: Uint8Array): Promise<string> {
    const cid = CID.createV1(
      0x55,
      Digest.create(0x12, createHash('sha256').update(bytes).digest()),
    ).toString();
    this.blobs.set(cid, bytes);
    this.uploads.push(bytes);
    return cid;
  }
  async has(cid: string): Promise<boolean> {
    return this.blobs.has(cid);
  }
  async readLocal(cid: string): Promise<Uint8Array> {
    const b = this.blobs.get(cid);
    if (!b) throw new ContentNotHeld(cid);
    return b;
  }
}

const WEEK = 604_800;
const T0 = 1_767_225_600; // 2026-01-01
const topic = chatTopic('general');
const other = chatTopic('random');

function msg(i: number, timestamp: number, size = 100, on = topic): WakuMessage {
  return {
    sig: Uint8Array.of(i & 255),
    timestamp,
    topic: on,
    payload: new Uint8Array(size).fill(i & 255),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill((i * 7) & 255),
    thirdPartyId: '',
  };
}

// Three weeks, the middle one empty; a message on another topic; one too big for a chunk.
const messages = [
  msg(1, T0 + 10),
  msg(2, T0 + 20),
  msg(3, T0 + 30, 100, other),
  msg(4, T0 + 2 * WEEK + 5),
  msg(5, T0 + 2 * WEEK + 6, 5000),
];
const round = {
  topics: [topic],
  messages,
  start: T0,
  end: T0 + 3 * WEEK,
  options: { maxArchiveBytes: 1000 },
};

/** XOR "encryption" with a key that may be missing. */
function xorCodec(state: { key: boolean }): ArchiveCodec {
  const x = (b: Uint8Array) => b.map((v) => v ^ 0x5a);
  return {
    encode: x,
    decode: (b) => {
      if (!state.key) throw new MissingKeyError();
      return x(b);
    },
  };
}

describe('planning', () => {
  test('the same partitions and chunks as the torrent layout, without offsets or padding', () => {
    const plan = planCidArchives(round);
    const torrent = buildArchives({ ...round, offset: 0, options: resolveArchiveOptions(round.options) });
    expect(plan.archives.map((a) => [a.metadata.from, a.metadata.to, a.messages])).toEqual(
      torrent.archives.map((a) => [a.meta.metadata.from, a.meta.metadata.to, a.messages]),
    );
    expect(plan.archives.map((a) => [a.metadata.from - T0, a.messages])).toEqual([
      [0, 2],
      [2 * WEEK, 1],
    ]);
    expect(plan.dropped).toBe(1);
    expect(plan.dropped).toBe(torrent.dropped);
    // stored = the encoded archive, not padded
    expect(plan.archives[0]!.stored.length).toBe(torrent.archives[0]!.stored.length);
  });
});

describe('a round', () => {
  test('uploads each archive then the index; ids are Keccak-256 of the encoded entries', async () => {
    const store = new MapStore();
    const r = await createCidRound(store, round);
    expect(r.archives).toHaveLength(2);
    expect(store.uploads).toHaveLength(3);
    for (const [k, a] of r.archives.entries()) {
      expect(await store.readLocal(a.cid)).toEqual(store.uploads[k]);
      const entry = r.index.archives.get(a.id)!;
      expect(entry).toEqual({
        version: 0,
        metadata: { version: 0, from: a.from, to: a.to, contentTopic: [topic] },
        cid: a.cid,
      });
      expect(a.id).toBe(cidArchiveIdOf(entry));
    }
    // the index uploaded last, plain, sorted keys
    expect(store.uploads[2]).toEqual(encodeLogosStorageWakuMessageArchiveIndex(r.index));
    expect(await store.readLocal(r.indexCid!)).toEqual(store.uploads[2]);
    expect(r.indexBytes).toBe(store.uploads[2]!.length);
    expect(verifyCidIndex(r.index)).toEqual([]);
  });

  test('an archive id by hand: Keccak-256 of 12 00 1a 01 78 (empty metadata, cid "x")', () => {
    const id = cidArchiveIdOf({
      version: 0,
      metadata: { version: 0, from: 0, to: 0, contentTopic: [] },
      cid: 'x',
    });
    expect(id).toBe(toHex(keccak_256(Uint8Array.of(0x12, 0x00, 0x1a, 0x01, 0x78))));
    expect(id).toMatch(/^0x[0-9a-f]{64}$/);
  });

  test('a round without archives uploads nothing and gives no new link', async () => {
    const store = new MapStore();
    const r = await createCidRound(store, { ...round, start: T0 + WEEK, end: T0 + 2 * WEEK });
    expect(r.archives).toEqual([]);
    expect(r.indexCid).toBeUndefined();
    expect(store.uploads).toHaveLength(0);
  });

  test('earlier entries are kept while the previous index is held, and lost when it is not', async () => {
    const store = new MapStore();
    const first = await createCidRound(store, { ...round, end: T0 + WEEK });
    const held = await loadPreviousCidIndex(store, first.indexCid);
    expect(held).toEqual(first.index);
    const second = await createCidRound(store, { ...round, start: T0 + WEEK, previous: held });
    expect([...second.index.archives.keys()].sort()).toEqual(
      [...first.index.archives.keys(), ...second.archives.map((a) => a.id)].sort(),
    );
    expect(cidEntriesNewestFirst(second.index).map(([, e]) => e.metadata.from - T0)).toEqual([2 * WEEK, 0]);
    // The owner's store no longer holds the first index: the next round starts from nothing.
    const other = new MapStore();
    expect((await loadPreviousCidIndex(other, first.indexCid)).archives.size).toBe(0);
    expect((await loadPreviousCidIndex(store, undefined)).archives.size).toBe(0);
  });

  test('an encrypted community: archives and index go through the codec; import waits for the key', async () => {
    const state = { key: true };
    const codec = xorCodec(state);
    const store = new MapStore();
    const r = await createCidRound(store, { ...round, codec });
    const stored = await store.readLocal(r.indexCid!);
    expect(stored).toEqual(codec.encode(encodeLogosStorageWakuMessageArchiveIndex(r.index)));
    expect(decodeStoredCidIndex(stored, codec)).toEqual(r.index);
    const id = r.archives[0]!.id;
    expect((await readCidArchive(store, r.index, id, codec)).messages).toHaveLength(2);
    state.key = false;
    await expect(readCidArchive(store, r.index, id, codec)).rejects.toBeInstanceOf(MissingKeyError);
  });
});

describe('reading and checking', () => {
  test("the reference's rule: plain bytes with no entry are an encrypted index", () => {
    const state = { key: true };
    const codec = xorCodec(state);
    const index = {
      archives: new Map([
        ['k', { version: 0, metadata: { version: 0, from: 1, to: 2, contentTopic: [] }, cid: 'c' }],
      ]),
    };
    // 0x0a ^ 0x5a = 0x50: field 10 LEN -> decodes plain as an index with no entry
    const wrapped = encodeStoredCidIndex(index, codec);
    expect(decodeStoredCidIndex(wrapped, codec)).toEqual(index);
    expect(decodeStoredCidIndex(new Uint8Array(0), codec).archives.size).toBe(0);
    expect(() => decodeStoredCidIndex(Uint8Array.of(0x0a, 0xff))).toThrow(ArchiveFormatError);
    state.key = false;
    expect(() => decodeStoredCidIndex(wrapped, codec)).toThrow(MissingKeyError);
  });

  test('verification names a tampered key, a bad content id and an empty range', async () => {
    const store = new MapStore();
    const r = await createCidRound(store, round);
    const [id, entry] = [...r.index.archives][0]!;
    const bad = new Map(r.index.archives);
    bad.delete(id);
    bad.set(`0x${'00'.repeat(32)}`, entry);
    bad.set(cidArchiveIdOf({ ...entry, cid: 'nope' }), { ...entry, cid: 'nope' });
    const empty = { ...entry, metadata: { ...entry.metadata, to: entry.metadata.from } };
    bad.set(cidArchiveIdOf(empty), empty);
    const problems = verifyCidIndex({ archives: bad });
    expect(problems).toHaveLength(3);
    expect(problems.join('\n')).toMatch(/hashes to/);
    expect(problems.join('\n')).toMatch(/"nope" is not a content id/);
    expect(problems.join('\n')).toMatch(/empty range/);
  });

  test("an archive whose metadata is not its entry's, bytes that do not decode, an unknown id", async () => {
    const store = new MapStore();
    const r = await createCidRound(store, round);
    const [a, b] = r.archives;
    const entryA = r.index.archives.get(a!.id)!;
    const bytesB = await store.readLocal(b!.cid);
    expect(() => decodeCidArchive(a!.id, entryA, bytesB)).toThrow(/metadata is not its index entry/);
    expect(() => decodeCidArchive(a!.id, entryA, Uint8Array.of(0x0a, 0xff))).toThrow(ArchiveFormatError);
    await expect(readCidArchive(store, r.index, '0x00', undefined)).rejects.toBeInstanceOf(
      UnknownArchiveError,
    );
  });
});

describe('the reference quirks, as switches', () => {
  test('new archives: ids compared, or counts (the earlier revisions and the torrent backend)', async () => {
    const store = new MapStore();
    const r = await createCidRound(store, round);
    const [a, b] = r.archives.map((x) => x.id);
    expect(cidIndexHasNew([a!, b!], r.index, false)).toBe(false);
    expect(cidIndexHasNew([a!], r.index, false)).toBe(true);
    // the count quirk: as many ids as entries, one of them not in the index -> "no new archives"
    expect(cidIndexHasNew([a!, '0xold'], r.index, true)).toBe(false);
    expect(cidIndexHasNew([a!, '0xold'], r.index, false)).toBe(true);
  });

  test('unseeding the previous index: after a round with a new link, or never (the inverted condition)', () => {
    expect(cidIndexesToUnseed('zOld', 'zNew', false)).toEqual(['zOld']);
    expect(cidIndexesToUnseed('zOld', undefined, false)).toEqual([]);
    expect(cidIndexesToUnseed('zOld', 'zOld', false)).toEqual([]);
    expect(cidIndexesToUnseed(undefined, 'zNew', false)).toEqual([]);
    expect(cidIndexesToUnseed('zOld', 'zNew', true)).toEqual([]);
  });
});
