// Running a scenario on the simulated world, as a pipeline:
//   plan (run/plan.ts)            the scenario compiled for the harness and the machines
//   world (harness.ts)            SimWorld, the node actors, the §10 monitors
//   observe (run/history.ts)      the history members should end up with, sampled for the report
//   traffic (run/traffic.ts)      the scenario's chat messages
//   timeline (run/timeline.ts)    actions and faults (faults/), the adversary (run/adversary.ts)
//   run                           the kernel in slices, stopping at the first violation
//   judge (run/convergence.ts)    §10.9 over the members that should have converged
//   gather (run/gather.ts)        the result, the report's details, the expectations' verdicts
// Nothing here reads the wall clock or Math.random: the same scenario and seed give the
// same trace and the same result.

import type { SimWorld } from '../adapters/sim/world.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { watchChecks } from './checks.ts';
import { createHarness, type HarnessCommunity, type HarnessNode } from './harness.ts';
import type { RunDetails, RunResult } from './result.ts';
import { Adversary } from './run/adversary.ts';
import type { RunContext } from './run/context.ts';
import { checkConvergence } from './run/convergence.ts';
import { DiskDamage } from './run/disk-damage.ts';
import { gatherResult } from './run/gather.ts';
import { RequiredHistory, sampleInterval } from './run/history.ts';
import { Membership } from './run/membership.ts';
import { compileScenario } from './run/plan.ts';
import { scheduleTimeline } from './run/timeline.ts';
import { scheduleTraffic } from './run/traffic.ts';
import type { Scenario } from './schema.ts';
import { traceHeaderLine } from './trace-header.ts';

export { machineOptions, networkOptions } from './run/plan.ts';

export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Keep the trace lines (for --trace and replay). */
  keepTrace?: boolean;
  /**
   * Hash the trace (default true). The explorer turns it off for the runs it judges on
   * their verdicts only: `traceHash` is then "" and the trace is only counted.
   */
  hashTrace?: boolean;
  /** Called between slices of the run with the virtual ms done and the total. */
  onProgress?: (doneMs: number, totalMs: number) => void;
  /**
   * Every signal of every node as it is emitted, before the §10 monitors see it, for a host
   * that watches a run (the runner's own checks beyond §10 are in `RunResult.checks`). The
   * node is the harness's: its id is "owner" for the first owner, else the scenario name.
   */
  onSignal?: (node: HarnessNode, signal: NodeSignal, world: SimWorld) => void;
  /**
   * Sample the share of readers holding the full history every few virtual hours, for the
   * report's history chart (default true). The explorer turns it off: it reads only the
   * verdicts, and sampling walks every reader's archives.
   */
  sampleHistory?: boolean;
}

export interface RunOutput {
  result: RunResult;
  details: RunDetails;
  /** The header line, then every trace line (only the header when keepTrace is false). */
  traceLines: string[];
}

/** Runs a validated scenario on the simulated world. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunOutput> {
  const seed = options.seed ?? scenario.seed;
  const plan = compileScenario(scenario, seed);
  const checks = watchChecks();
  const disk = new DiskDamage(plan.codec, plan.name);
  const bandwidth = scenario.network.bandwidth;

  const h = await createHarness({
    seed,
    startTime: scenario.start,
    members: plan.memberSpecs,
    communities: plan.communities.length,
    chats: Math.max(...plan.communities.map((c) => c.chats.length)),
    messagesPerDay: 0,
    durationMs: scenario.duration,
    options: plan.options,
    network: plan.network,
    swarm: plan.swarm,
    storeRetentionMs: scenario.store.retention,
    keepSignals: true,
    portFaults: scenario.timeline.some((a) => a.do === 'portFault'),
    // Every signal goes into the trace too, so that a replay compares the protocol's steps
    // and not only the simulator's.
    onSignal: (n, signal, w) => {
      const { t: _t, node: _node, type, ...payload } = signal;
      w.trace.record('signal', { node: plan.name(n.id), type, ...payload });
      if (signal.type === 'community.historyArchivesSeeding') disk.onSeeding(n, signal.communityId, w);
      checks.onSignal(n, signal);
      options.onSignal?.(n, signal, w);
    },
    trace: { keepLines: options.keepTrace === true, hash: options.hashTrace ?? true },
    ...(plan.codec ? { codec: plan.codec } : {}),
    ...(bandwidth !== undefined ? { ownerUploadBps: bandwidth } : {}),
  });
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
    disk,
    community,
    skipped: (action, reason) => world.trace.record('scenario.skipped', { do: action.do, reason }),
    setSeedDelay,
  };

  const history = new RequiredHistory(run);
  const sampling = options.sampleHistory !== false;
  const sampleEvery = sampleInterval(scenario.duration);
  if (sampling)
    for (let t = sampleEvery; t <= scenario.duration; t += sampleEvery) h.at(t, () => history.sample());
  const published = scheduleTraffic(run);
  scheduleTimeline(run);

  const slice = Math.max(3_600_000, Math.ceil(scenario.duration / 100));
  for (let done = 0; done < scenario.duration; ) {
    done = Math.min(scenario.duration, done + slice);
    await h.advance({ until: done });
    options.onProgress?.(done, scenario.duration);
    if (h.monitor.violation) break;
  }
  const summary = h.summary();
  if (sampling) history.sample();
  if (!summary.violation) checkConvergence(run);
  const invariants: Record<string, string> = { ...h.monitor.verdicts() };
  world.trace.record('scenario.end', { invariants });

  const { result, details } = gatherResult(run, { invariants, history, published, checks });
  // The world keeps its own lines from its first event on (world.start, node.add, …).
  const traceLines = options.keepTrace ? [traceHeaderLine(scenario, seed), ...world.trace.lines()] : [];
  return { result, details, traceLines };
}
