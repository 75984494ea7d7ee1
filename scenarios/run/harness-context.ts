// A run context for a harness built without a scenario file (tests, the model-based
// worlds): node names are the harness ids, communities are named by their ids, every
// node joined every community of its spec from its start. Lets such a world inject the
// same timeline actions a scenario names (scenarios/faults/).

import type { Harness, HarnessCommunity, HarnessNode } from '../harness.ts';
import type { NodeSpec } from '../schema.ts';
import { Adversary } from './adversary.ts';
import type { ActionContext } from './context.ts';
import { DiskDamage } from './disk-damage.ts';
import { Membership } from './membership.ts';

export function harnessRunContext(h: Harness): ActionContext {
  const allNodes: HarnessNode[] = [h.owner, ...h.members];
  const joined = (n: HarnessNode): number[] => n.spec.communities ?? h.communities.map((c) => c.index);
  const specOf = (n: HarnessNode): NodeSpec => ({
    name: n.id,
    role: n.role,
    communities: joined(n).map((i) => h.communities[i]!.id),
    joinAt: n.spec.joinAt ?? 0,
    protocolEnabled: n.spec.protocolEnabled ?? true,
    archiveSupport: n.spec.archiveSupport ?? true,
  });
  const specs = new Map(allNodes.map((n) => [n.id, specOf(n)]));
  const membership = new Membership();
  for (const n of allNodes) for (const i of joined(n)) membership.set(n.id, h.communities[i]!.id, true);
  const communityIndex = new Map(h.communities.map((c) => [c.id, c.index]));
  const plan: ActionContext['plan'] = {
    others: h.members.map((n) => specs.get(n.id) as NodeSpec),
    joinedAtStart: (n) => (n.communities ?? []).map((c) => communityIndex.get(c) as number),
    id: (name) => name,
    name: (id) => id,
    node: (name) => specs.get(name) as NodeSpec,
  };
  return {
    plan,
    h,
    world: h.world,
    allNodes,
    membership,
    adversary: new Adversary(h, allNodes, plan.name),
    disk: new DiskDamage(h.community.codec, plan.name),
    keys: undefined,
    community: (id) => h.communities[communityIndex.get(id) as number] as HarnessCommunity,
    skipped: (action, reason) => h.world.trace.record('scenario.skipped', { do: action.do, reason }),
    setSeedDelay: (ms) => {
      for (const n of allNodes) n.sim.sim.torrent.setSeedDelay(ms);
    },
  };
}
