// `archivist`: embedding the machines in a host app. createArchiveNode takes the host's
// ports (NodeAdapters) and communities and returns a running node whose signals the host
// subscribes to; the port interfaces are here for a host writing its own adapters, and the
// helpers a host needs to name communities, chats and messages. The simulated and real
// adapters are in `archivist/sim` and `archivist/real`.

export type { CommunityConfig } from '../machines/community-env.ts';
export { type ArchiveNode, type CreateArchiveNodeArgs, createArchiveNode } from '../machines/embed.ts';
export {
  DEFAULT_OPTIONS,
  type DownloadPolicy,
  type ImportMode,
  type ImportRate,
  type MachineOptions,
  resolveOptions,
  specOptions,
} from '../machines/options.ts';
export {
  isProtocolSignal,
  type NodeSignal,
  type NodeSignalType,
  PROTOCOL_SIGNALS,
  type ProtocolSignal,
  type ProtocolSignalName,
  type SignalListener,
} from '../machines/signals.ts';
export type {
  ArchiveRecord,
  Clock,
  CommunityArchiveState,
  FileSystem,
  KeyStore,
  Messaging,
  NodeAdapters,
  NodeIdentity,
  RelayMessage,
  Storage,
  StoreQuery,
  TimerHandle,
  TorrentClient,
  TorrentDownload,
  TorrentFileEntry,
  TorrentMetadata,
  TorrentProgress,
  TransferStats,
  Unsubscribe,
} from '../ports/index.ts';
export { FileNotFound } from '../ports/index.ts';
export { communityIdOf, generateCommunityKey, nodeIdentityOf } from '../proto/signing.ts';
export { chatTopic, contentTopicOf } from '../proto/topics.ts';
export type { WakuMessage } from '../proto/types.ts';
