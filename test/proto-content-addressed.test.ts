// Wire formats of the content-addressed backend (docs/content-addressed.md): byte vectors
// worked out by hand from the protobuf wire rules (tag = field << 3 | wire type; proto3
// defaults not written; fields in number order), round trips, and hostile bytes.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { archiveLinkKind, parseContentId } from '../proto/archive-link.ts';
import {
  DecodeError,
  decodeCommunityDescriptionArchiveClocks,
  decodeCommunityMessageArchiveLink,
  decodeCommunityRequestToJoinResponseArchiveLink,
  decodeLogosStorageWakuMessageArchiveIndex,
  decodeLogosStorageWakuMessageArchiveIndexMetadata,
  encodeCommunityDescriptionArchiveClocks,
  encodeCommunityMessageArchiveLink,
  encodeCommunityMessageArchiveMagnetlink,
  encodeCommunityRequestToJoinResponseArchiveLink,
  encodeLogosStorageWakuMessageArchiveIndex,
  encodeLogosStorageWakuMessageArchiveIndexMetadata,
} from '../proto/codec.ts';
import {
  communityIdOf,
  decodeArchiveLinkMessage,
  decodeMagnetlinkMessage,
  encodeArchiveLinkMessage,
  encodeMagnetlinkMessage,
  generateCommunityKey,
} from '../proto/signing.ts';
import {
  ApplicationMetadataMessageType,
  type LogosStorageWakuMessageArchiveIndexMetadata,
} from '../proto/types.ts';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const b = (...values: number[]) => new Uint8Array(values);
const emptyMeta = { version: 0, from: 0, to: 0, contentTopic: [] as Uint8Array[] };

