// Encoders and decoders of the wire messages, byte-identical to the reference encoder:
// proto3 scalars equal to their default are not written and fields go in field-number
// order (protobufjs writes in declaration order, which is field-number order in schema.ts).
// protobufjs would write a scalar that is *set* to its default, so the `toWire*` functions
// below leave such fields out of the object they hand to it.
//
// Decoders throw DecodeError for anything malformed: input from the network must never
// crash a node, so callers catch exactly this type.

import type protobuf from 'protobufjs';
import { writeWakuMessageArchive } from './archive-writer.ts';
import { wire } from './schema.ts';
import type {
  ApplicationMetadataMessage,
  CommunityDescriptionArchiveClocks,
  CommunityMessageArchiveLink,
  CommunityMessageArchiveMagnetlink,
  CommunityRequestToJoinResponseArchiveLink,
  LogosStorageWakuMessageArchiveIndex,
  LogosStorageWakuMessageArchiveIndexMetadata,
  WakuMessage,
  WakuMessageArchive,
  WakuMessageArchiveIndex,
  WakuMessageArchiveIndexMetadata,
  WakuMessageArchiveMetadata,
} from './types.ts';

export class DecodeError extends Error {
  readonly messageType: string;
  constructor(messageType: string, cause: unknown) {
    super(`cannot decode ${messageType}: ${cause instanceof Error ? cause.message : String(cause)}`);
    this.name = 'DecodeError';
    this.messageType = messageType;
  }
}

type WireObject = Record<string, unknown>;

/** Keeps only the fields that differ from their proto3 default. */
function withoutDefaults(fields: WireObject): WireObject {
  const out: WireObject = {};
  for (const [key, value] of Object.entries(fields)) {
    if (value === undefined || value === null) continue;
    if (value === 0 || value === '' || value === false) continue;
    if (value instanceof Uint8Array && value.length === 0) continue;
    out[key] = value;
  }
  return out;
}

