// The outcome of a scenario run, in the JSON shape `archivist run --json` prints (issue 5),
// plus the time series the HTML report draws. Plain data: numbers, strings, arrays.

import type { FaultWindow } from './faults/windows.ts';

export interface RoundResult {
  communityId: string;
  /** Virtual ms of the round's range [start, end). */
  start: number;
  end: number;
  archives: number;
  infoHash: string;
}

export interface MagnetlinkResult {
  communityId: string;
  /** Node that sent it. */
  sender: string;
  clock: number;
  infoHash: string;
  /** Whether at least one member acted on it. */
  accepted: boolean;
}

export interface MemberResult {
  node: string;
  communityId: string;
  downloaded: number;
  imported: number;
  messagesImported: number;
  bytesDown: number;
  bytesUp: number;
  /** Bytes of the largest archive it read whole for an import (size - padding): its import's memory. */
  peakImportBytes: number;
}

export interface ExpectationResult {
  text: string;
  ok: boolean;
}

export interface RunResult {
  scenario: string;
  seed: number;
  ok: boolean;
  traceHash: string;
  virtualMs: number;
  events: number;
  rounds: RoundResult[];
  magnetlinks: MagnetlinkResult[];
  members: MemberResult[];
  signals: Record<string, number>;
  /** "ok" or the reason it failed. */
  invariants: Record<string, string>;
  /**
   * "ok", "not checked" or the first failure of each check beyond §10 (scenarios/checks.ts:
   * node failures, "no new archives" with archives missing, stuck imports). Informative:
   * they fail a run only through a `check:` expectation (the reference bugs trip them).
   */
  checks: Record<string, string>;
  expectations: ExpectationResult[];
}

export const activityKinds = ['round', 'dispatch', 'download', 'import'] as const;
export type ActivityKind = (typeof activityKinds)[number];

/** One point of the report's timeline: something a node did at a virtual time. */
export interface ActivityEvent {
  /** Virtual ms since the Unix epoch. */
  t: number;
  node: string;
  communityId: string;
  kind: ActivityKind;
  detail?: string;
}

/** Share of the joined members holding the full history of a community at a time. */
export interface HistorySample {
  t: number;
  communityId: string;
  share: number;
}

/**
 * Each member's share of the first owner's index imported, at `times` (virtual ms): one row
 * per member and community, `null` before it joined or while the index is empty. With many
 * members, `grouped` consecutive members share a row (their mean).
 */
export interface MemberProgress {
  times: number[];
  rows: { node: string; communityId: string; share: (number | null)[] }[];
  grouped: number;
}

export const latencyStages = ['announce→download', 'download→import', 'announce→import'] as const;
export type LatencyStage = (typeof latencyStages)[number];

/**
 * The distribution of one stage over every (member, archive) pair that got through it:
 * from the announce of the first torrent holding the archive (or the member's join, when it
 * came later) to the member's download of it, from that download to its import, and both.
 * `bins` counts the pairs between consecutive edges of `LATENCY_EDGES`
 * (scenarios/run/report-details.ts), the last bin open.
 */
export interface LatencyStats {
  stage: LatencyStage;
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  bins: number[];
}

/** One archive an owner made: the report's table of rounds and archives. */
export interface ArchiveRow {
  communityId: string;
  owner: string;
  /** The owner's round that made it, 1-based per community. */
  round: number;
  id: string;
  /** Virtual ms. */
  createdAt: number;
  announcedAt: number | null;
  /** The range of messages it holds, ms. */
  from: number;
  to: number;
  messages: number;
  bytes: number;
  downloadedBy: number;
  importedBy: number;
  /** Members of the run (owners aside). */
  members: number;
  medianAnnounceToImport: number | null;
}

/** The scenario's parameters as the run used them (durations in words). */
export interface RunParameters {
  scenario: string;
  description?: string;
  seed: number;
  start: number;
  duration: number;
  mode: string;
  nodes: { owners: number; members: number; lateJoiners: number };
  communities: { id: string; chats: number; encrypted: boolean }[];
  traffic: { community: string; rate: string; size: string; window: string }[];
  network: Record<string, string>;
  storeRetention: string;
  timelineActions: number;
  /** Every option and quirk of the machines, by its scenario name; `changed` from the reference's. */
  machineOptions: { name: string; value: string; changed: boolean }[];
}

/** A distribution backend of protocol.md §11 (scenario `backend`). */
export type BackendName = 'torrent' | 'cid' | 'both';

/** One member's figures of a community: how it got the history, and at what cost. */
export interface MemberBackendFigures {
  node: string;
  communityId: string;
  /** The backend(s) it ran with. */
  backend: BackendName;
  /**
   * Virtual ms from when the history it should hold existed (the announce of the last of
   * the owners' archives, or its first start when that came later) to its import of the
   * last of them; null when it never held them all.
   */
  timeToFullHistory: number | null;
  /** The owners' archives announced during the run (by range: a round of either backend). */
  archivesNeeded: number;
  /** How many of them it imported. */
  archivesHeld: number;
  /** Its `archiveImported` signals (an archive imported again counts again). */
  archivesImported: number;
  /** Tasks that ended timeout, error or malformed, and failed content fetches. */
  failedFetches: number;
  /** Metadata requests again within one task, and tasks started again on a link that failed. */
  retriedFetches: number;
}

/** Three points of a distribution (nearest rank); null without values. */
export interface Spread {
  count: number;
  median: number | null;
  p90: number | null;
  max: number | null;
}

/** Bytes uploaded by the owners and by every other node, in one distribution network. */
export interface UploadSplit {
  owners: number;
  peers: number;
}

/** What a run tells about its backend(s): what `archivist compare` puts side by side. */
export interface BackendFigures {
  /** The scenario's backend (nodes may override it). */
  backend: BackendName;
  members: MemberBackendFigures[];
  /** Members (of a community, at the end) counted, and those that held every archive. */
  membersCounted: number;
  membersComplete: number;
  /** Over the complete members. */
  timeToFullHistory: Spread;
  uploaded: { torrent: UploadSplit; content: UploadSplit };
  failedFetches: { timeout: number; error: number; malformed: number; content: number; total: number };
  /** Metadata attempts after the first, content-addressed downloads retried after a timeout, tasks restarted on a failed link. */
  retriedFetches: { metadata: number; content: number; tasks: number; total: number };
  archivesImported: number;
}

/** What the report needs beyond the JSON result. */
export interface RunDetails {
  /** Virtual ms of the start of the run. */
  start: number;
  /** The scenario's names of the communities, by community id. */
  communityNames: Record<string, string>;
  activity: ActivityEvent[];
  history: HistorySample[];
  parameters: RunParameters;
  /** The faults the timeline injected, as windows on the time axis (scenarios/faults/windows.ts). */
  faults: FaultWindow[];
  progress: MemberProgress;
  latency: LatencyStats[];
  archives: ArchiveRow[];
  /** Backend figures (absent from runs saved before they existed). */
  backend?: BackendFigures;
}
