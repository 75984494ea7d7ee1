// `archivist/real`: the adapters on real backends (node:sqlite, BitTorrent over TCP, Waku
// relay over libp2p, the system clock, node:fs), and the host that builds them all from a
// config, as `archivist node --config` does.

export {
  BitTorrentClient,
  type BitTorrentClientOptions,
  ListenError,
  PeerUnusable,
  TorrentRefused,
  TorrentRemoved,
} from '../adapters/real/bittorrent-client.ts';
export {
  Libp2pMessaging,
  type Libp2pMessagingOptions,
  StoreUnavailable,
} from '../adapters/real/libp2p-messaging.ts';
export { NodeFileSystem } from '../adapters/real/node-fs.ts';
export {
  openSqliteStorage,
  SqliteStorage,
  type SqliteStorageOptions,
  StorageSchemaError,
} from '../adapters/real/sqlite-storage.ts';
export { SystemClock } from '../adapters/real/system-clock.ts';
export {
  parseRealNodeConfig,
  type RealNode,
  type RealNodeConfig,
  RealNodeConfigError,
  RealNodeConfigSchema,
  type RealNodeInfo,
  type StartRealNodeArgs,
  startRealNode,
} from '../host/real-node.ts';
