// The in-memory storage packs messages per topic (adapters/sim/message-columns.ts) with a
// hash index of its own: checked against the plainest model of the Storage port (a list,
// deduplicated by hash, sorted by timestamp then hash) over random saves, duplicates,
// out-of-order history and deletes.
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { MemoryStorage } from '../adapters/sim/memory-storage.ts';
import { hexDigits } from '../proto/hex.ts';
import type { WakuMessage } from '../proto/types.ts';

const TOPICS = [Uint8Array.of(1, 1, 1, 1), Uint8Array.of(2, 2, 2, 2), Uint8Array.of(3, 3, 3, 3)];
const pool = new Uint8Array(4096).map((_, i) => i & 0xff);

const message = fc
  .record({
    ts: fc.integer({ min: 0, max: 50 }),
    topic: fc.integer({ min: 0, max: 2 }),
    // few distinct hashes: duplicates are common; some share their first bytes
    hash: fc.integer({ min: 0, max: 120 }),
    at: fc.integer({ min: 0, max: 4000 }),
    len: fc.integer({ min: 0, max: 90 }),
    third: fc.boolean(),
  })
  .map(
    (r): WakuMessage => ({
      sig: Uint8Array.of(r.hash, r.ts, 7),
      timestamp: r.ts,
      topic: TOPICS[r.topic] as Uint8Array,
      payload: pool.subarray(r.at, r.at + r.len),
      padding: r.third ? Uint8Array.of(9) : new Uint8Array(0),
      hash: new Uint8Array(32).fill(r.hash % 7).map((b, i) => (i === 31 ? r.hash : b)),
      thirdPartyId: r.third ? `t${r.hash}` : '',
    }),
  );

const op = fc.oneof(
  fc.record({ kind: fc.constant('save' as const), batch: fc.array(message, { maxLength: 6 }) }),
  fc.record({
    kind: fc.constant('delete' as const),
    topics: fc.subarray([0, 1, 2], { minLength: 1 }),
    from: fc.integer({ min: 0, max: 50 }),
    span: fc.integer({ min: 0, max: 20 }),
  }),
);

const key = (m: WakuMessage) => hexDigits(m.hash);
const view = (m: WakuMessage) => ({
  ts: m.timestamp,
  topic: hexDigits(m.topic),
  hash: key(m),
  sig: hexDigits(m.sig),
  payload: hexDigits(m.payload),
  padding: hexDigits(m.padding),
  third: m.thirdPartyId,
});

test.prop([fc.array(op, { maxLength: 40 })], { numRuns: 300 })(
  'matches a plain sorted list of messages, deduplicated by hash',
  (ops) => {
    const storage = new MemoryStorage();
    let model: WakuMessage[] = [];
    for (const o of ops) {
      if (o.kind === 'save') {
        const have = new Set(model.map(key));
        let fresh = 0;
        for (const m of o.batch) {
          if (have.has(key(m))) continue;
          have.add(key(m));
          model.push(m);
          fresh++;
        }
        expect(storage.saveMessages(o.batch)).toBe(fresh);
      } else {
        const topics = o.topics.map((i) => TOPICS[i] as Uint8Array);
        const inRange = (m: WakuMessage) =>
          topics.some((t) => hexDigits(t) === hexDigits(m.topic)) &&
          m.timestamp >= o.from &&
          m.timestamp < o.from + o.span;
        expect(storage.deleteMessagesInRange(topics, o.from, o.from + o.span)).toBe(
          model.filter(inRange).length,
        );
        model = model.filter((m) => !inRange(m));
      }
    }
    const sorted = (ms: WakuMessage[]) =>
      [...ms].sort((a, b) => a.timestamp - b.timestamp || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
    expect(storage.countMessages()).toBe(model.length);
    for (const topics of [[TOPICS[0]!], [TOPICS[1]!, TOPICS[2]!], TOPICS]) {
      const want = sorted(model.filter((m) => topics.some((t) => hexDigits(t) === hexDigits(m.topic))));
      expect(storage.messagesInRange(topics, 0, 51).map(view)).toEqual(want.map(view));
      expect(storage.messagesInRange(topics, 10, 30).map(view)).toEqual(
        want.filter((m) => m.timestamp >= 10 && m.timestamp < 30).map(view),
      );
      expect(storage.oldestMessageTimestamp(topics)).toBe(want[0]?.timestamp);
      expect(storage.newestMessageTimestamp(topics)).toBe(want.at(-1)?.timestamp);
      expect(storage.countMessages(topics)).toBe(want.length);
    }
  },
);
