// A hand-written encoder for WakuMessageArchive, the one message whose encoding is on the
// hot path (tens of MB per round). It writes exactly what the protobufjs encoder of
// schema.ts writes for the same object (proto3 defaults left out, field-number order),
// in one size pass and one write pass into a buffer of the exact size; the test suite
// checks the two byte for byte under fast-check. Everything else goes through protobufjs.

import type { WakuMessage, WakuMessageArchive, WakuMessageArchiveMetadata } from './types.ts';

const utf8 = new TextEncoder();

function checkUint(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

function varintSize(n: number): number {
  let size = 1;
  while (n >= 128) {
    n = Math.floor(n / 128);
    size++;
  }
  return size;
}

function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n >= 128) {
    buf[pos++] = (n % 128) | 0x80;
    n = Math.floor(n / 128);
  }
  buf[pos++] = n;
  return pos;
}

/** Size of a length-delimited field (1-byte tag) holding `length` bytes. */
function lenFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

function writeBytesField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bytes.length);
  const n = bytes.length;
  // A loop beats TypedArray#set for the short fields (topic, hash, signature).
  if (n <= 80) for (let i = 0; i < n; i++) buf[pos + i] = bytes[i]!;
  else buf.set(bytes, pos);
  return pos + n;
}

interface Sized {
  size: number;
  thirdParty: Uint8Array | undefined;
}

function messageSize(m: WakuMessage): Sized {
  let size = 0;
  if (m.sig.length > 0) size += lenFieldSize(m.sig.length);
  if (checkUint('timestamp', m.timestamp) !== 0) size += 1 + varintSize(m.timestamp);
  if (m.topic.length > 0) size += lenFieldSize(m.topic.length);
  if (m.payload.length > 0) size += lenFieldSize(m.payload.length);
  if (m.padding.length > 0) size += lenFieldSize(m.padding.length);
  if (m.hash.length > 0) size += lenFieldSize(m.hash.length);
  let thirdParty: Uint8Array | undefined;
  if (m.thirdPartyId.length > 0) {
    thirdParty = utf8.encode(m.thirdPartyId);
    size += lenFieldSize(thirdParty.length);
  }
  return { size, thirdParty };
}

function writeMessage(
  buf: Uint8Array,
  pos: number,
  m: WakuMessage,
  thirdParty: Uint8Array | undefined,
): number {
  if (m.sig.length > 0) pos = writeBytesField(buf, pos, 0x0a, m.sig);
  if (m.timestamp !== 0) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, m.timestamp);
  }
  if (m.topic.length > 0) pos = writeBytesField(buf, pos, 0x1a, m.topic);
  if (m.payload.length > 0) pos = writeBytesField(buf, pos, 0x22, m.payload);
  if (m.padding.length > 0) pos = writeBytesField(buf, pos, 0x2a, m.padding);
  if (m.hash.length > 0) pos = writeBytesField(buf, pos, 0x32, m.hash);
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

/** Encoded length of an archive, and a function writing it at a position of a buffer. */
export function planArchive(a: WakuMessageArchive): {
  length: number;
  /** Writes at `at`; `progress(pos)` (when given) is called after each message with the position reached. */
  write(buf: Uint8Array, at: number, progress?: (pos: number) => void): number;
} {
  const version = checkUint('version', a.version, 0xffffffff);
  const metaSize = metadataSize(a.metadata);
  const sized = a.messages.map(messageSize);
  let length = 0;
  if (version !== 0) length += 1 + varintSize(version);
  length += lenFieldSize(metaSize);
  for (const s of sized) length += lenFieldSize(s.size);
  return {
    length,
    write(buf: Uint8Array, at: number, progress?: (pos: number) => void): number {
      let pos = at;
      if (version !== 0) {
        buf[pos++] = 0x08;
        pos = writeVarint(buf, pos, version);
      }
      buf[pos++] = 0x12;
      pos = writeVarint(buf, pos, metaSize);
      pos = writeMetadata(buf, pos, a.metadata);
      for (let i = 0; i < a.messages.length; i++) {
        const s = sized[i]!;
        buf[pos++] = 0x1a;
        pos = writeVarint(buf, pos, s.size);
        pos = writeMessage(buf, pos, a.messages[i]!, s.thirdParty);
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
