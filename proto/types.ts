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

export const ApplicationMetadataMessageType = {
  COMMUNITY_MESSAGE_ARCHIVE_MAGNETLINK: 43,
} as const;

export interface ApplicationMetadataMessage {
  signature: Uint8Array;
  payload: Uint8Array;
  type: number;
}
