// The pure core of the archive format (protocol.md §4, §5.1 steps 3–5): bytes and objects
// in, bytes and objects out; no file system, no clock.

import { hash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  type ArchiveHeader,
  checkUint,
  lenFieldSize,
  messageBodySize,
  planArchiveHeader,
  thirdPartyBytes,
  writeMessageField,
} from '../proto/archive-writer.ts';
import { encodeWakuMessageArchive, encodeWakuMessageArchiveIndexMetadata } from '../proto/codec.ts';
import { toHex } from '../proto/hex.ts';
import type { WakuMessage, WakuMessageArchiveIndexMetadata } from '../proto/types.ts';
import { type ArchiveCodec, plainCodec } from './codec.ts';
import type { ArchiveOptions } from './options.ts';

/**
 * Size and padding of an archive of `raw` stored bytes, by the reference rule:
 * raw > P: size = raw + P - (raw mod P) (so an exact multiple of P gets one whole extra
 * piece of zeros: the quirk, unless `extraPaddingPiece` is false); raw <= P: size = P.
 */
export function paddingFor(
  raw: number,
  pieceLength: number,
  extraPaddingPiece = true,
): { size: number; padding: number } {
  if (raw > pieceLength) {
    const rest = raw % pieceLength;
    if (rest === 0 && !extraPaddingPiece) return { size: raw, padding: 0 };
    const size = raw + pieceLength - rest;
    return { size, padding: size - raw };
  }
  return { size: pieceLength, padding: pieceLength - raw };
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** The stable order of archived messages: timestamp, then hash (bytewise). */
export function compareMessages(a: WakuMessage, b: WakuMessage): number {
  return a.timestamp - b.timestamp || compareBytes(a.hash, b.hash);
}

/** [from, to) windows of `interval` seconds from `start`, the last one capped at `end`. */
export function partitionRanges(start: number, end: number, interval: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let from = start; from < end; from += interval) out.push([from, Math.min(from + interval, end)]);
  return out;
}

/** Bytes a message counts for against the chunk limit: payload + signature. */
export function chunkWeight(m: WakuMessage): number {
  return m.payload.length + m.sig.length;
}

/**
 * The chunking rule over positions [from, to) of `weights`: a message heavier than `max` is
 * dropped and counted; otherwise it closes the current chunk when it would take the chunk
 * past `max`. Returns where each chunk ends (exclusive; a chunk starts where the previous
 * one ends, the first at `from`, and leaves out the dropped messages in it).
 */
function chunkEnds(
  weights: ArrayLike<number>,
  from: number,
  to: number,
  max: number,
): { ends: number[]; dropped: number } {
  const ends: number[] = [];
  let inChunk = 0;
  let total = 0;
  let dropped = 0;
  for (let i = from; i < to; i++) {
    const w = weights[i]!;
    if (w > max) {
      dropped++;
      continue;
    }
    if (inChunk > 0 && total + w > max) {
      ends.push(i);
      inChunk = 0;
      total = 0;
    }
    inChunk++;
    total += w;
  }
  if (inChunk > 0) ends.push(to);
  return { ends, dropped };
}

/**
 * Splits messages into chunks whose weights add up to at most `max`; a single message
 * heavier than `max` is dropped and counted.
 */
export function chunkMessages(
  messages: WakuMessage[],
  max: number,
): { chunks: WakuMessage[][]; dropped: number } {
  const weights = messages.map(chunkWeight);
  const { ends, dropped } = chunkEnds(weights, 0, messages.length, max);
  const chunks: WakuMessage[][] = [];
  let a = 0;
  for (const b of ends) {
    const chunk: WakuMessage[] = [];
    for (let i = a; i < b; i++) if (weights[i]! <= max) chunk.push(messages[i]!);
    chunks.push(chunk);
    a = b;
  }
  return { chunks, dropped };
}

/** Archive id: `0x` + Keccak-256 of the encoded index metadata. */
export function archiveIdOf(meta: WakuMessageArchiveIndexMetadata): string {
  return toHex(keccak_256(encodeWakuMessageArchiveIndexMetadata(meta)));
}

export interface BuiltArchive {
  id: string;
  meta: WakuMessageArchiveIndexMetadata;
  /** The encoded (and codec-wrapped) archive, without its padding. */
  stored: Uint8Array;
  messages: number;
}

