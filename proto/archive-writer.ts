// A hand-written encoder for WakuMessageArchive, the one message whose encoding is on the
// hot path (tens of MB per round). It writes exactly what the protobufjs encoder of
// schema.ts writes for the same object (proto3 defaults left out, field-number order),
// in one size pass and one write pass into a buffer of the exact size; the test suite
// checks the two byte for byte under fast-check. Everything else goes through protobufjs.
//
// Besides `planArchive` (a whole archive object), the pieces are exported for the archive
// layout (archive/layout.ts), which sizes every message once while it selects them and then
// writes each archive straight into the round's block: the archive header, then one
// `writeMessageField` per message.

import type { WakuMessage, WakuMessageArchive, WakuMessageArchiveMetadata } from './types.ts';

const utf8 = new TextEncoder();

export function checkUint(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

function varintSize(n: number): number {
  // Small lengths are the common case: no loop for them.
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  let size = 4;
  n = Math.floor(n / 0x10000000);
  while (n > 0) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  // Below 2^31 bit operations are exact (and much cheaper than / and %); timestamps and
  // large offsets take the arithmetic loop.
  if (n < 0x80000000) {
    while (n >= 0x80) {
      buf[pos++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[pos++] = n;
    return pos;
  }
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of a length-delimited field (1-byte tag) holding `length` bytes. */
export function lenFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

function writeBytesField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  buf[pos++] = tag;
  const n = bytes.length;
  pos = writeVarint(buf, pos, n);
  // A loop beats TypedArray#set for the short fields (topic, hash, signature).
  if (n <= 80) for (let i = 0; i < n; i++) buf[pos + i] = bytes[i]!;
  else buf.set(bytes, pos);
  return pos + n;
}

/** UTF-8 of a message's thirdPartyId, or undefined when it is empty (then not written). */
export function thirdPartyBytes(m: WakuMessage): Uint8Array | undefined {
  return m.thirdPartyId.length > 0 ? utf8.encode(m.thirdPartyId) : undefined;
}

/**
 * Encoded length of a message's fields (what follows its tag and length inside an archive).
 * No checks: `checkUint('timestamp', …)` is the caller's, before writing.
 */
export function messageBodySize(m: WakuMessage, thirdParty: Uint8Array | undefined): number {
  let size = 0;
  const ts = m.timestamp;
  if (m.sig.length > 0) size += lenFieldSize(m.sig.length);
  if (ts !== 0) size += 1 + varintSize(ts);
  if (m.topic.length > 0) size += lenFieldSize(m.topic.length);
  if (m.payload.length > 0) size += lenFieldSize(m.payload.length);
  if (m.padding.length > 0) size += lenFieldSize(m.padding.length);
  if (m.hash.length > 0) size += lenFieldSize(m.hash.length);
  if (thirdParty) size += lenFieldSize(thirdParty.length);
  return size;
}

/** Writes one message as field 3 of an archive (tag, length `body`, fields); returns the end. */
export function writeMessageField(
  buf: Uint8Array,
  pos: number,
  m: WakuMessage,
  body: number,
  thirdParty: Uint8Array | undefined,
): number {
  buf[pos++] = 0x1a;
  pos = writeVarint(buf, pos, body);
  const { sig, timestamp, topic, payload, padding, hash } = m;
  if (sig.length > 0) pos = writeBytesField(buf, pos, 0x0a, sig);
  if (timestamp !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, timestamp);
  }
  if (topic.length > 0) pos = writeBytesField(buf, pos, 0x1a, topic);
  if (payload.length > 0) pos = writeBytesField(buf, pos, 0x22, payload);
  if (padding.length > 0) pos = writeBytesField(buf, pos, 0x2a, padding);
  if (hash.length > 0) pos = writeBytesField(buf, pos, 0x32, hash);
  if (thirdParty) pos = writeBytesField(buf, pos, 0x3a, thirdParty);
  return pos;
}

function metadataSize(m: WakuMessageArchiveMetadata): number {
  let size = 0;
  if (checkUint('version', m.version, 0xffffffff) !== 0) size += 1 + varintSize(m.version);
  if (checkUint('from', m.from) !== 0) size += 1 + varintSize(m.from);
  if (checkUint('to', m.to) !== 0) size += 1 + varintSize(m.to);
  for (const t of m.contentTopic) size += lenFieldSize(t.length);
  return size;
}

function writeMetadata(buf: Uint8Array, pos: number, m: WakuMessageArchiveMetadata): number {
  if (m.version !== 0) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, m.version);
  }
  if (m.from !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, m.from);
  }
  if (m.to !== 0) {
    buf[pos++] = 0x18;
    pos = writeVarint(buf, pos, m.to);
  }
  for (const t of m.contentTopic) pos = writeBytesField(buf, pos, 0x22, t);
  return pos;
}

/** What comes before the messages of an archive: its version and its metadata sub-message. */
export interface ArchiveHeader {
  length: number;
  write(buf: Uint8Array, at: number): number;
}

/** Checks version and metadata (RangeError) and sizes them. */
export function planArchiveHeader(version: number, metadata: WakuMessageArchiveMetadata): ArchiveHeader {
  checkUint('version', version, 0xffffffff);
  const metaSize = metadataSize(metadata);
  // A set sub-message is always written, even empty (as Go does for a non-nil pointer).
  const length = (version !== 0 ? 1 + varintSize(version) : 0) + lenFieldSize(metaSize);
  return {
    length,
    write(buf: Uint8Array, at: number): number {
      let pos = at;
      if (version !== 0) {
        buf[pos++] = 0x08;
        pos = writeVarint(buf, pos, version);
      }
      buf[pos++] = 0x12;
      pos = writeVarint(buf, pos, metaSize);
      return writeMetadata(buf, pos, metadata);
    },
  };
}

/** Encoded length of an archive, and a function writing it at a position of a buffer. */
export function planArchive(a: WakuMessageArchive): {
  length: number;
  /** Writes at `at`; `progress(pos)` (when given) is called after each message with the position reached. */
  write(buf: Uint8Array, at: number, progress?: (pos: number) => void): number;
} {
  const header = planArchiveHeader(a.version, a.metadata);
  const n = a.messages.length;
  const bodies = new Float64Array(n);
  const thirdParty: Array<Uint8Array | undefined> = new Array(n);
  let length = header.length;
  for (let i = 0; i < n; i++) {
    const m = a.messages[i]!;
    checkUint('timestamp', m.timestamp);
    const tp = thirdPartyBytes(m);
    thirdParty[i] = tp;
    bodies[i] = messageBodySize(m, tp);
    length += lenFieldSize(bodies[i]!);
  }
  return {
    length,
    write(buf: Uint8Array, at: number, progress?: (pos: number) => void): number {
      let pos = header.write(buf, at);
      for (let i = 0; i < n; i++) {
        pos = writeMessageField(buf, pos, a.messages[i]!, bodies[i]!, thirdParty[i]);
        progress?.(pos);
      }
      if (pos - at !== length) throw new Error(`archive writer: wrote ${pos - at} bytes, planned ${length}`);
      return pos;
    },
  };
}

export function writeWakuMessageArchive(a: WakuMessageArchive): Uint8Array {
  const plan = planArchive(a);
  const buf = new Uint8Array(plan.length);
  plan.write(buf, 0);
  return buf;
}
