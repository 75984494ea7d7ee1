// What a node remembers across restarts: its Waku messages, and per community the archive
// bookkeeping of protocol.md §5–§6. Synchronous (node:sqlite is synchronous too).
//
// Crash contract: every method is one atomic transaction; a crash after a method returned
// keeps its effect, a crash during it leaves no part of it. Community folders and torrent
// files live in the FileSystem port, not here.

import type { WakuMessage } from '../proto/types.ts';

export interface CommunityArchiveState {
  /** Unix seconds; end of the last archived range (control node). */
  lastArchiveEndDate?: number;
  /** Highest magnetlink clock (ms) accepted (member) or dispatched (control node). */
  magnetlinkClock?: number;
  /** Last magnet link fully processed by a member. */
  lastSeenMagnetlink?: string;
  /**
   * Content-addressed backend (protocol.md §11): the index cid the owner created last, or the
   * one a member holds (and imports from); its own link clock, kept beside the magnetlink's
   * when an owner publishes both; the last index cid a member fully processed.
   */
  indexCid?: string;
  indexCidClock?: number;
  lastSeenIndexCid?: string;
}

/** The fields of CommunityArchiveState, for stores that copy them one by one. */
export const ARCHIVE_STATE_KEYS = [
  'lastArchiveEndDate',
  'magnetlinkClock',
  'lastSeenMagnetlink',
  'indexCid',
  'indexCidClock',
  'lastSeenIndexCid',
] as const satisfies readonly (keyof CommunityArchiveState)[];

export interface ArchiveRecord {
  id: string;
  /** Unix seconds of the archive's metadata, for ordering and resuming. */
  from: number;
  to: number;
  imported: boolean;
}

export interface Storage {
  // --- Waku messages (deduplicated by hash) ---
  /** Returns how many of them were new. */
  saveMessages(messages: WakuMessage[]): number;
  /** Messages on these v1 topics with from <= timestamp < to, ordered by timestamp then hash. */
  messagesInRange(topics: Uint8Array[], from: number, to: number): WakuMessage[];
  oldestMessageTimestamp(topics: Uint8Array[]): number | undefined;
  newestMessageTimestamp(topics: Uint8Array[]): number | undefined;
  /** Spec mode "canonical history": delete messages on these topics with from <= timestamp < to. */
  deleteMessagesInRange(topics: Uint8Array[], from: number, to: number): number;
  countMessages(topics?: Uint8Array[]): number;

  // --- per-community archive bookkeeping ---
  getArchiveState(communityId: string): CommunityArchiveState;
  updateArchiveState(communityId: string, patch: Partial<CommunityArchiveState>): void;
  /** Archives recorded as downloaded (imported or not), ascending `from`; a snapshot (may be shared and frozen). */
  archives(communityId: string): readonly ArchiveRecord[];
  markArchiveDownloaded(communityId: string, record: Omit<ArchiveRecord, 'imported'>): void;
  markArchiveImported(communityId: string, id: string): void;
  /** Forget everything about a community (leave/delete). Messages stay. */
  forgetCommunity(communityId: string): void;
}
