// The wire schema of protocol.md §3 and of the content-addressed backend (docs/content-addressed.md),
// as protobufjs reflection types. Field numbers are the wire truth; the names are the
// reference client's (its current internal/protocol/protobuf/communities.proto).
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto3";

message WakuMessage {
  bytes sig = 1;
  uint64 timestamp = 2;
  bytes topic = 3;
  bytes payload = 4;
  bytes padding = 5;
  bytes hash = 6;
  string thirdPartyId = 7;
}

message WakuMessageArchiveMetadata {
  uint32 version = 1;
  uint64 from = 2;
  uint64 to = 3;
  repeated bytes contentTopic = 4;
}

message WakuMessageArchive {
  uint32 version = 1;
  WakuMessageArchiveMetadata metadata = 2;
  repeated WakuMessage messages = 3;
}

message WakuMessageArchiveIndexMetadata {
  uint32 version = 1;
  WakuMessageArchiveMetadata metadata = 2;
  uint64 offset = 3;
  uint64 size = 4;
  uint64 padding = 5;
}

message WakuMessageArchiveIndex {
  map<string, WakuMessageArchiveIndexMetadata> archives = 1;
}

message CommunityMessageArchiveMagnetlink {
  uint64 clock = 1;
  string magnet_uri = 2;
}

message CommunityMessageArchiveLink {
  uint64 clock = 1;
  string archive_link = 2;
}

message LogosStorageWakuMessageArchiveIndexMetadata {
  uint32 version = 1;
  WakuMessageArchiveMetadata metadata = 2;
  string cid = 3;
}

message LogosStorageWakuMessageArchiveIndex {
  map<string, LogosStorageWakuMessageArchiveIndexMetadata> archives = 1;
}

// Only the fields archivist uses; protobufjs skips the others when decoding.
message CommunityDescription {
  uint64 clock = 1;
  uint64 archive_link_clock = 9;
}

message CommunityRequestToJoinResponse {
  uint64 clock = 1;
  bool accepted = 3;
  bytes community_id = 5;
  string archive_link = 6;
}

message ApplicationMetadataMessage {
  bytes signature = 1;
  bytes payload = 2;
  int32 type = 3;
}

// The encryption layer's envelope of a public message (protocol.md §12,
// docs/reference-wire.md): only the fields a public message uses.
message SignedPreKey {
  bytes signed_pre_key = 1;
  uint32 version = 2;
  uint32 protocol_version = 3;
}

message Bundle {
  bytes identity = 1;
  map<string, SignedPreKey> signed_pre_keys = 2;
  bytes signature = 4;
  int64 timestamp = 5;
}

message ProtocolMessage {
  string installation_id = 2;
  repeated Bundle bundles = 3;
  bytes public_message = 102;
}

message SegmentMessage {
  bytes entire_message_hash = 1;
  uint32 index = 2;
  uint32 segments_count = 3;
  bytes payload = 4;
  uint32 parity_segment_index = 5;
  uint32 parity_segments_count = 6;
}
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;

export const wire = {
  WakuMessage: root.lookupType('WakuMessage'),
  WakuMessageArchiveMetadata: root.lookupType('WakuMessageArchiveMetadata'),
  WakuMessageArchive: root.lookupType('WakuMessageArchive'),
  WakuMessageArchiveIndexMetadata: root.lookupType('WakuMessageArchiveIndexMetadata'),
  WakuMessageArchiveIndex: root.lookupType('WakuMessageArchiveIndex'),
  CommunityMessageArchiveMagnetlink: root.lookupType('CommunityMessageArchiveMagnetlink'),
  CommunityMessageArchiveLink: root.lookupType('CommunityMessageArchiveLink'),
  LogosStorageWakuMessageArchiveIndexMetadata: root.lookupType('LogosStorageWakuMessageArchiveIndexMetadata'),
  LogosStorageWakuMessageArchiveIndex: root.lookupType('LogosStorageWakuMessageArchiveIndex'),
  CommunityDescription: root.lookupType('CommunityDescription'),
  CommunityRequestToJoinResponse: root.lookupType('CommunityRequestToJoinResponse'),
  ApplicationMetadataMessage: root.lookupType('ApplicationMetadataMessage'),
  SignedPreKey: root.lookupType('SignedPreKey'),
  Bundle: root.lookupType('Bundle'),
  ProtocolMessage: root.lookupType('ProtocolMessage'),
  SegmentMessage: root.lookupType('SegmentMessage'),
} as const;
