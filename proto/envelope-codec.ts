// Encoders and decoders of the envelope around a public message (protocol.md §12,
// docs/reference-wire.md): the encryption layer's ProtocolMessage with its X3DH Bundle, and
// the transport's SegmentMessage.
//
// Encoding goes through protobufjs's reflection types (schema.ts) with proto3 defaults left
// out, as codec.ts does, so the bytes are the reference encoder's.
//
// Decoding is strict and typed (DecodeError) because these bytes come straight from the
// network, and it follows the reference's decoder (protobuf-go) on one point protobufjs's
// decoders do not: a known field that arrives with another wire type is skipped as an
// unknown field instead of being read as the declared type. That is what lets a receiver
// tell a SegmentMessage from a ProtocolMessage the way the reference does (it tries the
// first and falls back to the second). The field dispatch is written here; the reading of
// varints, lengths and skips is protobufjs's Reader.

import protobuf from 'protobufjs';
import { DecodeError } from './codec.ts';
import { wire } from './schema.ts';

export interface SignedPreKey {
  /** Compressed secp256k1 public key (33 bytes) of the installation's signed pre-key. */
  signedPreKey: Uint8Array;
  version: number;
  protocolVersion: number;
}

/** The X3DH pre-key bundle a sender attaches to every message: its identity, signed. */
export interface Bundle {
  /** Compressed identity public key (33 bytes). */
  identity: Uint8Array;
  /** installation id -> signed pre-key */
  signedPreKeys: Map<string, SignedPreKey>;
  /** 65 bytes r‖s‖v over Keccak-256 of the bundle's signature material (identity-bundle.ts). */
  signature: Uint8Array;
  /** Unix nanoseconds when the bundle was signed (int64). */
  timestamp: bigint;
}

export interface ProtocolMessage {
  installationId: string;
  bundles: Bundle[];
  /** The cleartext public message (an encoded ApplicationMetadataMessage); empty when absent. */
  publicMessage: Uint8Array;
  /** Whether field 101 (one-to-one encrypted messages) was present; a public message has none. */
  hasEncryptedMessage: boolean;
}

export interface SegmentMessage {
  /** Keccak-256 of the whole message the segments make up. */
  entireMessageHash: Uint8Array;
  index: number;
  /** Data segments of the whole message; 0 in a parity segment. */
  segmentsCount: number;
  payload: Uint8Array;
  paritySegmentIndex: number;
  paritySegmentsCount: number;
}

const WIRE_VARINT = 0;
const WIRE_BYTES = 2;

type WireObject = Record<string, unknown>;

function withoutDefaults(fields: WireObject): WireObject {
  const out: WireObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === 0 || value === '') continue;
    if (value instanceof Uint8Array && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

function checkUint32(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff_ffff)
    throw new RangeError(`${name} must be a uint32, got ${value}`);
  return value;
}

const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;

/** The decimal string protobufjs takes for a 64-bit value (through long.js, no digit lost); undefined for 0. */
function int64Wire(name: string, value: bigint): string | undefined {
  if (value < INT64_MIN || value > INT64_MAX) throw new RangeError(`${name} must be an int64, got ${value}`);
  return value === 0n ? undefined : value.toString();
}

