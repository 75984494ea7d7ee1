// The faults an explored scenario may contain, as plain records that fast-check generates
// and shrinks, drawn from the registry of fault kinds (scenarios/faults/): every kind that
// can be drawn, by default those the registry marks as drawn by default. `toTimeline`
// turns them into timeline actions, each kind through its own `draw`, with the recovery of
// each one (online, restart, heal, rejoin, …) no later than the end of the fault window,
// so the liveness property can demand convergence after it.

import { type DrawnFault, FAULTS, faultKind, type NodeRef } from '../scenarios/faults/index.ts';
import type { ScenarioInput } from '../scenarios/schema.ts';

export type { NodeRef } from '../scenarios/faults/index.ts';
export { HEALTHY_BANDWIDTH, HEALTHY_LATENCY } from '../scenarios/faults/index.ts';

/**
 * Kinds the explorer can draw: those with timeline actions, and `secondControlNode`, which
 * shapes the community (a second node holds the exported community key, §9) and is listed
 * with the faults so `--faults` selects it.
 */
export const EXPLORABLE_KINDS: readonly string[] = FAULTS.filter(
  (k) => k.draw !== undefined || k.actsOn === 'community',
).map((k) => k.name);
/** What `--faults all` and the default shape draw from. */
export const FAULT_KINDS: readonly string[] = FAULTS.filter(
  (k) => k.drawnByDefault && EXPLORABLE_KINDS.includes(k.name),
).map((k) => k.name);
export type FaultKind = string;

/** One drawn fault (see DrawnFault); `secondControlNode` is never one. */
export type Fault = DrawnFault;

type Action = NonNullable<ScenarioInput['timeline']>[number];

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
  const busy = new Map<string, number>();
  const members = nodes.filter((n) => !n.owner);
  const owners = nodes.filter((n) => n.owner);
  for (const f of [...faults].sort((a, b) => a.at - b.at || a.kind.localeCompare(b.kind))) {
    const kind = faultKind(f.kind);
    if (!kind?.draw) throw new RangeError(`fault kind "${f.kind}" has no timeline actions`);
    const anyNode = nodes[f.node % nodes.length] as NodeRef;
    let at = Math.min(f.at, faultEnd);
    let end = Math.min(faultEnd, at + Math.max(1, f.forMs));
    if (kind.persistent) {
      // A node that has not come up yet cannot go down (the runner would boot it twice).
      at = Math.max(f.at, anyNode.joinAt ?? 0);
      end = Math.min(faultEnd, at + Math.max(1, f.forMs));
      if (at >= faultEnd) continue;
      const key = `${f.kind}:${anyNode.name}`;
      if ((busy.get(key) ?? -1) >= at) continue;
      busy.set(key, end);
    }
    const actions = kind.draw(f, {
      anyNode,
      member: members.length > 0 ? (members[f.node % members.length] as NodeRef) : undefined,
      owner: owners[f.node % owners.length] as NodeRef,
      nodes,
      community,
      at,
      end,
    });
    for (const action of actions) out.push({ action, t: action.at, order: order++ });
  }
  // Stable by time; at equal times the order of generation (a fault before its recovery).
  return out.sort((x, y) => x.t - y.t || x.order - y.order).map((x) => x.action);
}
