// How archivist's RelayMessage travels as a Waku v2 message (RFC 14), and the Waku v2
// deterministic message hash.
//
//   payload      = message.payload (the application bytes, e.g. the signed
//                  ApplicationMetadataMessage of a magnetlink: any Waku client can read it)
//   contentTopic = the RelayMessage's content topic (`/waku/1/0x<8 hex>/rfc26`)
//   timestamp    = message.timestamp (Unix seconds) in nanoseconds
//   version      = 0 (no Waku payload encryption)
//   meta         = the archive-only fields of protocol.md §3 that have no Waku v2 slot
//                  (sig = 1, padding = 2, hash = 3, thirdPartyId = 4, topic = 5 when it
//                  does not follow from the content topic) as a small protobuf; omitted when
//                  all are empty. nwaku caps `meta` at 64 bytes; js-waku does not.
//
// Decoding is strict and total: anything malformed returns undefined (network input never
// throws past this module).

import { createHash } from 'node:crypto';
import { proto_message } from '@waku/proto';
import type { RelayMessage } from '../../ports/messaging.ts';

export type WakuV2Message = proto_message.WakuMessage;

const CONTENT_TOPIC_V1 = /^\/waku\/1\/0x([0-9a-f]{8})\/rfc26$/;

export function v1TopicFromContentTopic(contentTopic: string): Uint8Array | undefined {
  const m = CONTENT_TOPIC_V1.exec(contentTopic);
  return m ? new Uint8Array(Buffer.from(m[1]!, 'hex')) : undefined;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

// --- a tiny protobuf writer/reader for the meta fields (bytes and strings only) ---

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function field(no: number, bytes: Uint8Array): Uint8Array {
  if (bytes.length === 0) return new Uint8Array(0);
  return Buffer.concat([Uint8Array.from([(no << 3) | 2, ...varint(bytes.length)]), bytes]);
}

interface MetaFields {
  sig: Uint8Array;
  padding: Uint8Array;
  hash: Uint8Array;
  thirdPartyId: string;
  topic?: Uint8Array;
}

function encodeMeta(m: MetaFields): Uint8Array | undefined {
  const out = Buffer.concat([
    field(1, m.sig),
    field(2, m.padding),
    field(3, m.hash),
    field(4, new TextEncoder().encode(m.thirdPartyId)),
    field(5, m.topic ?? new Uint8Array(0)),
  ]);
  return out.length === 0 ? undefined : out;
}

function decodeMeta(bytes: Uint8Array | undefined): MetaFields | undefined {
  const m: MetaFields = {
    sig: new Uint8Array(0),
    padding: new Uint8Array(0),
    hash: new Uint8Array(0),
    thirdPartyId: '',
  };
  if (!bytes) return m;
  let pos = 0;
  const readVarint = (): number | undefined => {
    let n = 0;
    let mul = 1;
    for (let i = 0; i < 8; i++) {
      const b = bytes[pos++];
      if (b === undefined) return undefined;
      n += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return n;
      mul *= 128;
    }
    return undefined;
  };
  while (pos < bytes.length) {
    const key = readVarint();
    if (key === undefined || (key & 7) !== 2) return undefined;
    const len = readVarint();
    if (len === undefined || pos + len > bytes.length) return undefined;
    const value = new Uint8Array(bytes.subarray(pos, pos + len));
    pos += len;
    switch (key >>> 3) {
      case 1:
        m.sig = value;
        break;
      case 2:
        m.padding = value;
        break;
      case 3:
        m.hash = value;
        break;
      case 4:
        m.thirdPartyId = new TextDecoder().decode(value);
        break;
      case 5:
        m.topic = value;
        break;
      default:
        break; // unknown fields are skipped, as protobuf readers do
    }
  }
  return m;
}

const NS_PER_S = 1_000_000_000n;

export function toWakuV2(msg: RelayMessage): WakuV2Message {
  const m = msg.message;
  const derived = v1TopicFromContentTopic(msg.contentTopic);
  const meta = encodeMeta({
    sig: m.sig,
    padding: m.padding,
    hash: m.hash,
    thirdPartyId: m.thirdPartyId,
    ...(derived && sameBytes(derived, m.topic) ? {} : { topic: m.topic }),
  });
  return {
    payload: m.payload,
    contentTopic: msg.contentTopic,
    version: 0,
    timestamp: BigInt(m.timestamp) * NS_PER_S,
    ...(meta ? { meta } : {}),
  };
}

export function encodeWakuV2(msg: RelayMessage): Uint8Array {
  return proto_message.WakuMessage.encode(toWakuV2(msg));
}

export function fromWakuV2(pubsubTopic: string, w: WakuV2Message): RelayMessage | undefined {
  if (!w.contentTopic || !w.payload || w.payload.length === 0) return undefined;
  const meta = decodeMeta(w.meta);
  if (!meta) return undefined;
  const topic = meta.topic ?? v1TopicFromContentTopic(w.contentTopic);
  if (!topic) return undefined;
  const ts = w.timestamp ?? 0n;
  if (ts < 0n) return undefined;
  const seconds = Number(ts / NS_PER_S);
  if (!Number.isSafeInteger(seconds)) return undefined;
  return {
    pubsubTopic,
    contentTopic: w.contentTopic,
    message: {
      sig: meta.sig,
      timestamp: seconds,
      topic,
      payload: new Uint8Array(w.payload),
      padding: meta.padding,
      hash: meta.hash,
      thirdPartyId: meta.thirdPartyId,
    },
  };
}

export function decodeWakuV2(bytes: Uint8Array): WakuV2Message | undefined {
  try {
    return proto_message.WakuMessage.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Waku v2 deterministic message hash (RFC 14): SHA-256 over topic, payload, content topic, meta, timestamp. */
export function wakuMessageHash(pubsubTopic: string, w: WakuV2Message): Uint8Array {
  const h = createHash('sha256');
  h.update(pubsubTopic);
  h.update(w.payload);
  h.update(w.contentTopic);
  if (w.meta) h.update(w.meta);
  if (w.timestamp !== undefined) {
    const ts = Buffer.alloc(8);
    ts.writeBigUInt64BE(BigInt.asUintN(64, w.timestamp));
    h.update(ts);
  }
  return new Uint8Array(h.digest());
}
