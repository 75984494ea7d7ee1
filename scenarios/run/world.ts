// The world of a scenario run: the harness built from the plan (nodes, their actors, the
// §10 monitors, every signal into the trace and to the observers), the scenario's start-up
// settings (further owners' keys, bandwidth, seeding delay), and the run context the
// traffic, the timeline and the gathering share.

import type { InspectionEvent } from 'xstate';
import type { AppliedAction } from '../faults/windows.ts';
import { createHarness, type Harness, type HarnessCommunity, type HarnessNode } from '../harness.ts';
import type { Scenario } from '../schema.ts';
import { Adversary } from './adversary.ts';
import type { RunContext } from './context.ts';
import { KeyGate } from './key-gate.ts';
import { Membership } from './membership.ts';
import type { RunObservers } from './observers.ts';
import type { RunOptions } from './options.ts';
import type { RunPlan } from './plan.ts';

export async function buildRunWorld(
  scenario: Scenario,
  plan: RunPlan,
  observers: RunObservers,
  options: RunOptions,
): Promise<{ h: Harness; run: RunContext }> {
  const seed = plan.seed;
  const bandwidth = scenario.network.bandwidth;
  // Members read through codecs of their own only when some may lack keys (run/key-gate.ts).
  let built: Harness | undefined;
  const keys =
    plan.codec && scenario.timeline.some((a) => a.do === 'withholdKey' || a.do === 'restoreFromBackup')
      ? new KeyGate(plan.codec, observers.catalog, (id) => (built as Harness).node(id).adapters)
      : undefined;
  const { inspect } = options;

  const h = await createHarness({
    seed,
    startTime: scenario.start,
    members: keys
      ? plan.memberSpecs.map((m) => ({ ...m, codec: keys.codecFor(m.id as string) }))
      : plan.memberSpecs,
    communities: plan.communities.length,
    chats: Math.max(...plan.communities.map((c) => c.chats.length)),
    messagesPerDay: 0,
    durationMs: scenario.duration,
    options: plan.options,
    ...(plan.ownerOptions ? { ownerOptions: plan.ownerOptions } : {}),
    network: plan.network,
    swarm: plan.swarm,
    content: plan.content,
    storeRetentionMs: scenario.store.retention,
    keepSignals: true,
    portFaults: scenario.timeline.some((a) => a.do === 'portFault'),
    // Every signal goes into the trace too, so that a replay compares the protocol's steps
    // and not only the simulator's.
    onSignal: (n, signal, w) => {
      const { t: _t, node: _node, type, ...payload } = signal;
      w.trace.record('signal', { node: plan.name(n.id), type, ...payload });
      observers.onSignal(n, signal, w);
      options.onSignal?.(n, signal, w);
    },
    onBoot: (n, w) => observers.onBoot(n, w.kernel.now()),
    trace: { keepLines: options.keepTrace === true, hash: options.hashTrace ?? true },
    ...(inspect
      ? {
          inspect: (n: HarnessNode) => {
            const node = plan.name(n.id);
            return (event: InspectionEvent) => inspect(event, node, n.adapters.clock.now());
          },
        }
      : {}),
    ...(plan.codec ? { codec: plan.codec } : {}),
    ...(bandwidth !== undefined ? { ownerUploadBps: bandwidth } : {}),
  });
  built = h;
  const { world } = h;
  const community = (name: string): HarnessCommunity =>
    h.communities[plan.communityIndex.get(name) as number] as HarnessCommunity;
  world.trace.record('scenario.start', {
    name: scenario.name,
    seed,
    communities: h.communities.map((c, i) => ({ id: c.id, name: plan.communities[i]!.id })),
  });

  // Further owners hold the community keys before they boot (§9: an exported key).
  for (const n of plan.owners)
    if (n !== plan.primary)
      for (const i of plan.joinedAtStart(n)) {
        const c = h.communities[i] as HarnessCommunity;
        h.node(plan.id(n.name)).sim.sim.keys.set(c.id, c.key);
      }
  if (bandwidth !== undefined) world.swarm.setBandwidth('owner', bandwidth, bandwidth);
  const allNodes: HarnessNode[] = [h.owner, ...h.members];
  const setSeedDelay = (ms: number): void => {
    for (const n of allNodes) n.sim.sim.torrent.setSeedDelay(ms);
  };
  if (scenario.network.seedDelay !== undefined) setSeedDelay(scenario.network.seedDelay);

  const applied: AppliedAction[] = [];
  const membership = new Membership();
  for (const n of scenario.nodes)
    for (const i of plan.joinedAtStart(n)) membership.set(plan.id(n.name), h.communities[i]!.id, true);
  const run: RunContext = {
    plan,
    h,
    world,
    allNodes,
    membership,
    adversary: new Adversary(h, allNodes, plan.name),
    disk: observers.disk,
    keys,
    community,
    skipped: (action, reason) => {
      world.trace.record('scenario.skipped', { do: action.do, reason });
      const entry = applied.findLast((a) => a.action === action);
      if (entry) entry.skipped = reason;
    },
    setSeedDelay,
    applied,
  };

  return { h, run };
}
