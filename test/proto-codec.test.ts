// Byte vectors below are worked out by hand from the protobuf wire rules:
// tag = (field << 3) | wire type (0 varint, 2 length-delimited); varints are 7 bits per byte,
// least significant group first; proto3 defaults are not written.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import {
  DecodeError,
  decodeApplicationMetadataMessage,
  decodeCommunityMessageArchiveMagnetlink,
  decodeWakuMessage,
  decodeWakuMessageArchive,
  decodeWakuMessageArchiveIndex,
  decodeWakuMessageArchiveIndexMetadata,
  encodeApplicationMetadataMessage,
  encodeCommunityMessageArchiveMagnetlink,
  encodeWakuMessage,
  encodeWakuMessageArchive,
  encodeWakuMessageArchiveIndex,
  encodeWakuMessageArchiveIndexMetadata,
  encodeWakuMessageArchiveMetadata,
} from '../proto/codec.ts';
import type { WakuMessage, WakuMessageArchiveIndexMetadata } from '../proto/types.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const b = (...values: number[]) => new Uint8Array(values);
const empty = new Uint8Array(0);

function message(fields: Partial<WakuMessage>): WakuMessage {
  return {
    sig: empty,
    timestamp: 0,
    topic: empty,
    payload: empty,
    padding: empty,
    hash: empty,
    thirdPartyId: '',
    ...fields,
  };
}

describe('byte vectors', () => {
  test('a WakuMessage with every field default encodes to nothing', () => {
    expect(hex(encodeWakuMessage(message({})))).toBe('');
  });

  test('WakuMessage: bytes, a two-byte varint and a string, in field order', () => {
    const bytes = encodeWakuMessage(
      message({ thirdPartyId: 'x', sig: b(1), timestamp: 300, topic: b(0xaa, 0xbb, 0xcc, 0xdd), hash: b(9) }),
    );
    // 0a 01 01       sig (1, LEN) = [1]
    // 10 ac 02       timestamp (2, VARINT) = 300 = 0b10_0101100 -> ac 02
    // 1a 04 aabbccdd topic (3, LEN)
    // 32 01 09       hash (6, LEN)
    // 3a 01 78       thirdPartyId (7, LEN) = "x"
    expect(hex(bytes)).toBe('0a010110ac021a04aabbccdd3201093a0178');
  });

  test('WakuMessageArchiveMetadata keeps empty elements of repeated bytes', () => {
    const bytes = encodeWakuMessageArchiveMetadata({
      version: 1,
      from: 0,
      to: 604800,
      contentTopic: [b(1, 2), empty],
    });
    // 08 01 version; from = 0 not written;
    // 18 80 f5 24 to = 604800 = 0x93a80: low 7 bits 0x00 -> 80, next 0x75 -> f5, then 0x24;
    // 22 02 0102; 22 00 (an empty element is still written)
    expect(hex(bytes)).toBe('08011880f524220201022200');
  });

  test('WakuMessageArchive writes its metadata even when empty', () => {
    const bytes = encodeWakuMessageArchive({
      version: 0,
      metadata: { version: 0, from: 0, to: 0, contentTopic: [] },
      messages: [message({ timestamp: 1 }), message({})],
    });
    // 12 00 metadata (empty but set); 1a 02 [10 01] first message (timestamp is field 2);
    // 1a 00 second message (all defaults)
    expect(hex(bytes)).toBe('12001a0210011a00');
  });

  test('WakuMessageArchiveIndexMetadata: large uint64 varints', () => {
    const bytes = encodeWakuMessageArchiveIndexMetadata({
      version: 1,
      metadata: { version: 1, from: 1, to: 2, contentTopic: [] },
      offset: 204800,
      size: 102400,
      padding: 0,
    });
    // 08 01; 12 06 [08 01 10 01 18 02]; 18 80 c0 0c offset = 204800; 20 80 a0 06 size = 102400
    expect(hex(bytes)).toBe('08011206080110011802188' + '0c00c2080a006');
  });

  test('WakuMessageArchiveIndex: map entries sorted by key, key and value always written', () => {
    const meta: WakuMessageArchiveIndexMetadata = {
      version: 0,
      metadata: { version: 0, from: 0, to: 0, contentTopic: [] },
      offset: 0,
      size: 5,
      padding: 0,
    };
    const bytes = encodeWakuMessageArchiveIndex({
      archives: new Map([
        ['b', meta],
        ['a', meta],
      ]),
    });
    // each entry: 0a 09 [0a 01 <key>] [12 04 [12 00 20 05]]
    expect(hex(bytes)).toBe('0a090a0161120412002005' + '0a090a0162120412002005');
  });

  test('CommunityMessageArchiveMagnetlink and ApplicationMetadataMessage', () => {
    const link = encodeCommunityMessageArchiveMagnetlink({ clock: 1, magnetUri: 'm' });
    expect(hex(link)).toBe('080112016d');
    const app = encodeApplicationMetadataMessage({ signature: b(7), payload: link, type: 43 });
    // 0a 01 07; 12 05 <link>; 18 2b
    expect(hex(app)).toBe('0a01071205080112016d182b');
  });
});

