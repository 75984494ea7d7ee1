// What the report shows a protocol engineer beyond the JSON result, gathered from every
// node's signal log once the run ended: each member's progress over time (the share of
// the first owner's index it has imported), the latencies of each archive from its
// announce to a member's download and import, the table of rounds and archives, the fault
// windows of the timeline, and the scenario's parameters as the run used them. Pure reading of the logs: nothing here runs
// during the simulation.

import { DEFAULT_OPTIONS, type MachineOptions, resolveOptions } from '../../machines/options.ts';
import type { NodeSignal } from '../../machines/signals.ts';
import { HEALTHY_BANDWIDTH, HEALTHY_LATENCY } from '../faults/index.ts';
import { type FaultWindow, faultWindows } from '../faults/windows.ts';
import type { HarnessNode } from '../harness.ts';
import type { ArchiveRow, LatencyStage, LatencyStats, MemberProgress, RunParameters } from '../result.ts';
import { formatDuration } from '../units.ts';
import type { RunContext } from './context.ts';

/** Columns of the progress heatmap (points in time). */
const PROGRESS_POINTS = 120;
/** Rows of the progress heatmap: beyond this many members, consecutive members share a row. */
const PROGRESS_ROWS = 300;

/** Bin edges of the latency histograms (ms); the last bin is open. */
export const LATENCY_EDGES = [
  0,
  1_000,
  10_000,
  60_000,
  600_000,
  3_600_000,
  3 * 3_600_000,
  6 * 3_600_000,
  12 * 3_600_000,
  86_400_000,
  2 * 86_400_000,
  7 * 86_400_000,
];

interface ArchiveInfo {
  id: string;
  communityId: string;
  owner: string;
  round: number;
  createdAt: number;
  from: number;
  to: number;
  messages: number;
  size: number;
  /** First dispatch of a torrent holding it (ms), when there was one. */
  announcedAt: number | undefined;
}

interface MemberArchiveTimes {
  node: string;
  archive: ArchiveInfo;
  /** Announce, or the member's join when it came later. */
  since: number | undefined;
  downloadedAt?: number;
  importedAt?: number;
}

export interface ReportDetails {
  progress: MemberProgress;
  latency: LatencyStats[];
  archives: ArchiveRow[];
}

/** Every archive the owners made, with the moment its first torrent was announced. */
function archivesOf(run: RunContext): ArchiveInfo[] {
  const { plan } = run;
  const ownerIds = new Set(plan.owners.map((n) => plan.id(n.name)));
  const out: ArchiveInfo[] = [];
  for (const n of run.allNodes) {
    if (!ownerIds.has(n.id)) continue;
    // an archive is in every later torrent too: its announce is the owner's first dispatch
    // of the community from its round on
    const dispatches = n.log.filter((s) => s.type === 'archive.magnetlinkDispatched');
    const rounds = new Map<string, number>();
    for (const s of n.log) {
      if (s.type !== 'archive.roundCreated') continue;
      const round = (rounds.get(s.communityId) ?? 0) + 1;
      rounds.set(s.communityId, round);
      const announcedAt = dispatches.find((d) => d.communityId === s.communityId && d.t >= s.t)?.t;
      for (const a of s.archives)
        out.push({
          id: a.id,
          communityId: s.communityId,
          owner: plan.name(n.id),
          round,
          createdAt: s.t,
          from: a.from,
          to: a.to,
          messages: a.messages,
          size: a.size,
          announcedAt,
        });
    }
  }
  return out.sort((a, b) => a.createdAt - b.createdAt || a.from - b.from);
}

/** Nearest-rank quantile of sorted values (0 when there are none). */
export function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

function stats(stage: LatencyStage, values: number[]): LatencyStats {
  const sorted = values.filter((v) => v >= 0).sort((a, b) => a - b);
  const bins = LATENCY_EDGES.map(() => 0);
  for (const v of sorted) {
    let i = LATENCY_EDGES.length - 1;
    while (i > 0 && v < (LATENCY_EDGES[i] as number)) i--;
    bins[i] = (bins[i] as number) + 1;
  }
  return {
    stage,
    count: sorted.length,
    p50: quantile(sorted, 0.5),
    p90: quantile(sorted, 0.9),
    p99: quantile(sorted, 0.99),
    max: sorted.at(-1) ?? 0,
    bins,
  };
}