export interface BuildInput {
  /** The community's topics: archived messages must be on one; written into each archive's metadata. */
  topics: Uint8Array[];
  messages: WakuMessage[];
  /** Unix seconds; [start, end). */
  start: number;
  end: number;
  /** Offset in `data` of the first new archive (the sum of the sizes already there). */
  offset: number;
  options: ArchiveOptions;
  codec?: ArchiveCodec;
}

// --- selection and order --------------------------------------------------------------
//
// A round touches every message several times (filter, order, chunk weights, sizes,
// writing). Messages are objects scattered over the heap, each with five byte arrays of
// its own; walking them in archive order (by timestamp) rather than in the order they were
// made makes nearly every access a cache miss, and for rounds of many small messages that,
// more than the bytes, was the cost of encoding. So the selection reads each message once,
// in input order, and keeps what the later steps need (timestamps, weights, encoded sizes)
// in flat arrays; the archive order is a permutation of those; and the messages are
// written in input order again, each at the position the layout gave it.

/** Equality of topics as bytes, without a hex string per message. */
function topicMatcher(topics: Uint8Array[]): (topic: Uint8Array) => boolean {
  // Bucketed by a small-integer key of length and first four bytes (a Waku v1 topic is four
  // bytes), then compared as bytes. Messages often share one topic array: the last one
  // seen is remembered.
  const key = (t: Uint8Array): number => {
    let k = t.length & 0x3f;
    for (let i = 0; i < 4 && i < t.length; i++) k = ((k << 6) ^ t[i]!) & 0x3fffffff;
    return k;
  };
  const byKey = new Map<number, Uint8Array[]>();
  for (const t of topics) {
    const list = byKey.get(key(t));
    if (list) list.push(t);
    else byKey.set(key(t), [t]);
  }
  let last: Uint8Array | undefined;
  let lastWanted = false;
  return (topic) => {
    if (topic === last) return lastWanted;
    const list = byKey.get(key(topic));
    let wanted = false;
    if (list !== undefined) for (const t of list) if (compareBytes(t, topic) === 0) wanted = true;
    last = topic;
    lastWanted = wanted;
    return wanted;
  };
}

/** The round's messages in input order, what the layout needs of each, and the archive order. */
interface Selection {
  messages: WakuMessage[];
  timestamps: Float64Array;
  /** chunkWeight of each message (only with `sized`). */
  weights: Float64Array;
  /** messageBodySize of each message (only with `sized`). */
  bodies: Float64Array;
  /** UTF-8 of the non-empty thirdPartyIds (only with `sized`); undefined when there is none. */
  thirdParty: Array<Uint8Array | undefined> | undefined;
  /** order[r]: the message at rank r of the archive order; undefined when that is input order. */
  order: Uint32Array | undefined;
}

/**
 * The first six bytes of a hash as a number: ordering two hashes by their keys agrees with
 * compareBytes whenever the keys differ (a shorter hash counts as zeros), so compareBytes
 * is only needed when they are equal. Ties of timestamps are then sorted on a flat array
 * instead of three dependent loads (message, hash, bytes) per comparison.
 */
function hashKey(hash: Uint8Array): number {
  let k = 0;
  for (let i = 0; i < 6; i++) k = k * 256 + (i < hash.length ? hash[i]! : 0);
  return k;
}

/**
 * Positions of `messages` in the stable archive order (compareMessages, ties in input
 * order, as Array#sort would leave them), or undefined when they are in that order already
 * (messages from storage usually are).
 */
