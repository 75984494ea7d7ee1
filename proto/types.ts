// Plain TypeScript shapes of the wire messages of protocol.md §3.
// The encoders in this folder turn them into bytes identical to the reference encoder;
// everything else in archivist passes these objects around.

/** A Waku message as the reference stores it in archives (the Waku v1 field names). */
export interface WakuMessage {
  sig: Uint8Array;
  /** Unix seconds. */
  timestamp: number;
  /** Waku v1 topic: 4 bytes. */
  topic: Uint8Array;
  payload: Uint8Array;
  padding: Uint8Array;
  hash: Uint8Array;
  thirdPartyId: string;
}

export interface WakuMessageArchiveMetadata {
  version: number;
  /** Unix seconds, inclusive. */
  from: number;
  /** Unix seconds, exclusive. */
  to: number;
  contentTopic: Uint8Array[];
}

export interface WakuMessageArchive {
  version: number;
  metadata: WakuMessageArchiveMetadata;
  messages: WakuMessage[];
}

export interface WakuMessageArchiveIndexMetadata {
  version: number;
  metadata: WakuMessageArchiveMetadata;
  offset: number;
  size: number;
  padding: number;
}

export interface WakuMessageArchiveIndex {
  /** archive id (`0x` + 64 lowercase hex) -> metadata */
  archives: Map<string, WakuMessageArchiveIndexMetadata>;
}

export interface CommunityMessageArchiveMagnetlink {
  /** Sender's time in milliseconds. */
  clock: number;
  magnetUri: string;
}

/**
 * The reference's current name of the link message (internal/protocol/protobuf/communities.proto):
 * the same two fields as the magnetlink message, so the same bytes; `archiveLink` is a magnet
 * URI (torrent backend) or the index's content id (content-addressed backend).
 */
export interface CommunityMessageArchiveLink {
  /** Sender's time in milliseconds. */
  clock: number;
  archiveLink: string;
}

/** One entry of a content-addressed index: the archive's metadata and its content id. */
export interface LogosStorageWakuMessageArchiveIndexMetadata {
  version: number;
  metadata: WakuMessageArchiveMetadata;
  cid: string;
}

export interface LogosStorageWakuMessageArchiveIndex {
  /** archive id (`0x` + 64 lowercase hex of Keccak-256 of the encoded entry) -> entry */
  archives: Map<string, LogosStorageWakuMessageArchiveIndexMetadata>;
}

/**
 * The two CommunityDescription fields archivist reads and writes: `clock` (1) and the
 * archive link clock (9; `archive_magnetlink_clock` in older revisions, `archive_link_clock`
 * now, same number). Every other field of a description is skipped on decoding and not
 * written on encoding.
 */
export interface CommunityDescriptionArchiveClocks {
  clock: number;
  archiveLinkClock: number;
}

/** The archive-related fields of CommunityRequestToJoinResponse (clock 1, accepted 3, community_id 5, archive_link 6). */
export interface CommunityRequestToJoinResponseArchiveLink {
  clock: number;
  accepted: boolean;
  communityId: Uint8Array;
  /** `magnet_uri` in older revisions; same field number. */
  archiveLink: string;
}

export const ApplicationMetadataMessageType = {
  COMMUNITY_MESSAGE_ARCHIVE_MAGNETLINK: 43,
  /** The same number under its current name: one type for both backends' links. */
  COMMUNITY_MESSAGE_ARCHIVE_LINK: 43,
  COMMUNITY_DESCRIPTION: 25,
  COMMUNITY_REQUEST_TO_JOIN_RESPONSE: 48,
} as const;

export interface ApplicationMetadataMessage {
  signature: Uint8Array;
  payload: Uint8Array;
  type: number;
}