/** When a member first came up (ms), from the scenario. */
function joinedAt(run: RunContext, n: HarnessNode): number {
  return run.h.start + (run.plan.node(run.plan.name(n.id))?.joinAt ?? 0);
}

/** The share of the first owner's index each member had imported, over the run. */
function memberProgress(run: RunContext, end: number): MemberProgress {
  const { plan, h } = run;
  const start = h.start;
  const points = Math.max(2, Math.min(PROGRESS_POINTS, Math.ceil((end - start) / 3_600_000) + 1));
  const times = Array.from({ length: points }, (_, i) =>
    Math.round(start + ((end - start) * i) / (points - 1)),
  );
  const ownerIds = new Set(plan.owners.map((n) => plan.id(n.name)));
  // archives in the first owner's index by each point, per community
  const indexAt = new Map<string, number[]>();
  for (const c of h.communities) {
    const made = h.owner.log
      .filter((s) => s.type === 'archive.roundCreated' && s.communityId === c.id)
      .map((s) => ({
        t: s.t,
        n: (s as Extract<NodeSignal, { type: 'archive.roundCreated' }>).archives.length,
      }));
    let total = 0;
    let j = 0;
    indexAt.set(
      c.id,
      times.map((t) => {
        while (j < made.length && (made[j] as { t: number }).t <= t) total += (made[j++] as { n: number }).n;
        return total;
      }),
    );
  }
  type Row = { node: string; communityId: string; share: (number | null)[] };
  const rows: Row[] = [];
  for (const { node: n, community: c } of run.membership.pairs(run.allNodes, h.communities)) {
    if (ownerIds.has(n.id)) continue;
    const imports = n.log
      .filter((s) => s.type === 'archive.archiveImported' && s.communityId === c.id)
      .map((s) => s.t);
    const joined = joinedAt(run, n);
    const index = indexAt.get(c.id) as number[];
    let j = 0;
    let count = 0;
    rows.push({
      node: plan.name(n.id),
      communityId: c.id,
      share: times.map((t, i) => {
        while (j < imports.length && (imports[j] as number) <= t) {
          count++;
          j++;
        }
        const of = index[i] as number;
        if (t < joined || of === 0) return null;
        return Math.round(Math.min(1, count / of) * 1000) / 1000;
      }),
    });
  }
  if (rows.length <= PROGRESS_ROWS) return { times, rows, grouped: 1 };
  // Consecutive members (scenario order) share a row: its mean over those that had joined.
  const per = Math.ceil(rows.length / PROGRESS_ROWS);
  const grouped: Row[] = [];
  for (let i = 0; i < rows.length; i += per) {
    const band = rows.slice(i, i + per);
    const first = band[0] as Row;
    const last = band.at(-1) as Row;
    grouped.push({
      node: `${first.node}…${last.node}`,
      communityId: first.communityId,
      share: times.map((_, k) => {
        const vs = band.map((r) => r.share[k]).filter((v): v is number => v !== null && v !== undefined);
        return vs.length === 0 ? null : Math.round((vs.reduce((a, b) => a + b, 0) / vs.length) * 1000) / 1000;
      }),
    });
  }
  return { times, rows: grouped, grouped: per };
}

