// The ports a node needs, bundled. Machines receive one NodeAdapters and touch the world
// through nothing else.

import type { Clock } from './clock.ts';
import type { CommunityDescriptions } from './community-descriptions.ts';
import type { ContentStore } from './content-store.ts';
import type { FileSystem } from './filesystem.ts';
import type { KeyStore } from './keys.ts';
import type { Messaging } from './messaging.ts';
import type { Storage } from './storage.ts';
import type { TorrentClient } from './torrent.ts';

export type { Clock, TimerHandle } from './clock.ts';
export type { CommunityDescriptions } from './community-descriptions.ts';
export {
  ContentNotHeld,
  type ContentStore,
  ContentStoreStopped,
  type FetchOptions,
  type FetchProgress,
  InvalidContentId,
} from './content-store.ts';
export { FileNotFound, type FileSystem } from './filesystem.ts';
export type { KeyStore, NodeIdentity } from './keys.ts';
export type { Messaging, RelayMessage, StoreQuery, Unsubscribe } from './messaging.ts';
export type { ArchiveRecord, CommunityArchiveState, Storage } from './storage.ts';
export type {
  TorrentClient,
  TorrentDownload,
  TorrentFileEntry,
  TorrentMetadata,
  TorrentProgress,
  TransferStats,
} from './torrent.ts';

export interface NodeAdapters {
  clock: Clock;
  fs: FileSystem;
  storage: Storage;
  messaging: Messaging;
  torrent: TorrentClient;
  /** The local store node of the content-addressed backend (protocol.md §11), where the node has one. */
  content?: ContentStore;
  keys: KeyStore;
  /** The communities' descriptions, where the host keeps them (dispatch updates field 9). */
  descriptions?: CommunityDescriptions;
  /** Folder holding `<communityId>/{data,index}`. */
  dataDir: string;
  /** Folder holding `<communityId>.torrent`. */
  torrentDir: string;
}
