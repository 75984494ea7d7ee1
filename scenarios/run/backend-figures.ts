// What a run tells about its distribution backend(s) (protocol.md §11), read from the node
// signal logs and the world's byte counters once the run ended: per member, how long it
// took to hold every archive the owners announced, from when that history existed; who
// uploaded the bytes (owners or the other peers) in the torrent swarm and in the content
// network; failed and retried fetches; archives imported. `archivist compare` puts two of
// these side by side. Pure reading: nothing here runs during the simulation.
//
// Archives are matched by range, not id: with `both`, an owner's torrent round and its
// content round hold the same messages, and a member holding one has the other.

import type { NodeSignal, TaskStatus } from '../../machines/signals.ts';
import type { HarnessNode } from '../harness.ts';
import type { BackendFigures, BackendName, MemberBackendFigures, Spread } from '../result.ts';
import type { RunContext } from './context.ts';
import { quantile } from './report-details.ts';

const isFailed = (status: TaskStatus): status is 'timeout' | 'error' | 'malformed' =>
  status === 'timeout' || status === 'error' || status === 'malformed';
type Round = Extract<NodeSignal, { type: 'archive.roundCreated' | 'archive.cidRoundCreated' }>;
const isRound = (s: NodeSignal): s is Round =>
  s.type === 'archive.roundCreated' || s.type === 'archive.cidRoundCreated';
const isDispatch = (s: NodeSignal, communityId: string): boolean =>
  (s.type === 'archive.magnetlinkDispatched' || s.type === 'archive.indexCidDispatched') &&
  s.communityId === communityId;

const rangeKey = (communityId: string, a: { from: number; to: number }): string =>
  `${communityId}\u0000${a.from}\u0000${a.to}`;

const quantileOrNull = (sorted: number[], q: number): number | null =>
  sorted.length === 0 ? null : quantile(sorted, q);

export function spreadOf(values: number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    median: quantileOrNull(sorted, 0.5),
    p90: quantileOrNull(sorted, 0.9),
    max: sorted.at(-1) ?? null,
  };
}

/** The owners' archives: range -> first announce (ms); archive id -> range. */
function ownerArchives(
  run: RunContext,
  ownerIds: Set<string>,
): { announced: Map<string, { communityId: string; at: number }>; rangeOf: Map<string, string> } {
  const announced = new Map<string, { communityId: string; at: number }>();
  const rangeOf = new Map<string, string>();
  for (const n of run.allNodes) {
    const log = n.log;
    for (const s of log) {
      if (!isRound(s)) continue;
      for (const a of s.archives) rangeOf.set(a.id, rangeKey(s.communityId, a));
      if (!ownerIds.has(n.id)) continue;
      // the round's archives are announced by the owner's next dispatch of the community
      const dispatch = log.find((d) => isDispatch(d, s.communityId) && d.t >= s.t);
      if (!dispatch) continue;
      for (const a of s.archives) {
        const key = rangeKey(s.communityId, a);
        const seen = announced.get(key);
        if (!seen || dispatch.t < seen.at) announced.set(key, { communityId: s.communityId, at: dispatch.t });
      }
    }
  }
  return { announced, rangeOf };
}

/** Metadata requests beyond the first of each torrent task, per community (a node's client serves all). */
function metadataRetries(n: HarnessNode): Map<string, number> {
  const tasks = n.log.filter((s) => s.type === 'archive.taskStarted');
  const perTask = new Map<(typeof tasks)[number], number>();
  for (const t of n.sim.sim.torrent.metadataRequests) {
    const task = tasks.findLast((s) => s.t <= t);
    if (task) perTask.set(task, (perTask.get(task) ?? 0) + 1);
  }
  const out = new Map<string, number>();
  for (const [task, requests] of perTask)
    if (requests > 1 && 'communityId' in task)
      out.set(task.communityId, (out.get(task.communityId) ?? 0) + requests - 1);
  return out;
}