function archiveOrder(
  messages: WakuMessage[],
  timestamps: Float64Array,
  hashKeys: Float64Array,
): Uint32Array | undefined {
  const n = messages.length;
  const byHash = (a: number, b: number): number =>
    hashKeys[a]! - hashKeys[b]! || compareBytes(messages[a]!.hash, messages[b]!.hash);
  let sorted = true;
  let integers = true;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) {
    const t = timestamps[i]!;
    if (i > 0 && sorted) {
      const d = t - timestamps[i - 1]!;
      // (not d > 0 rather than d === 0: two infinite timestamps differ by NaN, a tie too)
      if (d < 0 || (!(d > 0) && byHash(i - 1, i) > 0)) sorted = false;
    }
    if (!Number.isSafeInteger(t)) integers = false;
    if (t < min) min = t;
    if (t > max) max = t;
  }
  if (sorted) return undefined;
  const order = new Uint32Array(n);
  let bits = 0;
  while (2 ** bits < n) bits++;
  const scale = 2 ** bits;
  if (integers && (max - min + 1) * scale <= Number.MAX_SAFE_INTEGER) {
    // Timestamp and input position packed into one exact double, sorted natively (no
    // comparator call per comparison): the position breaks ties, so the sort is stable.
    const keys = new Float64Array(n);
    for (let i = 0; i < n; i++) keys[i] = (timestamps[i]! - min) * scale + i;
    keys.sort();
    for (let i = 0; i < n; i++) {
      const k = keys[i]!;
      order[i] = k - Math.floor(k / scale) * scale;
    }
  } else {
    const positions = Array.from({ length: n }, (_, i) => i);
    positions.sort((a, b) => timestamps[a]! - timestamps[b]! || a - b);
    order.set(positions);
  }
  // Equal timestamps go by hash; each run is in input order and both sorts below are
  // stable. Runs are short (messages of the same second): insertion sort, no allocation.
  for (let i = 0; i < n; ) {
    const t = timestamps[order[i]!]!;
    let j = i + 1;
    while (j < n && timestamps[order[j]!] === t) j++;
    if (j - i > 32) {
      const run = Array.from(order.subarray(i, j));
      run.sort(byHash);
      order.set(run, i);
    } else {
      for (let x = i + 1; x < j; x++) {
        const v = order[x]!;
        let y = x - 1;
        for (; y >= i && byHash(order[y]!, v) > 0; y--) order[y + 1] = order[y]!;
        order[y + 1] = v;
      }
    }
    i = j;
  }
  return order;
}

/**
 * The messages on one of `topics` with start <= timestamp < end, and their archive order;
 * with `sized`, their chunk weights and encoded sizes too.
 */
function select(
  topics: Uint8Array[],
  input: WakuMessage[],
  start: number,
  end: number,
  sized: boolean,
): Selection {
  const wanted = topicMatcher(topics);
  const cap = input.length;
  const messages: WakuMessage[] = [];
  const timestamps = new Float64Array(cap);
  const hashKeys = new Float64Array(cap);
  const weights = new Float64Array(sized ? cap : 0);
  const bodies = new Float64Array(sized ? cap : 0);
  let thirdParty: Array<Uint8Array | undefined> | undefined;
  for (const m of input) {
    const t = m.timestamp;
    if (!(t >= start && t < end) || !wanted(m.topic)) continue;
    const k = messages.length;
    messages.push(m);
    timestamps[k] = t;
    hashKeys[k] = hashKey(m.hash);
    if (sized) {
      weights[k] = chunkWeight(m);
      const tp = thirdPartyBytes(m);
      if (tp) {
        thirdParty ??= [];
        thirdParty[k] = tp;
      }
      bodies[k] = messageBodySize(m, tp);
    }
  }
  const n = messages.length;
  const sel: Selection = {
    messages,
    timestamps: timestamps.subarray(0, n),
    weights: weights.subarray(0, sized ? n : 0),
    bodies: bodies.subarray(0, sized ? n : 0),
    thirdParty,
    order: undefined,
  };
  sel.order = archiveOrder(messages, sel.timestamps, hashKeys.subarray(0, n));
  return sel;
}

/** Messages of the round: on one of `topics`, with start <= timestamp < end, in the stable order. */
export function selectMessages(
  topics: Uint8Array[],
  messages: WakuMessage[],
  start: number,
  end: number,
): WakuMessage[] {
  const sel = select(topics, messages, start, end, false);
  const { order } = sel;
  return order ? Array.from(order, (k) => sel.messages[k]!) : sel.messages;
}

interface PlannedArchive {
  meta: WakuMessageArchiveIndexMetadata;
  raw: number;
  count: number;
  /** Plain communities: the archive is encoded straight into the block (no intermediate copy). */
  header?: ArchiveHeader;
  /** Otherwise the codec's output, copied into the block. */
  stored?: Uint8Array;
}

/**
 * §5.1 steps 3–5 for one round: partitions, chunks, encoding, padding, index metadata and
 * ids. Empty partitions make no archive. Offsets continue from `input.offset`. The
 * archives and their zero padding are laid out in one `block` (what `data` gets appended):
 * each archive's `stored` is a view into it.
 */
