// The pure core of the archive format (protocol.md §4, §5.1 steps 3–5): bytes and objects
// in, bytes and objects out; no file system, no clock.

import { createHash } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { planArchive } from '../proto/archive-writer.ts';
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
 * Splits messages into chunks whose weights add up to at most `max`; a single message
 * heavier than `max` is dropped and counted.
 */
export function chunkMessages(
  messages: WakuMessage[],
  max: number,
): { chunks: WakuMessage[][]; dropped: number } {
  const chunks: WakuMessage[][] = [];
  let current: WakuMessage[] = [];
  let weight = 0;
  let dropped = 0;
  for (const m of messages) {
    const w = chunkWeight(m);
    if (w > max) {
      dropped++;
      continue;
    }
    if (current.length > 0 && weight + w > max) {
      chunks.push(current);
      current = [];
      weight = 0;
    }
    current.push(m);
    weight += w;
  }
  if (current.length > 0) chunks.push(current);
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

/** Messages of the round: on one of `topics`, with start <= timestamp < end, in the stable order. */
export function selectMessages(
  topics: Uint8Array[],
  messages: WakuMessage[],
  start: number,
  end: number,
): WakuMessage[] {
  const wanted = new Set(topics.map(toHex));
  return messages
    .filter((m) => m.timestamp >= start && m.timestamp < end && wanted.has(toHex(m.topic)))
    .sort(compareMessages);
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
  /** SHA-1 of each P-byte piece of `block`. */
  pieceHashes: Uint8Array[];
} {
  const { options, topics } = input;
  const codec = input.codec ?? plainCodec;
  const P = options.pieceLength;
  const messages = selectMessages(topics, input.messages, input.start, input.end);
  const planned: Array<{
    meta: WakuMessageArchiveIndexMetadata;
    raw: number;
    count: number;
    write: (block: Uint8Array, at: number, progress: (pos: number) => void) => void;
  }> = [];
  let dropped = 0;
  let offset = input.offset;
  let i = 0;
  while (i < messages.length) {
    // Jump straight to the partition of the next message: the windows in between are empty.
    const k = Math.floor((messages[i]!.timestamp - input.start) / options.interval);
    const from = input.start + k * options.interval;
    const to = Math.min(from + options.interval, input.end);
    let j = i;
    while (j < messages.length && messages[j]!.timestamp < to) j++;
    const window = messages.slice(i, j);
    i = j;
    const chunked = chunkMessages(window, options.maxArchiveBytes);
    dropped += chunked.dropped;
    for (const chunk of chunked.chunks) {
      const metadata = { version: 0, from, to, contentTopic: topics };
      const archive = { version: 0, metadata, messages: chunk };
      let raw: number;
      let write: (block: Uint8Array, at: number, progress: (pos: number) => void) => void;
      if (codec === plainCodec) {
        // Plain communities: encode straight into the block (no intermediate copy).
        const plan = planArchive(archive);
        raw = plan.length;
        write = (block, at, progress) => {
          plan.write(block, at, progress);
        };
      } else {
        const stored = codec.encode(encodeWakuMessageArchive(archive));
        raw = stored.length;
        write = (block, at) => block.set(stored, at);
      }
      const { size, padding } = paddingFor(raw, P, options.extraPaddingPiece);
      planned.push({
        meta: { version: 0, metadata, offset, size, padding },
        raw,
        count: chunk.length,
        write,
      });
      offset += size;
    }
  }
  const block = new Uint8Array(offset - input.offset);
  // The block starts on a piece boundary, so its pieces are torrent pieces. Each piece is
  // hashed as soon as it is written, while its bytes are still in the cache.
  const pieceHashes: Uint8Array[] = [];
  let hashed = 0;
  const progress = (pos: number): void => {
    for (; hashed + P <= pos; hashed += P) {
      pieceHashes.push(
        createHash('sha1')
          .update(block.subarray(hashed, hashed + P))
          .digest(),
      );
    }
  };
  const archives: BuiltArchive[] = planned.map((p) => {
    const at = p.meta.offset - input.offset;
    p.write(block, at, progress);
    progress(at + p.meta.size); // the rest of the archive and its zero padding
    return {
      id: archiveIdOf(p.meta),
      meta: p.meta,
      stored: block.subarray(at, at + p.raw),
      messages: p.count,
    };
  });
  return { archives, dropped, block, pieceHashes };
}