describe('byte vectors', () => {
  test('CommunityMessageArchiveLink: clock 1, link "m" (the magnetlink message bytes)', () => {
    // 08 01 clock (1, VARINT); 12 01 6d archive_link (2, LEN) = "m"
    expect(hex(encodeCommunityMessageArchiveLink({ clock: 1, archiveLink: 'm' }))).toBe('080112016d');
    expect(decodeCommunityMessageArchiveLink(b(0x08, 0x01, 0x12, 0x01, 0x6d))).toEqual({
      clock: 1,
      archiveLink: 'm',
    });
  });

  test('an index entry: metadata (set, so written) then the cid; version 0 not written', () => {
    const entry: LogosStorageWakuMessageArchiveIndexMetadata = {
      version: 0,
      metadata: { version: 0, from: 1, to: 2, contentTopic: [b(0xaa, 0xbb, 0xcc, 0xdd)] },
      cid: 'b',
    };
    // metadata: 10 01 from; 18 02 to; 22 04 aabbccdd contentTopic -> 10 bytes
    // entry: 12 0a <metadata> (2, LEN); 1a 01 62 cid (3, LEN) = "b"
    expect(hex(encodeLogosStorageWakuMessageArchiveIndexMetadata(entry))).toBe(
      '120a100118022204aabbccdd1a0162',
    );
  });

  test('an entry with every field default is the empty metadata alone; version 1 leads', () => {
    expect(
      hex(encodeLogosStorageWakuMessageArchiveIndexMetadata({ version: 0, metadata: emptyMeta, cid: '' })),
    ).toBe('1200');
    expect(
      hex(encodeLogosStorageWakuMessageArchiveIndexMetadata({ version: 1, metadata: emptyMeta, cid: '' })),
    ).toBe('08011200');
  });

  test('the index: one map entry per archive, key then value, keys ascending', () => {
    const entry = { version: 0, metadata: emptyMeta, cid: 'x' };
    const bytes = encodeLogosStorageWakuMessageArchiveIndex({
      archives: new Map([
        ['b', entry],
        ['a', entry],
      ]),
    });
    // value: 12 00 (empty metadata) 1a 01 78 (cid "x") -> 5 bytes
    // map entry: 0a 0a [0a 01 <key> (1, LEN): 3 bytes] [12 05 <value> (2, LEN): 7 bytes]
    expect(hex(bytes)).toBe('0a0a0a016112051200' + '1a0178' + '0a0a0a016212051200' + '1a0178');
    expect(hex(encodeLogosStorageWakuMessageArchiveIndex({ archives: new Map() }))).toBe('');
  });

  test('CommunityDescription: clock (1) and archive link clock (9); other fields skipped when reading', () => {
    // 08 05 clock = 5; 48 ac 02 field 9 (9 << 3 = 0x48, VARINT) = 300
    expect(hex(encodeCommunityDescriptionArchiveClocks({ clock: 5, archiveLinkClock: 300 }))).toBe(
      '080548ac02',
    );
    const whole = b(
      0x08,
      0x05, // clock
      0x12,
      0x03,
      0x0a,
      0x01,
      0x61, // members (2): a map entry with key "a"
      0x48,
      0xac,
      0x02, // archive_link_clock (9)
      0x68,
      0x01, // encrypted (13, VARINT) = true
    );
    expect(decodeCommunityDescriptionArchiveClocks(whole)).toEqual({ clock: 5, archiveLinkClock: 300 });
  });

  test('CommunityRequestToJoinResponse: clock, accepted, community_id, archive_link', () => {
    const bytes = encodeCommunityRequestToJoinResponseArchiveLink({
      clock: 2,
      accepted: true,
      communityId: b(1, 2),
      archiveLink: 'z',
    });
    // 08 02 clock; 18 01 accepted (3); 2a 02 0102 community_id (5, LEN); 32 01 7a archive_link (6, LEN)
    expect(hex(bytes)).toBe('080218012a02010232017a');
    expect(decodeCommunityRequestToJoinResponseArchiveLink(bytes)).toEqual({
      clock: 2,
      accepted: true,
      communityId: b(1, 2),
      archiveLink: 'z',
    });
  });

  test('the signed archive link message is type 43 and the magnetlink message bytes for the same link', () => {
    const key = generateCommunityKey(new Uint8Array(32).fill(9));
    const link = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
    const bytes = encodeArchiveLinkMessage(key, 1_700_000_000_000, link);
    expect(hex(bytes)).toBe(hex(encodeMagnetlinkMessage(key, 1_700_000_000_000, link)));
    expect(bytes.at(-2)).toBe(0x18); // type (3, VARINT)
    expect(bytes.at(-1)).toBe(ApplicationMetadataMessageType.COMMUNITY_MESSAGE_ARCHIVE_LINK);
    expect(decodeArchiveLinkMessage(bytes)).toEqual({
      signer: communityIdOf(key),
      clock: 1_700_000_000_000,
      archiveLink: link,
    });
    expect(decodeMagnetlinkMessage(bytes).magnetUri).toBe(link);
  });
});

const uint = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
const bytesArb = fc.uint8Array({ maxLength: 24 });
const metadataArb = fc.record({
  version: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  from: uint,
  to: uint,
  contentTopic: fc.array(bytesArb, { maxLength: 3 }),
});
const entryArb = fc.record({
  version: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
  metadata: metadataArb,
  cid: fc.string(),
});

