// Reassembly of segmented transport payloads on receipt, after the reference's receiver
// (docs/reference-wire.md §3), with bounds the reference leaves to its database: anyone can
// send segments, so what a node keeps for messages that never complete is capped in count,
// bytes and age, and every step costs time in proportion to the segment it handles (a
// completion, to the message it completes).
//
// The reference's rules kept here:
// - a payload is a segment when it decodes as a SegmentMessage with segments_count >= 2 or
//   parity_segments_count > 0; anything else goes on as the whole message;
// - segments are grouped by (entire_message_hash, the transport signer's key); a hash seen
//   complete before is dropped ("already completed", by hash alone);
// - a message is whole when all its data segments are there; their payloads are joined in
//   index order and must hash (Keccak-256) to entire_message_hash;
// - a segment arriving again for the same index replaces the stored one.
// Departures, all for input an honest sender never produces: a data segment whose index is
// not below its count, whose count differs from the count the message's first segment gave,
// or whose hash is not 32 bytes is refused at once; parity segments are dropped (archivist
// does not rebuild lost data segments from Reed-Solomon parity, so it completes a message
// only from all of its data segments).

import { keccak_256 } from '@noble/hashes/sha3.js';
import { DecodeError } from './codec.ts';
import { decodeSegmentMessage, type SegmentMessage } from './envelope-codec.ts';
import { hexDigits } from './hex.ts';
import { WAKU_MAX_MESSAGE_SIZE } from './segmentation.ts';

export class SegmentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SegmentError';
  }
}

export interface ReassemblerLimits {
  /** Messages kept incomplete at once; the oldest goes first. Default 64. */
  maxPendingMessages: number;
  /** Payload bytes kept for incomplete messages at once; the oldest go first. Default 64 MiB. */
  maxPendingBytes: number;
  /** Largest segments_count accepted. Default 128. */
  maxSegmentsPerMessage: number;
  /** Largest segment payload accepted. Default Waku's maximum message size (1 MiB). */
  maxSegmentBytes: number;
  /** An incomplete message older than this (ms since its first segment) is dropped. Default 1 h. */
  pendingTtlMs: number;
  /** Hashes remembered as completed. Default 4,096. */
  maxCompleted: number;
  /** How long a completed hash is remembered (ms). Default 30 days (the reference cleans up after a month). */
  completedTtlMs: number;
}

export const DEFAULT_REASSEMBLER_LIMITS: ReassemblerLimits = {
  maxPendingMessages: 64,
  maxPendingBytes: 64 * 1024 * 1024,
  maxSegmentsPerMessage: 128,
  maxSegmentBytes: WAKU_MAX_MESSAGE_SIZE,
  pendingTtlMs: 60 * 60 * 1000,
  maxCompleted: 4096,
  completedTtlMs: 30 * 24 * 60 * 60 * 1000,
};

export type SegmentOutcome =
  /** Not a segment: the transport payload is the whole message. */
  | { kind: 'whole'; payload: Uint8Array }
  /** A segment was kept (or a parity segment dropped); the message is not complete yet. */
  | { kind: 'incomplete' }
  /** This segment completed its message: the joined payload. */
  | { kind: 'complete'; payload: Uint8Array }
  /** A segment of a message completed before: dropped. */
  | { kind: 'alreadyCompleted' };

interface Pending {
  hashKey: string;
  segmentsCount: number;
  segments: Map<number, Uint8Array>;
  bytes: number;
  firstSeenAt: number;
}

/** True for a payload the reference treats as a segment. */
export function isSegment(s: SegmentMessage): boolean {
  return s.segmentsCount >= 2 || s.paritySegmentsCount > 0;
}

export class SegmentReassembler {
  readonly limits: ReassemblerLimits;
  /** Insertion order = age order (first segment seen). */
  readonly #pending = new Map<string, Pending>();
  /** hash (hex) -> when it completed; insertion order = age order. */
  readonly #completed = new Map<string, number>();
  #pendingBytes = 0;

  constructor(limits: Partial<ReassemblerLimits> = {}) {
    this.limits = { ...DEFAULT_REASSEMBLER_LIMITS, ...limits };
  }

