// Options of the archive machines: the constants of protocol.md §2 (all configurable),
// the spec switches of §9 and the reference quirk/bug switches. The defaults reproduce the
// reference client (status-go); `specOptions()` flips the §9 switches to spec 61.

export const SECOND = 1000;
export const MINUTE = 60 * SECOND;
export const HOUR = 60 * MINUTE;
export const DAY = 24 * HOUR;

/** What a member downloads (§9): every missing archive, only the newest, or a time range (Unix seconds, [from, to)). */
export type DownloadPolicy = 'all' | 'latest' | { from: number; to: number };

export type ImportMode = 'merge' | 'replace';
export type ImportRate = 'slow' | 'fast';
/** Which distribution backends a node uses (protocol.md §11): torrent, content-addressed, or both. */
export type ArchiveBackends = 'torrent' | 'cid' | 'both';

export interface MachineOptions {
  /** Owner: the backends it publishes a round with; member: the link kinds it acts on. */
  archiveBackends: ArchiveBackends;
  // --- §2 constants ---
  /** Partition length and period of the control node's task (ms). */
  archiveIntervalMs: number;
  /** Piece length of the torrent (bytes). */
  pieceLength: number;
  /** Max payload+sig bytes of one archive chunk. */
  maxArchiveChunk: number;
  /** Wait for torrent metadata before an attempt gives up (ms). */
  metadataTimeoutMs: number;
  /** Extra attempts after the first metadata timeout (reference: 1). */
  metadataRetries: number;
  /**
   * Polls of the reference (index every 100 ms, pieces every 1 s). The machines wait on the
   * torrent port's promises instead, which settle at the moment the poll would have seen
   * completion; the values are kept for the record and for hosts that poll.
   */
  indexPollMs: number;
  piecesPollMs: number;
  /** Delay after the node starts before the first import (ms). */
  importDelayMs: number;
  /** Messages per import chunk. */
  importChunk: number;
  importRate: ImportRate;
  /**
   * Chunks per second at the slow and the fast rate, on the node's one limiter (burst 1)
   * that every community's import shares (docs/reference-behaviour.md §1).
   */
  importSlowChunksPerSecond: number;
  importFastChunksPerSecond: number;
  /** Ticker of the import loop: each pass (pick, extract, import one archive) starts on a tick. */
  importTickMs: number;
  /** Retry delay when the decryption key of an archive is missing (ms). */
  missingKeyRetryMs: number;
  /**
   * Extra wait before an archive that fails to decode for another reason is tried again
   * (quirk on); 0 = at the import loop's next tick, as the reference.
   */
  corruptArchiveRetryMs: number;
  /** How far back the control node asks the store when it has no message, and a member reads the magnetlink channel (ms). */
  storeLookbackMs: number;
  /** A member reads the magnetlink channel's history from the store when it starts. */
  magnetlinkHistoryOnStart: boolean;

  // --- §9 spec switches ---
  /** 0 = act on each magnetlink at once (reference); spec: 20 s after the last one. */
  magnetlinkWaitMs: number;
  downloadPolicy: DownloadPolicy;
  importMode: ImportMode;

  // --- reference quirks and bugs ---
  /** §6.2.4: "no new archives" when the count of known archives equals the index's count. */
  countCompareNoNewArchives: boolean;
  /** §6.3: an archive failing to decode (not for a missing key) is retried forever. */
  retryCorruptArchiveForever: boolean;
  /** §5.5: dispatch for a community that cannot be looked up fails the node actor. */
  crashOnMissingCommunity: boolean;
  /**
   * §6.1: an accepted link cancels the running task and starts a new one, even when it is
   * the running task's own link re-announced (a restarting owner). Off: the running task
   * goes on (the link's clock is still stored).
   */
  restartTaskOnSameLink: boolean;
  /** §4: a raw archive that is an exact multiple of P (> P) gets one whole extra piece. */
  extraPaddingPiece: boolean;
  /**
   * §6.2: when the "no new archives" test fails but no archive is missing (the member knows
   * others than the index lists), downloading-started and seeding are signalled all the same.
   */
  signalEmptyDownload: boolean;
  /**
   * §6.3: every end of an import signals downloading-finished, a cancelled one and one that
   * found the node no longer a member included; off: only an import that ran out of archives.
   */
  finishedOnAnyImportEnd: boolean;
  /** §6.4: a node not on the member list of a joined community with archives left to import fails to start. */
  startFailsWhenNotMember: boolean;
  /** §5.4: a failed store query (or catch-up) at start-up leaves the community without a periodic task. */
  storeFailureStopsArchiving: boolean;
  /** §5.4: a restart within the interval seeds (and dispatches) the existing torrent a second time. */
  seedTwiceAtStartup: boolean;

  /**
   * §4/§12: the torrents' announce-list (and so the magnets' `tr=` parameters). The reference
   * writes its two public trackers (archive/torrent.ts REFERENCE_TRACKERS); real nodes do by
   * default. Undefined = none, as in simulated runs, whose traces hold the magnets.
   */
  torrentTrackers?: readonly string[];