export function buildArchives(input: BuildInput): {
  archives: BuiltArchive[];
  dropped: number;
  /** The round's bytes: every archive followed by its zero padding (a multiple of P). */
  block: Uint8Array;
  /** SHA-1 of each P-byte piece of `block`, 20 bytes each, concatenated. */
  pieces: Uint8Array;
} {
  const { options, topics } = input;
  const codec = input.codec ?? plainCodec;
  const plain = codec === plainCodec;
  const P = options.pieceLength;
  const max = options.maxArchiveBytes;
  const { messages, timestamps, weights, bodies, thirdParty, order } = select(
    topics,
    input.messages,
    input.start,
    input.end,
    true,
  );
  const n = messages.length;
  // Timestamps and weights in archive order (rank r), for the partition and chunk scans.
  const byRank = (values: Float64Array): Float64Array =>
    order ? Float64Array.from(order, (q) => values[q]!) : values;
  const rankTimestamps = byRank(timestamps);
  const rankWeights = byRank(weights);
  // Where each message goes in the block (plain communities); -1: dropped.
  const position = new Float64Array(plain ? n : 0).fill(-1);
  const planned: PlannedArchive[] = [];
  let dropped = 0;
  let offset = input.offset;
  let i = 0;
  while (i < n) {
    // Jump straight to the partition of the next message: the windows in between are empty.
    const k = Math.floor((rankTimestamps[i]! - input.start) / options.interval);
    const from = input.start + k * options.interval;
    const to = Math.min(from + options.interval, input.end);
    let j = i;
    while (j < n && rankTimestamps[j]! < to) j++;
    const chunked = chunkEnds(rankWeights, i, j, max);
    dropped += chunked.dropped;
    let first = i;
    for (const end of chunked.ends) {
      const metadata = { version: 0, from, to, contentTopic: topics };
      const p: PlannedArchive = {
        meta: { version: 0, metadata, offset, size: 0, padding: 0 },
        raw: 0,
        count: 0,
      };
      const header = planArchiveHeader(0, metadata);
      let pos = offset - input.offset + header.length;
      const chunk: WakuMessage[] = [];
      for (let r = first; r < end; r++) {
        if (rankWeights[r]! > max) continue;
        checkUint('timestamp', rankTimestamps[r]!);
        const q = order ? order[r]! : r;
        p.count++;
        if (plain) {
          position[q] = pos;
          pos += lenFieldSize(bodies[q]!);
        } else {
          chunk.push(messages[q]!);
        }
      }
      if (plain) {
        p.header = header;
        p.raw = pos - (offset - input.offset);
      } else {
        p.stored = codec.encode(encodeWakuMessageArchive({ version: 0, metadata, messages: chunk }));
        p.raw = p.stored.length;
      }
      const { size, padding } = paddingFor(p.raw, P, options.extraPaddingPiece);
      p.meta.size = size;
      p.meta.padding = padding;
      planned.push(p);
      offset += size;
      first = end;
    }
    i = j;
  }

  // Every byte of the block is written below (archives, then their padding zeroed), so it
  // needs no zero-filling first: on a process that has freed memory before, the allocator
  // hands back pages already mapped. A plain Uint8Array view, not a Buffer (whose slice()
  // would share instead of copy).
  const length = offset - input.offset;
  const buffer = Buffer.allocUnsafeSlow(length);
  const block = new Uint8Array(buffer.buffer, buffer.byteOffset, length);
  const archives: BuiltArchive[] = [];
  for (const p of planned) {
    const start = p.meta.offset - input.offset;
    if (p.header) p.header.write(block, start);
    else block.set(p.stored!, start);
    block.fill(0, start + p.raw, start + p.meta.size);
    archives.push({
      id: archiveIdOf(p.meta),
      meta: p.meta,
      stored: block.subarray(start, start + p.raw),
      messages: p.count,
    });
  }
  // The messages in input order: see the comment above select().
  for (let q = 0; q < position.length; q++) {
    const pos = position[q]!;
    if (pos < 0) continue;
    const end = writeMessageField(block, pos, messages[q]!, bodies[q]!, thirdParty?.[q]);
    if (end !== pos + lenFieldSize(bodies[q]!)) {
      throw new Error(
        `archive layout: message ${q} took ${end - pos} bytes, planned ${lenFieldSize(bodies[q]!)}`,
      );
    }
  }
  // The block starts on a piece boundary, so its pieces are torrent pieces.
  const pieces = new Uint8Array((length / P) * 20);
  for (let p = 0; p < length; p += P) {
    pieces.set(hash('sha1', block.subarray(p, p + P), 'buffer'), (p / P) * 20);
  }
  return { archives, dropped, block, pieces };
}
