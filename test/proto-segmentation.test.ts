// Segmentation of large transport payloads and their reassembly (docs/reference-wire.md §3):
// the reference's split rule, reassembly in any order, and the bounds that keep hostile
// segments from growing a node's memory or its work per message.
import { fc, test as fcTest } from '@fast-check/vitest';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { describe, expect, test } from 'vitest';
import { decodeSegmentMessage, encodeSegmentMessage } from '../proto/envelope-codec.ts';
import { SegmentError, SegmentReassembler } from '../proto/segment-reassembler.ts';
import { segmentPayload, segmentSizeFor, WAKU_MAX_MESSAGE_SIZE } from '../proto/segmentation.ts';

const sender = new Uint8Array(65).fill(4);
const payloadOf = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff);

describe('segmentPayload (the sender)', () => {
  test("the reference's size: 3/4 of Waku's 1 MiB maximum", () => {
    expect(WAKU_MAX_MESSAGE_SIZE).toBe(1_048_576);
    expect(segmentSizeFor(WAKU_MAX_MESSAGE_SIZE)).toBe(786_432);
    expect(segmentSizeFor(1001)).toBe(750); // integer division first, as in Go's uint32 arithmetic
  });

  test('a payload that fits is sent unwrapped; one byte more makes two segments', () => {
    const fits = payloadOf(100);
    expect(segmentPayload(fits, 100)).toEqual([fits]);
    const segments = segmentPayload(payloadOf(101), 100).map(decodeSegmentMessage);
    expect(segments.map((s) => [s.index, s.segmentsCount, s.payload.length])).toEqual([
      [0, 2, 100],
      [1, 2, 1],
    ]);
    for (const s of segments) {
      expect(s.entireMessageHash).toEqual(keccak_256(payloadOf(101)));
      expect([s.paritySegmentIndex, s.paritySegmentsCount]).toEqual([0, 0]);
    }
  });

  test('ceil(length / size) data segments, joined in index order give the payload back', () => {
    const p = payloadOf(2_501);
    const segments = segmentPayload(p, 1_000).map(decodeSegmentMessage);
    expect(segments).toHaveLength(3);
    expect(Buffer.concat(segments.map((s) => s.payload))).toEqual(Buffer.from(p));
  });
});

