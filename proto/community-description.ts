// The one field of the reference's CommunityDescription the archive protocol touches:
// `uint64 archive_magnetlink_clock = 9` (docs/reference-wire.md §6). When a control node
// dispatches a magnetlink it writes the message's clock there; a member that later reads a
// description with a higher value raises its stored magnetlink clock to it.
//
// archivist does not model the rest of the description, so these functions work on its
// encoded bytes and leave every other field exactly as it is: setting the clock removes any
// field-9 entries and writes the new one where the reference's encoder would put it (after
// the fields numbered below 9, before the first numbered above), or nothing for clock 0
// (a proto3 default).

import protobuf from 'protobufjs';
import { DecodeError } from './codec.ts';

export const ARCHIVE_MAGNETLINK_CLOCK_FIELD = 9;

interface FieldSpan {
  no: number;
  wireType: number;
  start: number;
  end: number;
  valueStart: number;
}

function topLevelFields(bytes: Uint8Array): FieldSpan[] {
  const out: FieldSpan[] = [];
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const start = r.pos;
      const tag = r.uint32();
      const no = tag >>> 3;
      if (no === 0) throw new Error('field number 0');
      const valueStart = r.pos;
      r.skipType(tag & 7);
      out.push({ no, wireType: tag & 7, start, end: r.pos, valueStart });
    }
    if (r.pos !== r.len) throw new Error('truncated message');
  } catch (error) {
    throw new DecodeError('CommunityDescription', error);
  }
  return out;
}

/** archive_magnetlink_clock of an encoded description (0 when absent); throws DecodeError. */
export function archiveMagnetlinkClockOf(description: Uint8Array): number {
  let clock = 0;
  for (const f of topLevelFields(description)) {
    if (f.no !== ARCHIVE_MAGNETLINK_CLOCK_FIELD || f.wireType !== 0) continue; // last one wins
    const value = protobuf.Reader.create(description.subarray(f.valueStart, f.end)).uint64();
    const n = typeof value === 'number' ? value : Number(BigInt(value.toString()));
    if (!Number.isSafeInteger(n) || n < 0)
      throw new DecodeError('CommunityDescription', `clock ${value} is too large`);
    clock = n;
  }
  return clock;
}

/** The description with archive_magnetlink_clock = `clockMs`; an absent description is an empty one. */
export function withArchiveMagnetlinkClock(description: Uint8Array | undefined, clockMs: number): Uint8Array {
  if (!Number.isSafeInteger(clockMs) || clockMs < 0)
    throw new RangeError(`magnetlink clock must be a non-negative safe integer, got ${clockMs}`);
  const bytes = description ?? new Uint8Array(0);
  const fields = topLevelFields(bytes).filter((f) => f.no !== ARCHIVE_MAGNETLINK_CLOCK_FIELD);
  const clockField =
    clockMs === 0
      ? new Uint8Array(0)
      : protobuf.Writer.create()
          .uint32((ARCHIVE_MAGNETLINK_CLOCK_FIELD << 3) | 0)
          .uint64(clockMs)
          .finish();
  const insertAt = fields.findIndex((f) => f.no > ARCHIVE_MAGNETLINK_CLOCK_FIELD);
  const before = insertAt === -1 ? fields : fields.slice(0, insertAt);
  const after = insertAt === -1 ? [] : fields.slice(insertAt);
  const parts = [
    ...before.map((f) => bytes.subarray(f.start, f.end)),
    clockField,
    ...after.map((f) => bytes.subarray(f.start, f.end)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * A member's magnetlink clock after it reads a description: raised to the description's
 * archive_magnetlink_clock when that is higher (the reference never lowers it this way).
 */
export function magnetlinkClockAfterDescription(stored: number | undefined, description: Uint8Array): number {
  return Math.max(stored ?? 0, archiveMagnetlinkClockOf(description));
}
