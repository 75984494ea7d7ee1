// buildArchives (the hot path: flat arrays, a packed-key sort, messages written in input
// order) against the format written out the plain way: filter, sort with compareMessages'
// rule, greedy chunks, protobufjs encoding, the padding rule, SHA-1 per piece. Same block,
// same pieces, same index entries and ids, same dropped count, and the same error when a
// message cannot be encoded.

import { createHash } from 'node:crypto';
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import {
  type ArchiveCodec,
  archiveIdOf,
  buildArchives,
  paddingFor,
  partitionRanges,
  resolveArchiveOptions,
  selectMessages,
} from '../archive/index.ts';
import { encodeWakuMessageArchiveWithProtobufjs } from '../proto/codec.ts';
import { toHex } from '../proto/hex.ts';
import type { WakuMessage, WakuMessageArchiveIndexMetadata } from '../proto/types.ts';

const TOPICS = [new Uint8Array([1, 2, 3, 4]), new Uint8Array([1, 2, 3, 5]), new Uint8Array([7, 7, 7])];
const OTHER = [new Uint8Array([9, 9, 9, 9]), new Uint8Array([1, 2, 3]), new Uint8Array(0)];

/** A codec that changes the bytes and their length (an encrypted community). */
const xorCodec: ArchiveCodec = {
  encode: (plain) => {
    const out = new Uint8Array(plain.length + 3);
    out.set([0xee, 0xee, 0xee]);
    for (let i = 0; i < plain.length; i++) out[i + 3] = plain[i]! ^ 0x5a;
    return out;
  },
  decode: (stored) => stored.subarray(3).map((b) => b ^ 0x5a),
};

interface Input {
  messages: WakuMessage[];
  start: number;
  end: number;
  interval: number;
  pieceLength: number;
  maxArchiveBytes: number;
  extraPaddingPiece: boolean;
  offsetPieces: number;
  codec: boolean;
}