/** Download and import times of every (member, archive) pair. */
function memberArchiveTimes(run: RunContext, archives: ArchiveInfo[]): MemberArchiveTimes[] {
  const { plan } = run;
  const ownerIds = new Set(plan.owners.map((n) => plan.id(n.name)));
  const byId = new Map(archives.map((a) => [a.id, a]));
  const byRange = new Map<string, ArchiveInfo[]>();
  for (const a of archives) {
    const k = `${a.communityId}\u0000${a.from}`;
    const list = byRange.get(k);
    if (list) list.push(a);
    else byRange.set(k, [a]);
  }
  const out: MemberArchiveTimes[] = [];
  for (const n of run.allNodes) {
    if (ownerIds.has(n.id)) continue;
    const joined = joinedAt(run, n);
    const mine = new Map<string, MemberArchiveTimes>();
    const entry = (a: ArchiveInfo): MemberArchiveTimes => {
      let e = mine.get(a.id);
      if (!e) {
        e = {
          node: plan.name(n.id),
          archive: a,
          since: a.announcedAt === undefined ? undefined : Math.max(a.announcedAt, joined),
        };
        mine.set(a.id, e);
        out.push(e);
      }
      return e;
    };
    for (const s of n.log) {
      if (s.type === 'community.historyArchiveDownloaded') {
        // the download signal names the archive by its range; the latest one announced by then
        const candidates = (byRange.get(`${s.communityId}\u0000${s.from}`) ?? []).filter(
          (a) => a.announcedAt !== undefined && a.announcedAt <= s.t,
        );
        const a = candidates.at(-1);
        if (a) entry(a).downloadedAt ??= s.t;
      } else if (s.type === 'archive.archiveImported') {
        const a = byId.get(s.id);
        if (a) entry(a).importedAt ??= s.t;
      }
    }
  }
  return out;
}

function latencyStats(times: MemberArchiveTimes[]): LatencyStats[] {
  const announceToDownload: number[] = [];
  const downloadToImport: number[] = [];
  const announceToImport: number[] = [];
  for (const e of times) {
    if (e.since !== undefined && e.downloadedAt !== undefined)
      announceToDownload.push(e.downloadedAt - e.since);
    if (e.downloadedAt !== undefined && e.importedAt !== undefined)
      downloadToImport.push(e.importedAt - e.downloadedAt);
    if (e.since !== undefined && e.importedAt !== undefined) announceToImport.push(e.importedAt - e.since);
  }
  return [
    stats('announce→download', announceToDownload),
    stats('download→import', downloadToImport),
    stats('announce→import', announceToImport),
  ];
}

function archiveRows(archives: ArchiveInfo[], times: MemberArchiveTimes[], members: number): ArchiveRow[] {
  const per = new Map<string, MemberArchiveTimes[]>();
  for (const e of times) {
    const list = per.get(e.archive.id);
    if (list) list.push(e);
    else per.set(e.archive.id, [e]);
  }
  return archives.map((a) => {
    const mine = per.get(a.id) ?? [];
    const toImport = mine
      .filter((e) => e.since !== undefined && e.importedAt !== undefined)
      .map((e) => (e.importedAt as number) - (e.since as number))
      .sort((x, y) => x - y);
    return {
      communityId: a.communityId,
      owner: a.owner,
      round: a.round,
      id: a.id,
      createdAt: a.createdAt,
      announcedAt: a.announcedAt ?? null,
      from: a.from * 1000,
      to: a.to * 1000,
      messages: a.messages,
      bytes: a.size,
      downloadedBy: mine.filter((e) => e.downloadedAt !== undefined).length,
      importedBy: mine.filter((e) => e.importedAt !== undefined).length,
      members,
      medianAnnounceToImport: toImport.length > 0 ? quantile(toImport, 0.5) : null,
    };
  });
}

/**
 * The fault windows of the run's timeline (through the registry of fault kinds), against
 * the network it started with, and further control nodes (§9) from the moment they came up.
 */
export function runFaultWindows(run: RunContext, end: number): FaultWindow[] {
  const { plan, h } = run;
  const initial = plan.scenario.network;
  const latencyMaxMs =
    initial.latency === undefined
      ? HEALTHY_LATENCY.max
      : typeof initial.latency === 'number'
        ? initial.latency
        : initial.latency.max;
  const windows = faultWindows(run.applied, end, {
    latencyMaxMs,
    bandwidth: initial.bandwidth ?? HEALTHY_BANDWIDTH,
  });
  for (const n of plan.owners)
    if (n !== plan.primary && h.start + n.joinAt <= end)
      windows.push({
        kind: 'secondControlNode',
        layer: 'community',
        subject: n.name,
        from: h.start + n.joinAt,
        to: end,
        instant: false,
        unrecovered: true,
      });
  return windows;
}