function encodeWith(type: protobuf.Type, object: WireObject): Uint8Array {
  const bytes = type.encode(object).finish();
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function signedPreKeyToWire(k: SignedPreKey): WireObject {
  return withoutDefaults({
    signed_pre_key: k.signedPreKey,
    version: checkUint32('version', k.version),
    protocol_version: checkUint32('protocol_version', k.protocolVersion),
  });
}

function bundleToWire(b: Bundle): WireObject {
  const fields = withoutDefaults({ identity: b.identity });
  if (b.signedPreKeys.size > 0) {
    // Go writes map entries in no fixed order; sorted keys make archivist's bytes reproducible
    // (a bundle has one entry per installation, one in practice).
    const keys: Record<string, WireObject> = {};
    for (const id of [...b.signedPreKeys.keys()].sort())
      keys[id] = signedPreKeyToWire(b.signedPreKeys.get(id)!);
    fields.signed_pre_keys = keys;
  }
  Object.assign(
    fields,
    withoutDefaults({ signature: b.signature, timestamp: int64Wire('timestamp', b.timestamp) }),
  );
  return fields;
}

export function encodeBundle(b: Bundle): Uint8Array {
  return encodeWith(wire.Bundle, bundleToWire(b));
}

/** A public ProtocolMessage (the one-to-one field 101 is never written). */
export function encodeProtocolMessage(m: Omit<ProtocolMessage, 'hasEncryptedMessage'>): Uint8Array {
  const fields = withoutDefaults({ installation_id: m.installationId });
  if (m.bundles.length > 0) fields.bundles = m.bundles.map(bundleToWire);
  Object.assign(fields, withoutDefaults({ public_message: m.publicMessage }));
  return encodeWith(wire.ProtocolMessage, fields);
}

export function encodeSegmentMessage(s: SegmentMessage): Uint8Array {
  return encodeWith(
    wire.SegmentMessage,
    withoutDefaults({
      entire_message_hash: s.entireMessageHash,
      index: checkUint32('index', s.index),
      segments_count: checkUint32('segments_count', s.segmentsCount),
      payload: s.payload,
      parity_segment_index: checkUint32('parity_segment_index', s.paritySegmentIndex),
      parity_segments_count: checkUint32('parity_segments_count', s.paritySegmentsCount),
    }),
  );
}

// ------------------------------------------------------------------ strict decoding

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Walks the fields of one message. `field` reads a field it knows and returns true, or
 * returns false to have it skipped (unknown number or unexpected wire type).
 */
function readMessage(
  messageType: string,
  bytes: Uint8Array,
  field: (no: number, wireType: number, r: protobuf.Reader) => boolean,
): void {
  try {
    const r = protobuf.Reader.create(bytes);
    while (r.pos < r.len) {
      const tag = r.uint32();
      const no = tag >>> 3;
      const wireType = tag & 7;
      if (no === 0) throw new Error('field number 0');
      if (!field(no, wireType, r)) r.skipType(wireType);
    }
    if (r.pos !== r.len) throw new Error('truncated message');
  } catch (error) {
    if (error instanceof DecodeError) throw error;
    throw new DecodeError(messageType, error);
  }
}

/** A copy, so that nothing decoded keeps the (possibly large) input alive or aliases it. */
function bytesField(r: protobuf.Reader): Uint8Array {
  return new Uint8Array(r.bytes());
}

function stringField(messageType: string, name: string, r: protobuf.Reader): string {
  const raw = r.bytes();
  try {
    return utf8.decode(raw);
  } catch {
    // proto3 strings must be UTF-8; the reference's decoder rejects the message otherwise.
    throw new DecodeError(messageType, `${name} is not UTF-8`);
  }
}

function uint32Field(r: protobuf.Reader): number {
  // Go keeps the low 32 bits of a uint32 varint; so does protobufjs's uint32().
  return r.uint32();
}

function decodeSignedPreKey(bytes: Uint8Array): SignedPreKey {
  const k: SignedPreKey = { signedPreKey: new Uint8Array(0), version: 0, protocolVersion: 0 };
  readMessage('SignedPreKey', bytes, (no, wt, r) => {
    if (no === 1 && wt === WIRE_BYTES) k.signedPreKey = bytesField(r);
    else if (no === 2 && wt === WIRE_VARINT) k.version = uint32Field(r);
    else if (no === 3 && wt === WIRE_VARINT) k.protocolVersion = uint32Field(r);
    else return false;
    return true;
  });
  return k;
}

/** One `map<string, SignedPreKey>` entry: key = 1, value = 2 (absent ones are defaults). */
function decodePreKeyEntry(bytes: Uint8Array): [string, SignedPreKey] {
  let key = '';
  let value: SignedPreKey = { signedPreKey: new Uint8Array(0), version: 0, protocolVersion: 0 };
  readMessage('Bundle.signed_pre_keys', bytes, (no, wt, r) => {
    if (no === 1 && wt === WIRE_BYTES) key = stringField('Bundle', 'signed_pre_keys key', r);
    else if (no === 2 && wt === WIRE_BYTES) value = decodeSignedPreKey(r.bytes());
    else return false;
    return true;
  });
  return [key, value];
}

export function decodeBundle(bytes: Uint8Array): Bundle {
  const b: Bundle = {
    identity: new Uint8Array(0),
    signedPreKeys: new Map(),
    signature: new Uint8Array(0),
    timestamp: 0n,
  };
  readMessage('Bundle', bytes, (no, wt, r) => {
    if (no === 1 && wt === WIRE_BYTES) b.identity = bytesField(r);
    else if (no === 2 && wt === WIRE_BYTES) {
      const [key, value] = decodePreKeyEntry(r.bytes());
      b.signedPreKeys.set(key, value); // a repeated key: the last entry wins, as in Go
    } else if (no === 4 && wt === WIRE_BYTES) b.signature = bytesField(r);
    else if (no === 5 && wt === WIRE_VARINT) b.timestamp = BigInt(r.int64().toString());
    else return false;
    return true;
  });
  return b;
}

export function decodeProtocolMessage(bytes: Uint8Array): ProtocolMessage {
  const m: ProtocolMessage = {
    installationId: '',
    bundles: [],
    publicMessage: new Uint8Array(0),
    hasEncryptedMessage: false,
  };
  readMessage('ProtocolMessage', bytes, (no, wt, r) => {
    if (no === 2 && wt === WIRE_BYTES)
      m.installationId = stringField('ProtocolMessage', 'installation_id', r);
    else if (no === 3 && wt === WIRE_BYTES) m.bundles.push(decodeBundle(r.bytes()));
    else if (no === 101 && wt === WIRE_BYTES) {
      r.skipType(wt);
      m.hasEncryptedMessage = true;
    } else if (no === 102 && wt === WIRE_BYTES) m.publicMessage = bytesField(r);
    else return false;
    return true;
  });
  return m;
}

export function decodeSegmentMessage(bytes: Uint8Array): SegmentMessage {
  const s: SegmentMessage = {
    entireMessageHash: new Uint8Array(0),
    index: 0,
    segmentsCount: 0,
    payload: new Uint8Array(0),
    paritySegmentIndex: 0,
    paritySegmentsCount: 0,
  };
  readMessage('SegmentMessage', bytes, (no, wt, r) => {
    if (no === 1 && wt === WIRE_BYTES) s.entireMessageHash = bytesField(r);
    else if (no === 2 && wt === WIRE_VARINT) s.index = uint32Field(r);
    else if (no === 3 && wt === WIRE_VARINT) s.segmentsCount = uint32Field(r);
    else if (no === 4 && wt === WIRE_BYTES) s.payload = bytesField(r);
    else if (no === 5 && wt === WIRE_VARINT) s.paritySegmentIndex = uint32Field(r);
    else if (no === 6 && wt === WIRE_VARINT) s.paritySegmentsCount = uint32Field(r);
    else return false;
    return true;
  });
  return s;
}
