// archive_magnetlink_clock (CommunityDescription field 9; docs/reference-wire.md §6): read and
// set in an encoded description without touching its other fields.
import { fc, test as fcTest } from '@fast-check/vitest';
import { describe, expect, test } from 'vitest';
import { DecodeError } from '../proto/codec.ts';
import {
  archiveMagnetlinkClockOf,
  magnetlinkClockAfterDescription,
  withArchiveMagnetlinkClock,
} from '../proto/community-description.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
// clock = 1 (field 1 varint 7), chats = 6 (an opaque map entry), admin_settings = 10, ID = 18
const field1 = [0x08, 7];
const field6 = [0x32, 3, 0x0a, 1, 0x61];
const field10 = [0x52, 2, 0x08, 1];
const field18 = [0x92, 0x01, 2, 0x30, 0x78];
// 1_767_225_600_123 as a varint, written out by hand (7-bit groups, low first)
const clockVarint = [0xfb, 0xd0, 0xea, 0xb6, 0xb7, 0x33];

describe('archive_magnetlink_clock', () => {
  test('the varint vector is the clock', () => {
    let n = 0;
    for (const [i, b] of clockVarint.entries()) n += (b & 0x7f) * 2 ** (7 * i);
    expect(n).toBe(1_767_225_600_123);
  });

  test('set: written as field 9 between the fields below 9 and those above, nothing else changes', () => {
    const description = Uint8Array.from([...field1, ...field6, ...field10, ...field18]);
    const updated = withArchiveMagnetlinkClock(description, 1_767_225_600_123);
    expect(hex(updated)).toBe(
      hex(Uint8Array.from([...field1, ...field6, 0x48, ...clockVarint, ...field10, ...field18])),
    );
    expect(archiveMagnetlinkClockOf(updated)).toBe(1_767_225_600_123);
    expect(archiveMagnetlinkClockOf(description)).toBe(0);
  });

  test('set again replaces the old value; 0 removes it (a proto3 default); no description is an empty one', () => {
    const once = withArchiveMagnetlinkClock(Uint8Array.from(field1), 5);
    expect(hex(once)).toBe(hex(Uint8Array.from([...field1, 0x48, 5])));
    expect(hex(withArchiveMagnetlinkClock(once, 6))).toBe(hex(Uint8Array.from([...field1, 0x48, 6])));
    expect(hex(withArchiveMagnetlinkClock(once, 0))).toBe(hex(Uint8Array.from(field1)));
    expect(hex(withArchiveMagnetlinkClock(undefined, 300))).toBe('48ac02');
  });

  test("a member's clock only goes up", () => {
    const d = withArchiveMagnetlinkClock(undefined, 2_000);
    expect(magnetlinkClockAfterDescription(undefined, d)).toBe(2_000);
    expect(magnetlinkClockAfterDescription(1_000, d)).toBe(2_000);
    expect(magnetlinkClockAfterDescription(3_000, d)).toBe(3_000);
  });

  fcTest.prop([fc.uint8Array({ maxLength: 200 }), fc.nat()], { numRuns: 300 })(
    'hostile descriptions: DecodeError or a clock that reads back',
    (junk, clock) => {
      try {
        expect(archiveMagnetlinkClockOf(withArchiveMagnetlinkClock(junk, clock))).toBe(clock);
      } catch (error) {
        expect(error).toBeInstanceOf(DecodeError);
      }
    },
  );
});