describe('SegmentReassembler (the receiver)', () => {
  fcTest.prop(
    [
      fc.integer({ min: 2, max: 12 }),
      fc.integer({ min: 1, max: 50 }),
      fc.infiniteStream(fc.nat()),
      fc.nat(3),
    ],
    { numRuns: 150 },
  )(
    'any arrival order, with repeats, completes exactly once with the original payload',
    (count, size, order, repeats) => {
      const p = payloadOf(count * size - (size > 1 ? 1 : 0), count);
      const segments = segmentPayload(p, size);
      fc.pre(segments.length >= 2);
      // a shuffled order with some segments sent twice
      const arrivals = [...segments.keys()];
      const it = order[Symbol.iterator]();
      for (let i = arrivals.length - 1; i > 0; i--) {
        const j = it.next().value! % (i + 1);
        [arrivals[i], arrivals[j]] = [arrivals[j]!, arrivals[i]!];
      }
      for (let r = 0; r < repeats; r++) arrivals.splice(it.next().value! % arrivals.length, 0, arrivals[0]!);
      const r = new SegmentReassembler();
      const outcomes = arrivals.map((i) => r.accept(segments[i]!, sender, 0));
      const complete = outcomes.filter((o) => o.kind === 'complete');
      expect(complete).toHaveLength(1);
      expect((complete[0] as { payload: Uint8Array }).payload).toEqual(p);
      expect(outcomes.every((o) => ['incomplete', 'complete', 'alreadyCompleted'].includes(o.kind))).toBe(
        true,
      );
      expect(r.pending).toEqual({ messages: 0, bytes: 0 });
    },
  );

  test('a payload that is not a segment goes on whole (a ProtocolMessage decodes as no segment)', () => {
    const r = new SegmentReassembler();
    const notSegment = Uint8Array.from([0x12, 2, 0x61, 0x62, 0xb2, 0x06, 1, 0x7a]);
    expect(r.accept(notSegment, sender, 0)).toEqual({ kind: 'whole', payload: notSegment });
    expect(r.accept(Uint8Array.from([0xff]), sender, 0)).toMatchObject({ kind: 'whole' });
    // segments_count 1 and no parity: not a segment for the reference either
    const one = encodeSegmentMessage({
      entireMessageHash: keccak_256(Uint8Array.of(1)),
      index: 0,
      segmentsCount: 1,
      payload: Uint8Array.of(1),
      paritySegmentIndex: 0,
      paritySegmentsCount: 0,
    });
    expect(r.accept(one, sender, 0)).toEqual({ kind: 'whole', payload: one });
  });

  test('segments from two senders of the same hash are kept apart', () => {
    const segments = segmentPayload(payloadOf(30), 10);
    const r = new SegmentReassembler();
    const other = new Uint8Array(65).fill(5);
    expect(r.accept(segments[0]!, sender, 0).kind).toBe('incomplete');
    expect(r.accept(segments[1]!, other, 0).kind).toBe('incomplete');
    expect(r.pending.messages).toBe(2);
  });

  test('joined segments that do not hash to the message hash are refused', () => {
    const segments = segmentPayload(payloadOf(30), 10).map(decodeSegmentMessage);
    segments[1]!.payload = payloadOf(10, 99);
    const r = new SegmentReassembler();
    r.accept(encodeSegmentMessage(segments[0]!), sender, 0);
    r.accept(encodeSegmentMessage(segments[1]!), sender, 0);
    expect(() => r.accept(encodeSegmentMessage(segments[2]!), sender, 0)).toThrow(SegmentError);
    expect(r.pending.messages).toBe(0);
  });

  test('inconsistent segments are refused: index past the count, another count, a short hash, a large count', () => {
    const base = decodeSegmentMessage(segmentPayload(payloadOf(30), 10)[0]!);
    const r = new SegmentReassembler({ maxSegmentsPerMessage: 16 });
    expect(() => r.accept(encodeSegmentMessage({ ...base, index: 3 }), sender, 0)).toThrow(
      /not below its count/,
    );
    r.accept(encodeSegmentMessage(base), sender, 0);
    expect(() => r.accept(encodeSegmentMessage({ ...base, index: 1, segmentsCount: 4 }), sender, 0)).toThrow(
      /first said 3/,
    );
    expect(() =>
      r.accept(encodeSegmentMessage({ ...base, entireMessageHash: Uint8Array.of(1) }), sender, 0),
    ).toThrow(/32/);
    expect(() => r.accept(encodeSegmentMessage({ ...base, segmentsCount: 17 }), sender, 0)).toThrow(
      /limit of 16/,
    );
  });

  test('a completed hash is dropped when its segments come again; parity segments are dropped', () => {
    const segments = segmentPayload(payloadOf(20), 10);
    const r = new SegmentReassembler();
    r.accept(segments[0]!, sender, 0);
    expect(r.accept(segments[1]!, sender, 0).kind).toBe('complete');
    expect(r.accept(segments[0]!, sender, 0)).toEqual({ kind: 'alreadyCompleted' });
    const parity = encodeSegmentMessage({
      ...decodeSegmentMessage(segmentPayload(payloadOf(20, 7), 10)[0]!),
      index: 0,
      segmentsCount: 0,
      paritySegmentIndex: 0,
      paritySegmentsCount: 1,
    });
    expect(r.accept(parity, sender, 0)).toEqual({ kind: 'incomplete' });
    expect(r.pending.messages).toBe(0);
  });

  test('hostile senders: incomplete messages stay within the count and byte budgets, oldest dropped first', () => {
    const r = new SegmentReassembler({ maxPendingMessages: 8, maxPendingBytes: 5_000 });
    for (let i = 0; i < 1_000; i++) {
      const first = segmentPayload(payloadOf(2_000, i), 1_000)[0]!;
      expect(r.accept(first, sender, i).kind).toBe('incomplete');
      expect(r.pending.messages).toBeLessThanOrEqual(8);
      expect(r.pending.bytes).toBeLessThanOrEqual(5_000);
    }
    // the newest survive: the last message completes, an early one no longer can
    const last = segmentPayload(payloadOf(2_000, 999), 1_000);
    expect(r.accept(last[1]!, sender, 1_000).kind).toBe('complete');
    const early = segmentPayload(payloadOf(2_000, 3), 1_000);
    expect(r.accept(early[1]!, sender, 1_000).kind).toBe('incomplete');
  });

  test('a single message larger than the byte budget is refused', () => {
    const r = new SegmentReassembler({ maxPendingBytes: 1_500 });
    const segments = segmentPayload(payloadOf(3_000), 1_000);
    r.accept(segments[0]!, sender, 0);
    expect(() => r.accept(segments[1]!, sender, 0)).toThrow(/pending budget/);
    expect(r.pending).toEqual({ messages: 0, bytes: 0 });
  });

  test('incomplete messages age out; completed hashes are forgotten after their time and past their count', () => {
    const r = new SegmentReassembler({ pendingTtlMs: 1_000, completedTtlMs: 5_000, maxCompleted: 2 });
    const a = segmentPayload(payloadOf(20, 1), 10);
    r.accept(a[0]!, sender, 0);
    r.accept(payloadOf(3), sender, 1_001); // any later traffic ages the first out
    expect(r.pending.messages).toBe(0);
    expect(r.accept(a[1]!, sender, 1_001).kind).toBe('incomplete');
    expect(r.accept(a[0]!, sender, 1_002).kind).toBe('complete');
    expect(r.accept(a[0]!, sender, 2_000).kind).toBe('alreadyCompleted');
    expect(r.accept(a[0]!, sender, 7_003).kind).toBe('incomplete'); // forgotten after 5 s
    for (const seed of [2, 3, 4]) {
      const s = segmentPayload(payloadOf(20, seed), 10);
      r.accept(s[0]!, sender, 7_004);
      r.accept(s[1]!, sender, 7_004);
    }
    expect(r.completed).toBe(2);
  });

  fcTest.prop([fc.array(fc.uint8Array({ maxLength: 120 }), { maxLength: 60 })], { numRuns: 200 })(
    'hostile bytes: only SegmentError, and the budgets hold',
    (payloads) => {
      const r = new SegmentReassembler({ maxPendingMessages: 4, maxPendingBytes: 1_000 });
      for (const [i, p] of payloads.entries()) {
        try {
          r.accept(p, sender, i);
        } catch (error) {
          expect(error).toBeInstanceOf(SegmentError);
        }
        expect(r.pending.messages).toBeLessThanOrEqual(4);
        expect(r.pending.bytes).toBeLessThanOrEqual(1_000);
      }
    },
  );
});
