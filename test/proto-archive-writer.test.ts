// The hand-written archive encoder (the hot path) writes exactly what protobufjs writes.

import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  decodeWakuMessageArchive,
  encodeWakuMessageArchive,
  encodeWakuMessageArchiveWithProtobufjs,
} from '../proto/codec.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = fc.uint8Array({ maxLength: 300 });
const uint = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 200 }),
  fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
);
const message = fc.record({
  sig: bytes,
  timestamp: uint,
  topic: fc.uint8Array({ maxLength: 4 }),
  payload: fc.uint8Array({ maxLength: 20_000 }),
  padding: fc.uint8Array({ maxLength: 8 }),
  hash: fc.uint8Array({ maxLength: 32 }),
  thirdPartyId: fc.string({ maxLength: 20, unit: 'binary' }),
});
const archive = fc.record({
  version: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
  metadata: fc.record({
    version: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 2 ** 32 - 1 })),
    from: uint,
    to: uint,
    contentTopic: fc.array(fc.uint8Array({ maxLength: 4 }), { maxLength: 3 }),
  }),
  messages: fc.array(message, { maxLength: 8 }),
});

describe('fast archive writer', () => {
  fcTest.prop([archive], { numRuns: 200 })('same bytes as protobufjs, and decodes back', (a) => {
    const fast = encodeWakuMessageArchive(a);
    expect(hex(fast)).toBe(hex(encodeWakuMessageArchiveWithProtobufjs(a)));
    expect(decodeWakuMessageArchive(fast)).toEqual(a);
  });

  test('refuses what protobufjs-side encoding refuses: negative or unsafe numbers', () => {
    const base = { version: 0, metadata: { version: 0, from: 0, to: 0, contentTopic: [] }, messages: [] };
    expect(() => encodeWakuMessageArchive({ ...base, metadata: { ...base.metadata, from: -1 } })).toThrow(
      /from/,
    );
    expect(() => encodeWakuMessageArchive({ ...base, version: 2 ** 32 })).toThrow(/version/);
    const m = {
      sig: new Uint8Array(0),
      timestamp: 2 ** 53,
      topic: new Uint8Array(0),
      payload: new Uint8Array(0),
      padding: new Uint8Array(0),
      hash: new Uint8Array(0),
      thirdPartyId: '',
    };
    expect(() => encodeWakuMessageArchive({ ...base, messages: [m] })).toThrow(/timestamp/);
  });
});