/** The report's progress, latencies and archive table of a finished run. */
export function reportDetails(run: RunContext, end: number): ReportDetails {
  const archives = archivesOf(run);
  const times = memberArchiveTimes(run, archives);
  const ownerIds = new Set(run.plan.owners.map((n) => run.plan.id(n.name)));
  const members = run.allNodes.filter((n) => !ownerIds.has(n.id)).length;
  return {
    progress: memberProgress(run, end),
    latency: latencyStats(times),
    archives: archiveRows(archives, times, members),
  };
}

const OPTION_NAMES: Partial<Record<keyof MachineOptions, string>> = {
  archiveBackends: 'backend',
  archiveIntervalMs: 'archiveInterval',
  pieceLength: 'pieceLength',
  maxArchiveChunk: 'maxArchiveChunk',
  metadataTimeoutMs: 'metadataTimeout',
  metadataRetries: 'metadataRetries',
  importDelayMs: 'importDelay',
  importChunk: 'importChunk',
  importRate: 'importRate',
  missingKeyRetryMs: 'missingKeyRetry',
  corruptArchiveRetryMs: 'corruptRetry',
  storeLookbackMs: 'storeLookback',
  magnetlinkWaitMs: 'magnetlinkQuiet',
  downloadPolicy: 'download',
  importMode: 'importMode',
  countCompareNoNewArchives: 'noNewArchivesByCount',
  retryCorruptArchiveForever: 'retryUndecodableForever',
  crashOnMissingCommunity: 'dispatchCrashOnMissingCommunity',
  extraPaddingPiece: 'extraPaddingPiece',
};

function optionText(key: keyof MachineOptions, value: unknown): string {
  if (typeof value === 'number' && key.endsWith('Ms')) return formatDuration(value);
  if (value !== null && typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** The scenario's parameters and the machines' options the run used. */
export function runParameters(run: RunContext): RunParameters {
  const { plan } = run;
  const s = plan.scenario;
  const options = resolveOptions(plan.options);
  const roles = { owner: 0, member: 0 };
  for (const n of s.nodes) roles[n.role]++;
  const lateJoiners = s.nodes.filter((n) => n.role === 'member' && n.joinAt > 0).length;
  return {
    scenario: s.name,
    ...(s.description ? { description: s.description.trim() } : {}),
    seed: plan.seed,
    start: s.start,
    duration: s.duration,
    mode: s.mode,
    nodes: { owners: roles.owner, members: roles.member, lateJoiners },
    communities: s.communities.map((c) => ({ id: c.id, chats: c.chats.length, encrypted: c.encrypted })),
    traffic: s.traffic.map((t) => ({
      community: t.community,
      rate: `${t.rate.count}/${formatDuration(t.rate.perMs)}`,
      size: typeof t.size === 'number' ? `${t.size} B` : `${t.size.min}–${t.size.max} B`,
      window: `${formatDuration(t.from)}–${formatDuration(t.to ?? s.duration)}`,
    })),
    network: Object.fromEntries(
      Object.entries(s.network).map(([k, v]) => [
        k,
        typeof v === 'object'
          ? JSON.stringify(v)
          : k === 'seedDelay'
            ? formatDuration(v as number)
            : String(v),
      ]),
    ),
    storeRetention: formatDuration(s.store.retention),
    timelineActions: s.timeline.length,
    machineOptions: (Object.keys(OPTION_NAMES) as (keyof MachineOptions)[]).map((key) => ({
      name: OPTION_NAMES[key] as string,
      value: optionText(key, options[key]),
      changed: JSON.stringify(options[key]) !== JSON.stringify(DEFAULT_OPTIONS[key]),
    })),
  };
}
