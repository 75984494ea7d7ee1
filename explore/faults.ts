// The faults an explored scenario may contain: every fault the simulated world offers
// through the scenario file (sim/, scenarios/schema.ts), as plain records that fast-check
// generates and shrinks. `toTimeline` turns them into timeline actions and appends the
// recovery of each one (online, restart, heal, rejoin, …) no later than the end of the
// fault window, so the liveness property can demand convergence after it.

import type { ScenarioInput } from '../scenarios/schema.ts';

export const FAULT_KINDS = [
  'offline',
  'crash',
  'partition',
  'loss',
  'duplication',
  'reordering',
  'latency',
  'bandwidth',
  'corruptPieces',
  'corruptStoredArchive',
  'slowSeeding',
  'leave',
  'protocol',
  'archiveSupport',
  'forgeMagnetlink',
  'replayMagnetlink',
  'dispatchWithoutIndex',
  'secondControlNode',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/**
 * One fault. `node` is an index into the scenario's nodes, taken modulo their number (so a
 * fault stays valid while shrinking removes members); `at` and `forMs` are ms offsets.
 * `secondControlNode` is not a timeline fault: it shapes the community (a second node holds
 * the exported community key, §9) and is listed with the faults so `--faults` selects it.
 */
export interface Fault {
  kind: Exclude<FaultKind, 'secondControlNode'>;
  at: number;
  forMs: number;
  node: number;
  /**
   * partition: bit mask of the nodes in the first group; loss…: probability ×1000;
   * corruptPieces: count; slowSeeding: the seeding delay is 1 + amount mod 24 hours.
   */
  amount: number;
}

/** A node as the timeline names it, and whether it is a control node. */
export interface NodeRef {
  name: string;
  owner: boolean;
  /** When the node comes up (ms); a fault on it starts no earlier. */
  joinAt?: number;
}

type Action = NonNullable<ScenarioInput['timeline']>[number];

const PERSISTENT: readonly Fault['kind'][] = ['offline', 'crash', 'leave', 'protocol', 'archiveSupport'];
const NETWORK: Record<string, 'loss' | 'duplication' | 'reordering'> = {
  loss: 'loss',
  duplication: 'duplication',
  reordering: 'reordering',
};

const HOUR = 3_600_000;

/** Network conditions once the faults have stopped. */
export const HEALTHY_LATENCY = { min: 40, max: 120 };
/** Bytes/s each way after a bandwidth fault (the simulator's default upload rate). */
export const HEALTHY_BANDWIDTH = 2_500_000;

/**
 * The timeline of `faults` among `nodes` (nodes[0] is the first owner), every fault
 * recovered by `faultEnd`. Overlapping faults of one persistent kind on one node are
 * merged into the first (a second crash of a crashed node means nothing), so the timeline
 * never restarts a node twice.
 */
export function toTimeline(
  faults: readonly Fault[],
  nodes: readonly NodeRef[],
  community: string,
  faultEnd: number,
): Action[] {
  const out: { action: Action; t: number; order: number }[] = [];
  let order = 0;
  const push = (action: Action & { at: number }) => out.push({ action, t: action.at, order: order++ });
  const busy = new Map<string, number>();
  const members = nodes.filter((n) => !n.owner);
  const owners = nodes.filter((n) => n.owner);
  for (const f of [...faults].sort((a, b) => a.at - b.at || a.kind.localeCompare(b.kind))) {
    const at = Math.min(f.at, faultEnd);
    const end = Math.min(faultEnd, at + Math.max(1, f.forMs));
    const anyNode = nodes[f.node % nodes.length] as NodeRef;
    const member = members.length > 0 ? (members[f.node % members.length] as NodeRef) : undefined;
    const owner = owners[f.node % owners.length] as NodeRef;
    if (PERSISTENT.includes(f.kind)) {
      const target = anyNode;
      // A node that has not come up yet cannot go down (the runner would boot it twice).
      const at = Math.max(f.at, target.joinAt ?? 0);
      const end = Math.min(faultEnd, at + Math.max(1, f.forMs));
      if (at >= faultEnd) continue;
      const key = `${f.kind}:${target.name}`;
      if ((busy.get(key) ?? -1) >= at) continue;
      busy.set(key, end);
      const node = target.name;
      switch (f.kind) {
        case 'offline':
          push({ at, do: 'offline', node });
          push({ at: end, do: 'online', node });
          break;
        case 'crash':
          push({ at, do: 'crash', node });
          push({ at: end, do: 'restart', node });
          break;
        case 'leave':
          push({ at, do: 'leave', node, community });
          push({ at: end, do: 'join', node, community });
          break;
        case 'protocol':
          push({ at, do: 'protocol', node, enabled: false });
          push({ at: end, do: 'protocol', node, enabled: true });
          break;
        case 'archiveSupport':
          push({ at, do: 'archiveSupport', node, community, enabled: false });
          push({ at: end, do: 'archiveSupport', node, community, enabled: true });
          break;
      }
      continue;
    }
    switch (f.kind) {
      case 'partition': {
        const a = nodes.filter((_, i) => (f.amount >> i) & 1).map((n) => n.name);
        const b = nodes.filter((_, i) => !((f.amount >> i) & 1)).map((n) => n.name);
        if (a.length === 0 || b.length === 0) break;
        push({ at, do: 'partition', groups: [a, b] });
        push({ at: end, do: 'heal' });
        break;
      }
      case 'loss':
      case 'duplication':
      case 'reordering': {
        const field = NETWORK[f.kind] as 'loss' | 'duplication' | 'reordering';
        push({ at, do: 'network', conditions: { [field]: Math.min(1, f.amount / 1000) } });
        push({ at: end, do: 'network', conditions: { [field]: 0 } });
        break;
      }
      case 'latency':
        push({ at, do: 'network', conditions: { latency: { min: 500, max: 500 + f.amount * 30 } } });
        push({ at: end, do: 'network', conditions: { latency: HEALTHY_LATENCY } });
        break;
      case 'bandwidth':
        push({ at, do: 'network', conditions: { bandwidth: Math.max(1000, f.amount * 100) } });
        push({ at: end, do: 'network', conditions: { bandwidth: HEALTHY_BANDWIDTH } });
        break;
      case 'corruptPieces':
        push({ at, do: 'corruptPieces', node: anyNode.name, community, pieces: Math.max(1, f.amount % 8) });
        break;
      case 'corruptStoredArchive':
        // one-shot: the member's next archive waiting for import goes bad on its disk
        if (member) push({ at, do: 'corruptStoredArchive', node: member.name, community });
        break;
      case 'slowSeeding':
        push({ at, do: 'network', conditions: { seedDelay: (1 + (f.amount % 24)) * HOUR } });
        push({ at: end, do: 'network', conditions: { seedDelay: 0 } });
        break;
      case 'forgeMagnetlink':
        if (member) push({ at, do: 'forgeMagnetlink', node: member.name, community });
        break;
      case 'replayMagnetlink':
        push({
          at,
          do: 'replayMagnetlink',
          community,
          link: f.amount % 2 === 0 ? 0 : -1,
          ...(member ? { node: member.name } : {}),
        });
        break;
      case 'dispatchWithoutIndex':
        push({ at, do: 'dispatchWithoutIndex', node: owner.name, community });
        break;
    }
  }
  // Stable by time; at equal times the order of generation (a fault before its recovery).
  return out.sort((x, y) => x.t - y.t || x.order - y.order).map((x) => x.action);
}