const bytesArb = fc.uint8Array({ maxLength: 40 });
const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const messageArb = fc.record({
  sig: bytesArb,
  timestamp: uint,
  topic: fc.uint8Array({ minLength: 4, maxLength: 4 }),
  payload: bytesArb,
  padding: bytesArb,
  hash: bytesArb,
  thirdPartyId: fc.string({ maxLength: 12 }),
});
const metadataArb = fc.record({
  version: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  from: uint,
  to: uint,
  contentTopic: fc.array(bytesArb, { maxLength: 4 }),
});
const indexMetaArb = fc.record({
  version: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  metadata: metadataArb,
  offset: uint,
  size: uint,
  padding: uint,
});

describe('round trips', () => {
  fcTest.prop([messageArb])('WakuMessage', (m) => {
    expect(decodeWakuMessage(encodeWakuMessage(m))).toEqual(m);
  });
  fcTest.prop([
    fc.record({
      version: fc.nat(9),
      metadata: metadataArb,
      messages: fc.array(messageArb, { maxLength: 5 }),
    }),
  ])('WakuMessageArchive', (a) => {
    expect(decodeWakuMessageArchive(encodeWakuMessageArchive(a))).toEqual(a);
  });
  fcTest.prop([indexMetaArb])('WakuMessageArchiveIndexMetadata', (m) => {
    expect(decodeWakuMessageArchiveIndexMetadata(encodeWakuMessageArchiveIndexMetadata(m))).toEqual(m);
  });
  fcTest.prop([fc.dictionary(fc.string({ maxLength: 8 }), indexMetaArb, { maxKeys: 5 })])(
    'WakuMessageArchiveIndex, and encoding is independent of insertion order',
    (entries) => {
      const ids = Object.keys(entries);
      const forward = { archives: new Map(ids.map((id) => [id, entries[id]!])) };
      const backward = { archives: new Map([...ids].reverse().map((id) => [id, entries[id]!])) };
      const bytes = encodeWakuMessageArchiveIndex(forward);
      expect(hex(encodeWakuMessageArchiveIndex(backward))).toBe(hex(bytes));
      const sorted = [...forward.archives].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      expect(decodeWakuMessageArchiveIndex(bytes)).toEqual({ archives: new Map(sorted) });
    },
  );
  fcTest.prop([fc.record({ clock: uint, magnetUri: fc.string({ maxLength: 60 }) })])('magnetlink', (m) => {
    expect(decodeCommunityMessageArchiveMagnetlink(encodeCommunityMessageArchiveMagnetlink(m))).toEqual(m);
  });
  fcTest.prop([fc.record({ signature: bytesArb, payload: bytesArb, type: fc.nat(100) })])(
    'application message',
    (m) => {
      expect(decodeApplicationMetadataMessage(encodeApplicationMetadataMessage(m))).toEqual(m);
    },
  );
});

describe('malformed input', () => {
  test('truncated bytes raise DecodeError naming the message type', () => {
    expect(() => decodeWakuMessage(b(0x0a, 0x05, 0x01))).toThrow(DecodeError);
    expect(() => decodeWakuMessageArchiveIndex(b(0x0a, 0xff))).toThrow(/WakuMessageArchiveIndex/);
  });
  fcTest.prop([fc.uint8Array({ maxLength: 64 })])(
    'random bytes never throw anything but DecodeError',
    (bytes) => {
      for (const decode of [
        decodeWakuMessageArchive,
        decodeWakuMessageArchiveIndex,
        decodeApplicationMetadataMessage,
      ]) {
        try {
          decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }
    },
  );
  test('an index entry with a uint64 past 2^53 is refused when decoded (it could not be encoded again)', () => {
    // 20 = field 4 (size), varint 2^60
    const size60 = b(0x12, 0x00, 0x20, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10);
    expect(() => decodeWakuMessageArchiveIndexMetadata(size60)).toThrow(DecodeError);
    expect(() => decodeWakuMessageArchiveIndexMetadata(size60)).toThrow(/size \d+ is past 2\^53/);
    // archives = {"a": that entry}: field 1, a map entry of key (field 1) and value (field 2)
    const index = b(0x0a, 5 + size60.length, 0x0a, 0x01, 0x61, 0x12, size60.length, ...size60);
    expect(() => decodeWakuMessageArchiveIndex(index)).toThrow(/WakuMessageArchiveIndexMetadata/);
  });

  test('negative or unsafe numbers are refused before encoding', () => {
    expect(() => encodeWakuMessage(message({ timestamp: -1 }))).toThrow(/timestamp/);
    expect(() => encodeWakuMessage(message({ timestamp: 2 ** 60 }))).toThrow(/timestamp/);
  });
});