function checkUint(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

function encodeWith(type: protobuf.Type, object: WireObject): Uint8Array {
  const bytes = type.encode(object).finish();
  // protobufjs hands back a Buffer view on Node; callers get a plain Uint8Array of exact size.
  return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * The decoded message itself, not its `toObject` copy: absent fields read as protobufjs's
 * defaults from the prototype, uint64 fields may be Long objects (see `numberOf`), bytes
 * fields are views on `bytes`. Members decode every archive they import; the copy was a
 * third of that time.
 */
function decodeWith(type: protobuf.Type, bytes: Uint8Array): WireObject {
  try {
    return type.decode(bytes) as unknown as WireObject;
  } catch (error) {
    throw new DecodeError(type.name, error);
  }
}

function bytesOf(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  return new Uint8Array(0);
}

/** A decoded number: uint64 fields come as Long objects when they do not fit 32 bits. */
function numberOf(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'object' && value !== null && 'toNumber' in value)
    return (value as { toNumber(): number }).toNumber();
  return 0;
}

// --- WakuMessage ---

function wakuMessageToWire(m: WakuMessage): WireObject {
  return withoutDefaults({
    sig: m.sig,
    timestamp: checkUint('timestamp', m.timestamp),
    topic: m.topic,
    payload: m.payload,
    padding: m.padding,
    hash: m.hash,
    thirdPartyId: m.thirdPartyId,
  });
}

function wakuMessageFromWire(o: WireObject): WakuMessage {
  return {
    sig: bytesOf(o.sig),
    timestamp: numberOf(o.timestamp),
    topic: bytesOf(o.topic),
    payload: bytesOf(o.payload),
    padding: bytesOf(o.padding),
    hash: bytesOf(o.hash),
    thirdPartyId: typeof o.thirdPartyId === 'string' ? o.thirdPartyId : '',
  };
}

export function encodeWakuMessage(m: WakuMessage): Uint8Array {
  return encodeWith(wire.WakuMessage, wakuMessageToWire(m));
}

export function decodeWakuMessage(bytes: Uint8Array): WakuMessage {
  return wakuMessageFromWire(decodeWith(wire.WakuMessage, bytes));
}

// --- WakuMessageArchiveMetadata ---

function metadataToWire(m: WakuMessageArchiveMetadata): WireObject {
  const fields = withoutDefaults({
    version: checkUint('version', m.version),
    from: checkUint('from', m.from),
    to: checkUint('to', m.to),
  });
  // Repeated fields: every element is written, empty ones included; an empty list writes nothing.
  if (m.contentTopic.length > 0) fields.contentTopic = m.contentTopic;
  return fields;
}

function metadataFromWire(o: unknown): WakuMessageArchiveMetadata {
  const m = (o ?? {}) as WireObject;
  return {
    version: numberOf(m.version),
    from: numberOf(m.from),
    to: numberOf(m.to),
    contentTopic: Array.isArray(m.contentTopic) ? m.contentTopic.map(bytesOf) : [],
  };
}

export function encodeWakuMessageArchiveMetadata(m: WakuMessageArchiveMetadata): Uint8Array {
  return encodeWith(wire.WakuMessageArchiveMetadata, metadataToWire(m));
}

export function decodeWakuMessageArchiveMetadata(bytes: Uint8Array): WakuMessageArchiveMetadata {
  return metadataFromWire(decodeWith(wire.WakuMessageArchiveMetadata, bytes));
}

// --- WakuMessageArchive ---

/** The hot path: the hand-written writer of archive-writer.ts (same bytes as protobufjs). */
export function encodeWakuMessageArchive(a: WakuMessageArchive): Uint8Array {
  return writeWakuMessageArchive(a);
}

/** The same encoding through protobufjs reflection (the reference the fast writer is tested against). */
export function encodeWakuMessageArchiveWithProtobufjs(a: WakuMessageArchive): Uint8Array {
  const fields = withoutDefaults({ version: checkUint('version', a.version) });
  // A set sub-message is always written, even when all its fields are defaults (as Go does
  // for a non-nil pointer).
  fields.metadata = metadataToWire(a.metadata);
  if (a.messages.length > 0) fields.messages = a.messages.map(wakuMessageToWire);
  return encodeWith(wire.WakuMessageArchive, fields);
}

export function decodeWakuMessageArchive(bytes: Uint8Array): WakuMessageArchive {
  const o = decodeWith(wire.WakuMessageArchive, bytes);
  return {
    version: numberOf(o.version),
    metadata: metadataFromWire(o.metadata),
    messages: Array.isArray(o.messages) ? o.messages.map((m) => wakuMessageFromWire(m as WireObject)) : [],
  };
}

// --- WakuMessageArchiveIndexMetadata ---

function indexMetadataToWire(m: WakuMessageArchiveIndexMetadata): WireObject {
  const fields = withoutDefaults({ version: checkUint('version', m.version) });
  fields.metadata = metadataToWire(m.metadata);
  Object.assign(
    fields,
    withoutDefaults({
      offset: checkUint('offset', m.offset),
      size: checkUint('size', m.size),
      padding: checkUint('padding', m.padding),
    }),
  );
  return fields;
}

function indexMetadataFromWire(o: unknown): WakuMessageArchiveIndexMetadata {
  const m = (o ?? {}) as WireObject;
  const meta: WakuMessageArchiveIndexMetadata = {
    version: numberOf(m.version),
    metadata: metadataFromWire(m.metadata),
    offset: numberOf(m.offset),
    size: numberOf(m.size),
    padding: numberOf(m.padding),
  };
  // Index entries are encoded again (a round keeps the earlier ones, an archive id hashes
  // one): a uint64 past 2^53 has no exact JS number and could not be.
  const numbers = { ...meta, from: meta.metadata.from, to: meta.metadata.to };
  for (const field of ['version', 'offset', 'size', 'padding', 'from', 'to'] as const) {
    if (!Number.isSafeInteger(numbers[field])) {
      throw new DecodeError(
        'WakuMessageArchiveIndexMetadata',
        new Error(`${field} ${numbers[field]} is past 2^53 (no exact number)`),
      );
    }
  }
  return meta;
}

export function encodeWakuMessageArchiveIndexMetadata(m: WakuMessageArchiveIndexMetadata): Uint8Array {
  return encodeWith(wire.WakuMessageArchiveIndexMetadata, indexMetadataToWire(m));
}

export function decodeWakuMessageArchiveIndexMetadata(bytes: Uint8Array): WakuMessageArchiveIndexMetadata {
  return indexMetadataFromWire(decodeWith(wire.WakuMessageArchiveIndexMetadata, bytes));
}

// --- WakuMessageArchiveIndex ---

/**
 * Map entries are written with keys in ascending order. Go's encoder promises no order for
 * maps (so the reference's `index` bytes vary between runs); archivist chooses sorted keys so
 * that the same archives always give the same `index` file and info-hash.
 */
export function encodeWakuMessageArchiveIndex(index: WakuMessageArchiveIndex): Uint8Array {
  const archives: Record<string, WireObject> = {};
  for (const id of [...index.archives.keys()].sort()) {
    archives[id] = indexMetadataToWire(index.archives.get(id)!);
  }
  return encodeWith(wire.WakuMessageArchiveIndex, Object.keys(archives).length > 0 ? { archives } : {});
}

export function decodeWakuMessageArchiveIndex(bytes: Uint8Array): WakuMessageArchiveIndex {
  const o = decodeWith(wire.WakuMessageArchiveIndex, bytes);
  const archives = new Map<string, WakuMessageArchiveIndexMetadata>();
  const entries = (o.archives ?? {}) as Record<string, unknown>;
  for (const id of Object.keys(entries).sort()) archives.set(id, indexMetadataFromWire(entries[id]));
  return { archives };
}

// --- CommunityMessageArchiveMagnetlink ---

export function encodeCommunityMessageArchiveMagnetlink(m: CommunityMessageArchiveMagnetlink): Uint8Array {
  return encodeWith(
    wire.CommunityMessageArchiveMagnetlink,
    withoutDefaults({ clock: checkUint('clock', m.clock), magnet_uri: m.magnetUri }),
  );
}

export function decodeCommunityMessageArchiveMagnetlink(
  bytes: Uint8Array,
): CommunityMessageArchiveMagnetlink {
  const o = decodeWith(wire.CommunityMessageArchiveMagnetlink, bytes);
  return { clock: numberOf(o.clock), magnetUri: typeof o.magnet_uri === 'string' ? o.magnet_uri : '' };
}

// --- CommunityMessageArchiveLink (the current name; same bytes as the magnetlink message) ---

export function encodeCommunityMessageArchiveLink(m: CommunityMessageArchiveLink): Uint8Array {
  return encodeWith(
    wire.CommunityMessageArchiveLink,
    withoutDefaults({ clock: checkUint('clock', m.clock), archive_link: m.archiveLink }),
  );
}

export function decodeCommunityMessageArchiveLink(bytes: Uint8Array): CommunityMessageArchiveLink {
  const o = decodeWith(wire.CommunityMessageArchiveLink, bytes);
  return { clock: numberOf(o.clock), archiveLink: typeof o.archive_link === 'string' ? o.archive_link : '' };
}

// --- LogosStorageWakuMessageArchiveIndexMetadata / LogosStorageWakuMessageArchiveIndex ---

function cidEntryToWire(m: LogosStorageWakuMessageArchiveIndexMetadata): WireObject {
  const fields = withoutDefaults({ version: checkUint('version', m.version) });
  // A set sub-message is written even when empty (Go writes a non-nil pointer).
  fields.metadata = metadataToWire(m.metadata);
  Object.assign(fields, withoutDefaults({ cid: m.cid }));
  return fields;
}

function cidEntryFromWire(o: unknown): LogosStorageWakuMessageArchiveIndexMetadata {
  const m = (o ?? {}) as WireObject;
  return {
    version: numberOf(m.version),
    metadata: metadataFromWire(m.metadata),
    cid: typeof m.cid === 'string' ? m.cid : '',
  };
}

export function encodeLogosStorageWakuMessageArchiveIndexMetadata(
  m: LogosStorageWakuMessageArchiveIndexMetadata,
): Uint8Array {
  return encodeWith(wire.LogosStorageWakuMessageArchiveIndexMetadata, cidEntryToWire(m));
}

export function decodeLogosStorageWakuMessageArchiveIndexMetadata(
  bytes: Uint8Array,
): LogosStorageWakuMessageArchiveIndexMetadata {
  return cidEntryFromWire(decodeWith(wire.LogosStorageWakuMessageArchiveIndexMetadata, bytes));
}

/** Map entries in ascending key order, as for the torrent index (Go's order is random). */
export function encodeLogosStorageWakuMessageArchiveIndex(
  index: LogosStorageWakuMessageArchiveIndex,
): Uint8Array {
  const archives: Record<string, WireObject> = {};
  for (const id of [...index.archives.keys()].sort()) archives[id] = cidEntryToWire(index.archives.get(id)!);
  return encodeWith(
    wire.LogosStorageWakuMessageArchiveIndex,
    Object.keys(archives).length > 0 ? { archives } : {},
  );
}

export function decodeLogosStorageWakuMessageArchiveIndex(
  bytes: Uint8Array,
): LogosStorageWakuMessageArchiveIndex {
  const o = decodeWith(wire.LogosStorageWakuMessageArchiveIndex, bytes);
  const archives = new Map<string, LogosStorageWakuMessageArchiveIndexMetadata>();
  const entries = (o.archives ?? {}) as Record<string, unknown>;
  for (const id of Object.keys(entries).sort()) archives.set(id, cidEntryFromWire(entries[id]));
  return { archives };
}

// --- CommunityDescription (clock and archive link clock only) ---

export function encodeCommunityDescriptionArchiveClocks(m: CommunityDescriptionArchiveClocks): Uint8Array {
  return encodeWith(
    wire.CommunityDescription,
    withoutDefaults({
      clock: checkUint('clock', m.clock),
      archive_link_clock: checkUint('archiveLinkClock', m.archiveLinkClock),
    }),
  );
}

/** Reads fields 1 and 9 of a whole encoded CommunityDescription; every other field is skipped. */
export function decodeCommunityDescriptionArchiveClocks(
  bytes: Uint8Array,
): CommunityDescriptionArchiveClocks {
  const o = decodeWith(wire.CommunityDescription, bytes);
  return { clock: numberOf(o.clock), archiveLinkClock: numberOf(o.archive_link_clock) };
}

// --- CommunityRequestToJoinResponse (the archive link and what identifies the response) ---

export function encodeCommunityRequestToJoinResponseArchiveLink(
  m: CommunityRequestToJoinResponseArchiveLink,
): Uint8Array {
  return encodeWith(
    wire.CommunityRequestToJoinResponse,
    withoutDefaults({
      clock: checkUint('clock', m.clock),
      accepted: m.accepted,
      community_id: m.communityId,
      archive_link: m.archiveLink,
    }),
  );
}

export function decodeCommunityRequestToJoinResponseArchiveLink(
  bytes: Uint8Array,
): CommunityRequestToJoinResponseArchiveLink {
  const o = decodeWith(wire.CommunityRequestToJoinResponse, bytes);
  return {
    clock: numberOf(o.clock),
    accepted: o.accepted === true,
    communityId: bytesOf(o.community_id),
    archiveLink: typeof o.archive_link === 'string' ? o.archive_link : '',
  };
}

// --- ApplicationMetadataMessage ---

export function encodeApplicationMetadataMessage(m: ApplicationMetadataMessage): Uint8Array {
  return encodeWith(
    wire.ApplicationMetadataMessage,
    withoutDefaults({ signature: m.signature, payload: m.payload, type: m.type }),
  );
}

export function decodeApplicationMetadataMessage(bytes: Uint8Array): ApplicationMetadataMessage {
  const o = decodeWith(wire.ApplicationMetadataMessage, bytes);
  return { signature: bytesOf(o.signature), payload: bytesOf(o.payload), type: numberOf(o.type) };
}
