// What a run observed, gathered from every node's signal log once it ended: the JSON
// result (rounds, magnetlinks and who accepted them, per-member tallies, signal counts),
// the report's activity timeline, and the observations the expectations are judged on.

import { infoHashFromMagnet } from '../../sim/torrent-file.ts';
import type { CheckWatch } from '../checks.ts';
import {
  evaluateExpectation,
  expectedViolations,
  type Observations,
  type ObservedMember,
  type ObservedSignal,
} from '../expectations.ts';
import type { MonitorWatch } from '../monitors/index.ts';
import type {
  ActivityEvent,
  MagnetlinkResult,
  MemberResult,
  RoundResult,
  RunDetails,
  RunResult,
} from '../result.ts';
import type { SentLink } from './adversary.ts';
import { backendFigures } from './backend-figures.ts';
import type { RunContext } from './context.ts';
import type { RequiredHistory } from './history.ts';
import type { MemberMeasures } from './member-measures.ts';
import { reportDetails, runFaultWindows, runParameters } from './report-details.ts';
import type { PublishedMessage } from './traffic.ts';

export interface Gathered {
  result: RunResult;
  details: RunDetails;
}

export function gatherResult(
  run: RunContext,
  args: {
    invariants: Record<string, string>;
    history: RequiredHistory;
    published: PublishedMessage[];
    checks: CheckWatch;
    monitors: MonitorWatch;
    measures: MemberMeasures;
    /** The report's member progress, latencies and archive table (the explorer skips them). */
    reportDetails: boolean;
  },
): Gathered {
  const { plan, h, world, allNodes } = run;
  const { name } = plan;
  const communityNameOf = new Map(h.communities.map((c, i) => [c.id, plan.communities[i]!.id]));
  const signals: ObservedSignal[] = [];
  const activity: ActivityEvent[] = [];
  const rounds: RoundResult[] = [];
  const received: { t: number; communityId: string; clock: number; magnetUri: string; accepted: boolean }[] =
    [];
  for (const n of allNodes) {
    for (const s of n.log) {
      const who = name(n.id);
      const cid = 'communityId' in s ? s.communityId : undefined;
      if (s.type.startsWith('community.')) {
        signals.push({
          t: s.t,
          node: who,
          community: cid ? communityNameOf.get(cid) : undefined,
          name: s.type,
        });
      }
      // A round of an owner running the content-addressed backend alone counts as its round.
      if (
        s.type === 'archive.cidRoundCreated' &&
        n === h.owner &&
        !n.log.some((x) => x.type === 'archive.roundCreated')
      )
        rounds.push({
          communityId: s.communityId,
          start: s.start * 1000,
          end: s.end * 1000,
          archives: s.archives.length,
          infoHash: s.indexCid ?? '',
        });
      if (s.type === 'archive.roundCreated') {
        if (n === h.owner)
          rounds.push({
            communityId: s.communityId,
            start: s.start * 1000,
            end: s.end * 1000,
            archives: s.archives.length,
            infoHash: s.infoHash ?? '',
          });
        activity.push({
          t: s.t,
          node: who,
          communityId: s.communityId,
          kind: 'round',
          detail: `${s.archives.length} archives`,
        });
      } else if (s.type === 'archive.magnetlinkDispatched') {
        activity.push({ t: s.t, node: who, communityId: s.communityId, kind: 'dispatch' });
      } else if (s.type === 'community.historyArchiveDownloaded') {
        activity.push({ t: s.t, node: who, communityId: s.communityId, kind: 'download' });
      } else if (s.type === 'archive.archiveImported') {
        activity.push({
          t: s.t,
          node: who,
          communityId: s.communityId,
          kind: 'import',
          detail: `${s.messages} messages`,
        });
      } else if (s.type === 'archive.magnetlinkReceived') {
        received.push({
          t: s.t,
          communityId: s.communityId,
          clock: s.clock,
          magnetUri: s.magnetUri,
          accepted: s.accepted,
        });
      }
    }
  }
  const sent = run.adversary.sent;
  for (const l of sent)
    activity.push({ t: l.t, node: l.sender, communityId: l.communityId, kind: 'dispatch', detail: l.how });
  activity.sort((a, b) => a.t - b.t || a.node.localeCompare(b.node) || a.kind.localeCompare(b.kind));
  signals.sort((a, b) => a.t - b.t);

  // A receipt belongs to the latest send of the same message at or before it.
  const sentSorted = [...run.adversary.dispatched(), ...sent].sort((a, b) => a.t - b.t || a.clock - b.clock);
  const acceptedSends = new Set<SentLink>();
  for (const r of received) {
    if (!r.accepted) continue;
    let match: SentLink | undefined;
    for (const l of sentSorted)
      if (l.clock === r.clock && l.magnetUri === r.magnetUri && l.t <= r.t) match = l;
    if (match) acceptedSends.add(match);
  }
  const magnetlinks: MagnetlinkResult[] = sentSorted.map((l) => {
    let infoHash = '';
    try {
      infoHash = infoHashFromMagnet(l.magnetUri);
    } catch {
      infoHash = '';
    }
    return {
      communityId: l.communityId,
      sender: l.sender,
      clock: l.clock,
      infoHash,
      accepted: acceptedSends.has(l),
    };
  });

  const { history, published } = args;
  history.refresh();
  const members: MemberResult[] = [];
  const observedMembers: ObservedMember[] = [];
  for (const { node: n, community: c } of run.membership.pairs(allNodes, h.communities)) {
    const mine = n.log.filter((s) => 'communityId' in s && s.communityId === c.id);
    const downloaded = mine.filter((s) => s.type === 'community.historyArchiveDownloaded').length;
    let imported = 0;
    let messagesImported = 0;
    const tasks: Record<string, number> = {};
    for (const s of mine) {
      if (s.type === 'archive.archiveImported') {
        imported++;
        messagesImported += s.messages;
      } else if (s.type === 'archive.taskEnded') tasks[s.status] = (tasks[s.status] ?? 0) + 1;
    }
    // torrent bytes are counted per node, not per community
    const bytes = n.sim.bytes();
    const measure = args.measures.measure(n, c);
    members.push({
      node: name(n.id),
      communityId: c.id,
      downloaded,
      imported,
      messagesImported,
      bytesDown: bytes.down,
      bytesUp: bytes.up,
      peakImportBytes: measure.peakImportBytes ?? 0,
    });
    const have = history.held(n, c);
    observedMembers.push({
      ...measure,
      temperature: args.monitors.temperature.highest(n.id, c.id),
      node: name(n.id),
      community: communityNameOf.get(c.id) as string,
      downloaded,
      imported,
      messagesImported,
      bytesDown: bytes.down,
      missingMessages: published.filter((p) => p.communityId === c.id && !have.has(p.hash)).length,
      fullHistory: history.of(c.id).every((x) => have.has(x)),
      member: run.membership.isMember(n.id, c),
      magnetlinksReceived: n.log.filter(
        (s) =>
          (s.type === 'archive.magnetlinkReceived' && s.communityId === c.id) ||
          // a link whose signer is no community this node knows names no community
          (s.type === 'archive.magnetlinkRejected' && h.communities.length === 1),
      ).length,
      tasks,
    });
  }

  const scenario = plan.scenario;
  const download = scenario.options.download;
  const downloadPolicy =
    download === undefined || typeof download === 'string' ? (download ?? 'all') : 'range';
  const checks: Record<string, string> = {
    ...args.checks.verdicts({ download: downloadPolicy, nameOf: name }),
    ...args.monitors.verdicts(name),
  };
  const checksByNode: Record<string, Record<string, string>> = {};
  for (const n of allNodes)
    checksByNode[name(n.id)] = {
      ...args.checks.verdicts({ download: downloadPolicy, nameOf: name, node: name(n.id) }),
      ...args.monitors.verdicts(name, name(n.id)),
    };
  const nodeStates: Observations['nodeStates'] = {};
  for (const n of allNodes)
    nodeStates[name(n.id)] = n.sim.crashed ? 'crashed' : n.sim.online ? 'online' : 'offline';
  const { invariants } = args;
  const observations: Observations = {
    signals,
    members: observedMembers,
    nodeStates,
    rounds: rounds.map((r) => ({
      community: communityNameOf.get(r.communityId) as string,
      archives: r.archives,
    })),
    magnetlinks: magnetlinks.map((m) => ({
      community: communityNameOf.get(m.communityId) as string,
      sender: m.sender,
      accepted: m.accepted,
    })),
    invariants,
    checks,
    checksByNode,
  };
  const expectations = scenario.expect.map((e) => evaluateExpectation(e, observations));
  const expected = expectedViolations(scenario);
  const violated = Object.entries(invariants).some(
    ([k, v]) => v !== 'ok' && v !== 'not checked' && !expected.has(k as never),
  );
  const signalCounts: Record<string, number> = {};
  for (const s of signals) signalCounts[s.name] = (signalCounts[s.name] ?? 0) + 1;
  const sortedCounts: Record<string, number> = {};
  for (const k of Object.keys(signalCounts).sort()) sortedCounts[k] = signalCounts[k] as number;

  const result: RunResult = {
    scenario: scenario.name,
    seed: plan.seed,
    ok: !violated && expectations.every((e) => e.ok),
    traceHash: world.trace.hash(),
    virtualMs: world.kernel.now() - h.start,
    events: world.trace.count,
    rounds,
    magnetlinks,
    members,
    signals: sortedCounts,
    invariants,
    checks,
    expectations,
  };
  const communityNames: Record<string, string> = {};
  for (const [cid, n] of communityNameOf) communityNames[cid] = n;
  const end = world.kernel.now();
  const faults = runFaultWindows(run, end);
  const more = args.reportDetails
    ? reportDetails(run, end)
    : { progress: { times: [], rows: [], grouped: 1 }, latency: [], archives: [] };
  return {
    result,
    details: {
      start: h.start,
      communityNames,
      activity,
      history: history.samples,
      parameters: runParameters(run),
      faults,
      ...more,
      backend: backendFigures(run),
    },
  };
}
