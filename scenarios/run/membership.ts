// Who belongs to which community during a run, as the timeline changes it (join, leave,
// restart), and every (node, community) pair the run ever had. The observers and the
// result read it; the harness's actors keep their own view, this is the scenario's.

import type { HarnessCommunity, HarnessNode } from '../harness.ts';

export class Membership {
  /** community id -> node id -> member now (absent: never had one). */
  readonly #byCommunity = new Map<string, Map<string, boolean>>();

  /** Record a node's membership of a community; undefined: it never had one. */
  set(nodeId: string, communityId: string, member: boolean | undefined): void {
    let nodes = this.#byCommunity.get(communityId);
    if (!nodes) {
      nodes = new Map();
      this.#byCommunity.set(communityId, nodes);
    }
    if (member === undefined) nodes.delete(nodeId);
    else nodes.set(nodeId, member);
  }

  /** Whether a node belongs to a community now (joined, not left). */
  isMember(nodeId: string, c: HarnessCommunity): boolean {
    return this.#byCommunity.get(c.id)?.get(nodeId) === true;
  }

  /** Every (node, community) pair the run ever had, nodes in the given order. */
  pairs(
    nodes: HarnessNode[],
    communities: HarnessCommunity[],
  ): { node: HarnessNode; community: HarnessCommunity }[] {
    return nodes.flatMap((n) =>
      communities
        .filter((c) => this.#byCommunity.get(c.id)?.has(n.id) === true)
        .map((c) => ({ node: n, community: c })),
    );
  }
}

/** Key of a (node, community) pair in the runner's sets and maps. */
export const memberKey = (nodeId: string, communityId: string): string => `${nodeId}\u0000${communityId}`;