  /** Incomplete messages and the payload bytes they hold. */
  get pending(): { messages: number; bytes: number } {
    return { messages: this.#pending.size, bytes: this.#pendingBytes };
  }

  get completed(): number {
    return this.#completed.size;
  }

  /**
   * Takes one transport payload from `sender` (the key that signed its Waku payload) at
   * `nowMs`. Throws SegmentError for a segment that can never complete correctly.
   */
  accept(payload: Uint8Array, sender: Uint8Array, nowMs: number): SegmentOutcome {
    this.#expire(nowMs);
    let segment: SegmentMessage;
    try {
      segment = decodeSegmentMessage(payload);
    } catch (error) {
      if (error instanceof DecodeError) return { kind: 'whole', payload };
      throw error;
    }
    if (!isSegment(segment)) return { kind: 'whole', payload };
    const hashKey = hexDigits(segment.entireMessageHash);
    if (this.#completed.has(hashKey)) return { kind: 'alreadyCompleted' };
    if (segment.segmentsCount === 0) return { kind: 'incomplete' }; // parity: not rebuilt from
    return this.#keep(segment, hashKey, `${hashKey}:${hexDigits(sender)}`, nowMs);
  }

  #keep(segment: SegmentMessage, hashKey: string, key: string, nowMs: number): SegmentOutcome {
    const { segmentsCount, index } = segment;
    const size = segment.payload.length;
    if (segment.entireMessageHash.length !== 32)
      throw new SegmentError(`segment hash has ${segment.entireMessageHash.length} bytes, expected 32`);
    if (segmentsCount > this.limits.maxSegmentsPerMessage)
      throw new SegmentError(
        `${segmentsCount} segments exceed the limit of ${this.limits.maxSegmentsPerMessage}`,
      );
    if (index >= segmentsCount)
      throw new SegmentError(`segment index ${index} is not below its count ${segmentsCount}`);
    if (size > this.limits.maxSegmentBytes)
      throw new SegmentError(`segment of ${size} bytes exceeds the limit of ${this.limits.maxSegmentBytes}`);
    if (size > this.limits.maxPendingBytes)
      throw new SegmentError(
        `segment of ${size} bytes exceeds the pending budget of ${this.limits.maxPendingBytes}`,
      );
    let entry = this.#pending.get(key);
    if (entry && entry.segmentsCount !== segmentsCount) {
      throw new SegmentError(
        `segment says ${segmentsCount} segments, its message's first said ${entry.segmentsCount}`,
      );
    }
    if (!entry) {
      entry = {
        hashKey,
        segmentsCount,
        segments: new Map(),
        bytes: 0,
        firstSeenAt: nowMs,
      };
      this.#pending.set(key, entry);
    }
    const previous = entry.segments.get(index);
    if (previous) this.#resize(entry, -previous.length);
    entry.segments.set(index, segment.payload);
    this.#resize(entry, size);
    this.#evictOverBudget(key);
    if (entry.segments.size < segmentsCount) return { kind: 'incomplete' };
    return this.#complete(key, entry, nowMs);
  }

  #complete(key: string, entry: Pending, nowMs: number): SegmentOutcome {
    this.#drop(key);
    const whole = new Uint8Array(entry.bytes);
    let at = 0;
    for (let i = 0; i < entry.segmentsCount; i++) {
      const part = entry.segments.get(i)!;
      whole.set(part, at);
      at += part.length;
    }
    const hash = keccak_256(whole);
    if (hexDigits(hash) !== entry.hashKey)
      throw new SegmentError('joined segments do not hash to the message hash');
    this.#completed.set(entry.hashKey, nowMs);
    while (this.#completed.size > this.limits.maxCompleted)
      this.#completed.delete(this.#completed.keys().next().value!);
    return { kind: 'complete', payload: whole };
  }

  #resize(entry: Pending, delta: number): void {
    entry.bytes += delta;
    this.#pendingBytes += delta;
  }

  #drop(key: string): void {
    const entry = this.#pending.get(key);
    if (!entry) return;
    this.#pendingBytes -= entry.bytes;
    this.#pending.delete(key);
  }

  /** Drops the oldest incomplete messages (never `keep`, the one just added to) until within budget. */
  #evictOverBudget(keep: string): void {
    for (const key of this.#pending.keys()) {
      const over =
        this.#pending.size > this.limits.maxPendingMessages ||
        this.#pendingBytes > this.limits.maxPendingBytes;
      if (!over) return;
      if (key !== keep) this.#drop(key);
    }
    // Only `keep` is left and it alone is over the byte budget.
    if (this.#pendingBytes > this.limits.maxPendingBytes) {
      this.#drop(keep);
      throw new SegmentError(`message exceeds the pending budget of ${this.limits.maxPendingBytes} bytes`);
    }
  }

  /** Ages out incomplete messages and completed hashes, oldest first (O(1) per entry dropped). */
  #expire(nowMs: number): void {
    for (const [key, entry] of this.#pending) {
      if (nowMs - entry.firstSeenAt <= this.limits.pendingTtlMs) break;
      this.#drop(key);
    }
    for (const [hash, at] of this.#completed) {
      if (nowMs - at <= this.limits.completedTtlMs) break;
      this.#completed.delete(hash);
    }
  }
}