export function backendFigures(run: RunContext): BackendFigures {
  const { plan, h, allNodes } = run;
  const scenario = plan.scenario;
  const ownerIds = new Set(plan.owners.map((o) => plan.id(o.name)));
  const { announced, rangeOf } = ownerArchives(run, ownerIds);
  const members: MemberBackendFigures[] = [];
  const failed = { timeout: 0, error: 0, malformed: 0, content: 0, total: 0 };
  const retried = { metadata: 0, content: 0, tasks: 0, total: 0 };
  let archivesImported = 0;

  for (const n of allNodes) {
    if (ownerIds.has(n.id)) continue;
    const spec = plan.node(plan.name(n.id));
    if (!spec.protocolEnabled || !spec.archiveSupport) continue;
    const retriesOfMetadata = metadataRetries(n);
    const firstStart = h.start + spec.joinAt;
    for (const c of h.communities) {
      if (!run.membership.isMember(n.id, c)) continue;
      const log = n.log.filter((s) => 'communityId' in s && s.communityId === c.id);
      const needed = [...announced].filter(([, a]) => a.communityId === c.id);
      const importedAt = new Map<string, number>();
      let imports = 0;
      let failures = 0;
      let retriedTasks = 0;
      let contentRetries = 0;
      const failedLinks = new Set<string>();
      let link: string | undefined;
      for (const s of log) {
        if (s.type === 'archive.archiveImported') {
          imports++;
          const range = rangeOf.get(s.id);
          if (range !== undefined && !importedAt.has(range)) importedAt.set(range, s.t);
        } else if (s.type === 'archive.taskStarted') {
          link = s.magnetUri;
          if (failedLinks.has(link)) retriedTasks++;
        } else if (s.type === 'archive.taskEnded') {
          if (isFailed(s.status)) {
            failures++;
            failed[s.status]++;
            if (link !== undefined) failedLinks.add(link);
          }
          link = undefined;
        } else if (s.type === 'archive.cidDownloadRetried') {
          contentRetries++;
        } else if (s.type === 'archive.cidFetchFailed') {
          failures++;
          failed.content++;
        }
      }
      const held = needed.filter(([key]) => importedAt.has(key));
      let timeToFullHistory: number | null = null;
      if (needed.length > 0 && held.length === needed.length) {
        const existed = Math.max(firstStart, ...needed.map(([, a]) => a.at));
        const done = Math.max(...needed.map(([key]) => importedAt.get(key) as number));
        timeToFullHistory = Math.max(0, done - existed);
      }
      const metadata = retriesOfMetadata.get(c.id) ?? 0;
      failed.total += failures;
      retried.metadata += metadata;
      retried.tasks += retriedTasks;
      retried.content += contentRetries;
      archivesImported += imports;
      members.push({
        node: plan.name(n.id),
        communityId: c.id,
        backend: (spec.archiveBackend ?? scenario.backend) as BackendName,
        timeToFullHistory,
        archivesNeeded: needed.length,
        archivesHeld: held.length,
        archivesImported: imports,
        failedFetches: failures,
        retriedFetches: metadata + contentRetries + retriedTasks,
      });
    }
  }
  retried.total = retried.metadata + retried.content + retried.tasks;

  const uploaded = { torrent: { owners: 0, peers: 0 }, content: { owners: 0, peers: 0 } };
  for (const n of allNodes) {
    const side = ownerIds.has(n.id) ? 'owners' : 'peers';
    uploaded.torrent[side] += n.sim.bytes().up;
    uploaded.content[side] += n.sim.contentBytes().up;
  }
  const complete = members.filter((m) => m.timeToFullHistory !== null);
  return {
    backend: scenario.backend,
    members,
    membersCounted: members.length,
    membersComplete: complete.length,
    timeToFullHistory: spreadOf(complete.map((m) => m.timeToFullHistory as number)),
    uploaded,
    failedFetches: failed,
    retriedFetches: retried,
    archivesImported,
  };
}