/** The round written out the plain way. */
function reference(input: Input) {
  const P = input.pieceLength;
  const wanted = new Set(TOPICS.map(toHex));
  const selected = input.messages
    .filter((m) => m.timestamp >= input.start && m.timestamp < input.end && wanted.has(toHex(m.topic)))
    .sort((a, b) => a.timestamp - b.timestamp || Buffer.compare(a.hash, b.hash));
  const parts: Uint8Array[] = [];
  const entries: Array<{ id: string; meta: WakuMessageArchiveIndexMetadata; messages: number }> = [];
  let dropped = 0;
  let offset = input.offsetPieces * P;
  // The windows [from, to) of `interval` from start, the last capped at end (partitionRanges),
  // enumerated through the messages: a range up to 2^53 has too many empty ones to list.
  const windows = [...new Set(selected.map((m) => Math.floor((m.timestamp - input.start) / input.interval)))];
  for (const k of windows.sort((a, b) => a - b)) {
    const from = input.start + k * input.interval;
    const to = Math.min(from + input.interval, input.end);
    if (input.end - input.start < 1000)
      expect(partitionRanges(input.start, input.end, input.interval)).toContainEqual([from, to]);
    const chunks: WakuMessage[][] = [];
    let current: WakuMessage[] = [];
    let weight = 0;
    for (const m of selected.filter((x) => x.timestamp >= from && x.timestamp < to)) {
      const w = m.payload.length + m.sig.length;
      if (w > input.maxArchiveBytes) {
        dropped++;
      } else if (current.length > 0 && weight + w > input.maxArchiveBytes) {
        chunks.push(current);
        current = [m];
        weight = w;
      } else {
        current.push(m);
        weight += w;
      }
    }
    if (current.length > 0) chunks.push(current);
    for (const chunk of chunks) {
      const metadata = { version: 0, from, to, contentTopic: TOPICS };
      const encoded = encodeWakuMessageArchiveWithProtobufjs({ version: 0, metadata, messages: chunk });
      const stored = input.codec ? xorCodec.encode(encoded) : encoded;
      const { size, padding } = paddingFor(stored.length, P, input.extraPaddingPiece);
      const meta = { version: 0, metadata, offset, size, padding };
      entries.push({ id: archiveIdOf(meta), meta, messages: chunk.length });
      parts.push(stored, new Uint8Array(padding));
      offset += size;
    }
  }
  const block = Buffer.concat(parts);
  const pieces = Buffer.concat(
    Array.from({ length: block.length / P }, (_, i) =>
      createHash('sha1')
        .update(block.subarray(i * P, (i + 1) * P))
        .digest(),
    ),
  );
  return { block, pieces, entries, dropped, selected };
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
const message = (tsMax: number) =>
  fc.record({
    // Round lengths too, so that chunks often fill up to exactly maxArchiveBytes.
    sig: fc.oneof(bytes(70), fc.constantFrom(new Uint8Array(0), new Uint8Array(10).fill(3))),
    // Few distinct values: many equal timestamps and equal (or prefix-equal) hashes.
    timestamp: fc.oneof(
      { weight: 8, arbitrary: fc.integer({ min: 0, max: tsMax }) },
      { weight: 1, arbitrary: fc.constantFrom(2 ** 40, Number.MAX_SAFE_INTEGER - 1) },
    ),
    topic: fc.constantFrom(...TOPICS, ...OTHER),
    payload: fc.oneof(
      bytes(400),
      fc.constantFrom(10, 20, 30, 50, 100).map((n) => new Uint8Array(n).fill(n)),
    ),
    padding: bytes(4),
    hash: fc.oneof(
      fc.constantFrom(new Uint8Array(0), new Uint8Array([5]), new Uint8Array([5, 0]), new Uint8Array(32)),
      fc.uint8Array({ minLength: 0, maxLength: 8, max: 2 }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
    ),
    thirdPartyId: fc.oneof(
      { weight: 4, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.string({ maxLength: 6, unit: 'binary' }) },
    ),
  });

const input = fc
  .record({
    messages: fc.array(message(60), { maxLength: 60 }),
    sorted: fc.boolean(),
    start: fc.integer({ min: 0, max: 20 }),
    span: fc.integer({ min: 0, max: 60 }),
    interval: fc.integer({ min: 1, max: 25 }),
    pieceLength: fc.integer({ min: 16, max: 600 }),
    maxArchiveBytes: fc.oneof(
      fc.integer({ min: 40, max: 1500 }),
      fc.integer({ min: 4, max: 30 }).map((n) => n * 10),
    ),
    extraPaddingPiece: fc.boolean(),
    offsetPieces: fc.integer({ min: 0, max: 3 }),
    codec: fc.boolean(),
  })
  .map(({ sorted, span, ...rest }): Input => {
    const messages = sorted
      ? [...rest.messages].sort((a, b) => a.timestamp - b.timestamp || Buffer.compare(a.hash, b.hash))
      : rest.messages;
    // Sometimes a range that takes in the huge timestamps too.
    const end = span === 60 ? Number.MAX_SAFE_INTEGER : rest.start + span;
    return { ...rest, messages, end };
  });

function build(i: Input) {
  return buildArchives({
    topics: TOPICS,
    messages: i.messages,
    start: i.start,
    end: i.end,
    offset: i.offsetPieces * i.pieceLength,
    options: resolveArchiveOptions({
      interval: i.interval,
      pieceLength: i.pieceLength,
      maxArchiveBytes: i.maxArchiveBytes,
      extraPaddingPiece: i.extraPaddingPiece,
    }),
    ...(i.codec ? { codec: xorCodec } : {}),
  });
}

describe('buildArchives against the plain reference', () => {
  fcTest.prop([input], { numRuns: 500 })('same block, pieces, entries, ids and dropped count', (i) => {
    const want = reference(i);
    const got = build(i);
    expect(toHex(got.block)).toBe(toHex(want.block));
    expect(toHex(got.pieces)).toBe(toHex(want.pieces));
    expect(got.dropped).toBe(want.dropped);
    expect(got.archives.map((a) => ({ id: a.id, meta: a.meta, messages: a.messages }))).toEqual(want.entries);
    for (const a of got.archives) {
      const at = a.meta.offset - i.offsetPieces * i.pieceLength;
      expect(toHex(a.stored)).toBe(toHex(want.block.subarray(at, at + a.meta.size - a.meta.padding)));
    }
    expect(selectMessages(TOPICS, i.messages, i.start, i.end)).toEqual(want.selected);
  });

  fcTest.prop([input, fc.nat(), fc.constantFrom(0.5, -1, Number.MAX_SAFE_INTEGER + 2)], { numRuns: 100 })(
    'a timestamp that cannot be encoded: the same RangeError, or none when the message is left out',
    (i, at, bad) => {
      const messages = [...i.messages];
      const victim = messages[at % Math.max(1, messages.length)];
      if (victim) messages[at % messages.length] = { ...victim, timestamp: bad };
      const withBad = { ...i, messages, start: 0, end: Number.MAX_SAFE_INTEGER };
      let expected: unknown;
      try {
        expected = toHex(reference(withBad).block);
      } catch (error) {
        expected = error;
      }
      if (expected instanceof Error) {
        expect(expected).toBeInstanceOf(RangeError);
        expect(() => build(withBad)).toThrow(expected.message);
      } else {
        expect(toHex(build(withBad).block)).toBe(expected);
      }
    },
  );
});