describe('round trips', () => {
  fcTest.prop([fc.record({ clock: uint, archiveLink: fc.string({ maxLength: 80 }) })])(
    'archive link, byte-identical to the magnetlink message',
    (m) => {
      const bytes = encodeCommunityMessageArchiveLink(m);
      expect(decodeCommunityMessageArchiveLink(bytes)).toEqual(m);
      expect(hex(encodeCommunityMessageArchiveMagnetlink({ clock: m.clock, magnetUri: m.archiveLink }))).toBe(
        hex(bytes),
      );
    },
  );
  fcTest.prop([entryArb])('index entry', (e) => {
    expect(
      decodeLogosStorageWakuMessageArchiveIndexMetadata(encodeLogosStorageWakuMessageArchiveIndexMetadata(e)),
    ).toEqual(e);
  });
  fcTest.prop([fc.dictionary(fc.string({ maxLength: 8 }), entryArb, { maxKeys: 5 })])(
    'index, independent of insertion order',
    (entries) => {
      const ids = Object.keys(entries);
      const forward = { archives: new Map(ids.map((id) => [id, entries[id]!])) };
      const backward = { archives: new Map([...ids].reverse().map((id) => [id, entries[id]!])) };
      const bytes = encodeLogosStorageWakuMessageArchiveIndex(forward);
      expect(hex(encodeLogosStorageWakuMessageArchiveIndex(backward))).toBe(hex(bytes));
      const sorted = [...forward.archives].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      expect(decodeLogosStorageWakuMessageArchiveIndex(bytes)).toEqual({ archives: new Map(sorted) });
    },
  );
  fcTest.prop([fc.record({ clock: uint, archiveLinkClock: uint })])('description clocks', (m) => {
    expect(decodeCommunityDescriptionArchiveClocks(encodeCommunityDescriptionArchiveClocks(m))).toEqual(m);
  });
  fcTest.prop([
    fc.record({
      clock: uint,
      accepted: fc.boolean(),
      communityId: bytesArb,
      archiveLink: fc.string({ maxLength: 40 }),
    }),
  ])('request-to-join response', (m) => {
    expect(
      decodeCommunityRequestToJoinResponseArchiveLink(encodeCommunityRequestToJoinResponseArchiveLink(m)),
    ).toEqual(m);
  });
});

describe('hostile bytes', () => {
  test('truncated or mistyped input raises DecodeError naming the message', () => {
    expect(() => decodeLogosStorageWakuMessageArchiveIndex(b(0x0a, 0xff))).toThrow(DecodeError);
    expect(() => decodeLogosStorageWakuMessageArchiveIndex(b(0x0a, 0x05, 0x0a))).toThrow(
      /LogosStorageWakuMessageArchiveIndex/,
    );
    // field 3 (cid) with wire type VARINT instead of LEN
    expect(() => decodeLogosStorageWakuMessageArchiveIndexMetadata(b(0x1f))).toThrow(DecodeError);
  });
  fcTest.prop([fc.uint8Array({ maxLength: 96 })])(
    'random bytes never throw anything but DecodeError',
    (bytes) => {
      for (const decode of [
        decodeCommunityMessageArchiveLink,
        decodeLogosStorageWakuMessageArchiveIndex,
        decodeLogosStorageWakuMessageArchiveIndexMetadata,
        decodeCommunityDescriptionArchiveClocks,
        decodeCommunityRequestToJoinResponseArchiveLink,
      ] as Array<(b: Uint8Array) => unknown>) {
        try {
          decode(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(DecodeError);
        }
      }
    },
  );
  test('negative or unsafe numbers are refused before encoding', () => {
    expect(() => encodeCommunityMessageArchiveLink({ clock: -1, archiveLink: '' })).toThrow(/clock/);
    expect(() => encodeCommunityDescriptionArchiveClocks({ clock: 0, archiveLinkClock: 2 ** 60 })).toThrow(
      /archiveLinkClock/,
    );
  });
});

describe('archive link kinds', () => {
  test('magnet URIs, content ids, anything else', () => {
    expect(archiveLinkKind('magnet:?xt=urn:btih:0123456789abcdef0123456789abcdef01234567')).toBe('torrent');
    expect(archiveLinkKind('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')).toBe('cid');
    expect(archiveLinkKind('zDvZRwzm2mK6TvHbdZ5Jb2j6tQRqRwwvy5JkUZmqsRi3Ee8ox1xi')).toBe('cid');
    expect(archiveLinkKind('QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG')).toBe('cid');
    expect(archiveLinkKind('not a link')).toBe('unknown');
    expect(archiveLinkKind('')).toBe('unknown');
    expect(archiveLinkKind(`b${'a'.repeat(600)}`)).toBe('unknown');
    expect(parseContentId('bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy')?.version).toBe(1);
  });
});