  // --- hardening against a hostile or broken owner (off in the reference; on for real nodes) ---
  /**
   * §6.1: ignore a link whose clock is more than `magnetlinkClockMaxAheadMs` ahead of this
   * node's clock (machines/magnetlink-clock.ts). Reference: any clock is taken and stored.
   */
  boundMagnetlinkClock: boolean;
  magnetlinkClockMaxAheadMs: number;
  /**
   * §6.2: check the index against §10 invariant 3 before downloading any archive
   * (archive/index-layout.ts); a broken one ends the task as malformed. Reference: the
   * index is trusted, and an entry that cannot be read is retried for ever at import.
   */
  validateIndex: boolean;

  /** Pubsub topic a community's messages travel on (chats; the store query of §5.4). */
  pubsubTopicOf: (communityId: string) => string;
  /**
   * Pubsub topic of the magnetlink channel; default: the community's own. A separate one
   * lets members relay the channel without relaying every chat message (benchmarks).
   */
  magnetlinkPubsubTopicOf?: (communityId: string) => string;

  /**
   * Decoded archives shared between nodes, keyed by community id, archive id, offset and
   * size (simulations with many members: every member's bytes are piece-verified copies
   * of the owner's, so decoding once is enough). Undefined = every node decodes its own.
   */
  archiveCache?: Map<string, unknown>;
}

export const defaultPubsubTopic = (communityId: string): string => `/waku/2/${communityId}`;

export const DEFAULT_OPTIONS: Readonly<MachineOptions> = Object.freeze({
  archiveBackends: 'torrent',
  archiveIntervalMs: 7 * DAY,
  pieceLength: 102_400,
  maxArchiveChunk: 30_000_000,
  metadataTimeoutMs: 20 * SECOND,
  metadataRetries: 1,
  indexPollMs: 100,
  piecesPollMs: SECOND,
  importDelayMs: 5 * MINUTE,
  importChunk: 10,
  importRate: 'slow',
  importSlowChunksPerSecond: 1,
  importFastChunksPerSecond: 100,
  importTickMs: 100,
  missingKeyRetryMs: HOUR,
  corruptArchiveRetryMs: 0,
  storeLookbackMs: 30 * DAY,
  magnetlinkHistoryOnStart: true,
  magnetlinkWaitMs: 0,
  downloadPolicy: 'all',
  importMode: 'merge',
  countCompareNoNewArchives: true,
  retryCorruptArchiveForever: true,
  crashOnMissingCommunity: false,
  restartTaskOnSameLink: true,
  extraPaddingPiece: true,
  signalEmptyDownload: true,
  finishedOnAnyImportEnd: true,
  startFailsWhenNotMember: true,
  storeFailureStopsArchiving: true,
  seedTwiceAtStartup: true,
  boundMagnetlinkClock: false,
  magnetlinkClockMaxAheadMs: DAY,
  validateIndex: false,
  pubsubTopicOf: defaultPubsubTopic,
} satisfies MachineOptions);

/**
 * What a node on the real network runs with unless its configuration says otherwise
 * (host/real-node.ts): the reference's trust in what an owner signs is kept for simulation,
 * where the scenario's `quirks` choose it.
 */
export const HARDENED_OPTIONS: Readonly<Partial<MachineOptions>> = Object.freeze({
  boundMagnetlinkClock: true,
  validateIndex: true,
});

/** Defaults overridden by `patch`; checks the numbers. */
export function resolveOptions(patch: Partial<MachineOptions> = {}): MachineOptions {
  const o: MachineOptions = { ...DEFAULT_OPTIONS, ...stripUndefined(patch) };
  const positive: (keyof MachineOptions)[] = [
    'archiveIntervalMs',
    'pieceLength',
    'maxArchiveChunk',
    'importChunk',
    'importSlowChunksPerSecond',
    'importFastChunksPerSecond',
    'importTickMs',
  ];
  for (const k of positive) {
    const v = o[k];
    if (typeof v !== 'number' || !(v > 0))
      throw new RangeError(`option ${k} must be a positive number, got ${String(v)}`);
  }
  const nonNegative: (keyof MachineOptions)[] = [
    'metadataTimeoutMs',
    'metadataRetries',
    'importDelayMs',
    'missingKeyRetryMs',
    'corruptArchiveRetryMs',
    'storeLookbackMs',
    'magnetlinkWaitMs',
    'magnetlinkClockMaxAheadMs',
  ];
  for (const k of nonNegative) {
    const v = o[k];
    if (typeof v !== 'number' || !(v >= 0))
      throw new RangeError(`option ${k} must be >= 0, got ${String(v)}`);
  }
  return o;
}

/** The §9 spec-61 behaviour: wait 20 s after the last link, replace on import. */
export function specOptions(patch: Partial<MachineOptions> = {}): MachineOptions {
  return resolveOptions({ magnetlinkWaitMs: 20 * SECOND, importMode: 'replace', ...stripUndefined(patch) });
}

/** Milliseconds an import step of `chunks` chunks takes at the given rate. */
export function importStepMs(o: MachineOptions, rate: ImportRate, chunks: number): number {
  const perSecond = rate === 'fast' ? o.importFastChunksPerSecond : o.importSlowChunksPerSecond;
  return Math.ceil((chunks * SECOND) / perSecond);
}

function stripUndefined<T extends object>(patch: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
