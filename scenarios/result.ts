// The outcome of a scenario run, in the JSON shape `archivist run --json` prints (issue 5),
// plus the time series the HTML report draws. Plain data: numbers, strings, arrays.

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

/** What the report needs beyond the JSON result. */
export interface RunDetails {
  /** Virtual ms of the start of the run. */
  start: number;
  /** The scenario's names of the communities, by community id. */
  communityNames: Record<string, string>;
  activity: ActivityEvent[];
  history: HistorySample[];
}
