// Torrent-like archive distribution (protocol.md §4–§6). The simulated swarm and the
// BitTorrent adapter implement the same interface and pass the same contract suite.
// Waiting policy (the 20 s metadata timeout, retries) belongs to the machines: every wait
// here takes an AbortSignal and otherwise waits as long as it takes.
//
// §11's content-addressed backend is a sibling port (ContentStore, later issue), not a mode
// of this one: the machines pick the port through their distribution option.

import type { Unsubscribe } from './messaging.ts';

export interface TorrentFileEntry {
  /** Path inside the torrent folder, e.g. `data` or `index`. */
  path: string;
  length: number;
  /** Byte offset of the file in the concatenation of all files. */
  offset: number;
}

export interface TorrentMetadata {
  /** 40 lowercase hex. */
  infoHash: string;
  /** Folder name (the community id). */
  name: string;
  pieceLength: number;
  pieceCount: number;
  files: TorrentFileEntry[];
}

export interface TransferStats {
  bytesDown: number;
  bytesUp: number;
}

export interface TorrentProgress {
  infoHash: string;
  piecesHave: number;
  piecesWanted: number;
}

export interface TorrentDownload {
  readonly infoHash: string;
  /** Resolves once the info dictionary is known (from a peer). */
  metadata(signal?: AbortSignal): Promise<TorrentMetadata>;
  /** Fetches every piece of one file and resolves once they are verified and on the FileSystem. */
  downloadFile(path: string, signal?: AbortSignal): Promise<void>;
  /** Fetches pieces [first, end) and resolves once they are verified and on the FileSystem. */
  downloadPieces(first: number, end: number, signal?: AbortSignal): Promise<void>;
  onProgress(listener: (progress: TorrentProgress) => void): Unsubscribe;
}

export interface TorrentClient {
  readonly running: boolean;
  start(): Promise<void>;
  /** Stops every torrent and releases every handle (sockets, timers). */
  stop(): Promise<void>;
  /**
   * Seed the folder `<parentDir>/<name>` described by a `.torrent` file; the files must be
   * there. Resolves with the info-hash once peers can fetch from this node.
   */
  seed(torrentFile: Uint8Array, parentDir: string): Promise<string>;
  /**
   * Join the swarm of a magnet link, writing into `<parentDir>/<name>`. Pieces already
   * present there with the right hash are kept (members re-use earlier rounds' pieces).
   */
  add(magnetUri: string, parentDir: string): TorrentDownload;
  /** Stop seeding or downloading a torrent; its files stay. No-op when unknown. */
  remove(infoHash: string): Promise<void>;
  /** Info-hashes currently added or seeded. */
  active(): string[];
  stats(): TransferStats;
}
