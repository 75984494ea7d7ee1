// Running a scenario on the simulated world, as a pipeline:
//   plan (run/plan.ts)            the scenario compiled for the harness and the machines
//   world (run/world.ts)          the harness (SimWorld, the node actors, the §10 monitors)
//   observe (run/observers.ts)    checks, monitors, measures, history (run/history.ts)
//   traffic (run/traffic.ts)      the scenario's chat messages
//   timeline (run/timeline.ts)    actions and faults (faults/), the adversary (run/adversary.ts)
//   run                           the kernel in slices, stopping at the first violation
//   judge (run/convergence.ts)    §10.9 over the members that should have converged
//   gather (run/gather.ts)        the result, the report's details, the expectations' verdicts
// Nothing here reads the wall clock or Math.random: the same scenario and seed give the
// same trace and the same result.

import { CID_INVARIANTS } from '../machines/cid-invariants.ts';
import { checkConvergence } from './run/convergence.ts';
import { gatherResult } from './run/gather.ts';
import { RequiredHistory, sampleInterval } from './run/history.ts';
import { RunObservers } from './run/observers.ts';
import type { RunOptions, RunOutput } from './run/options.ts';
import { compileScenario } from './run/plan.ts';
import { scheduleTimeline } from './run/timeline.ts';
import { scheduleScenarioTraffic } from './run/traffic.ts';
import { buildRunWorld } from './run/world.ts';
import type { Scenario } from './schema.ts';
import { traceHeaderLine } from './trace-header.ts';

export type { RunOptions, RunOutput } from './run/options.ts';
export { machineOptions, networkOptions } from './run/plan.ts';

/** Runs a validated scenario on the simulated world. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunOutput> {
  const seed = options.seed ?? scenario.seed;
  const plan = compileScenario(scenario, seed);
  const observers = new RunObservers(plan);
  const { h, run } = await buildRunWorld(scenario, plan, observers, options);
  const { world } = h;

  const history = new RequiredHistory(run);
  observers.history = history;
  observers.measures.use(history, h.communities);
  const sampling = options.sampleHistory !== false;
  const sampleEvery = sampleInterval(scenario.duration);
  if (sampling)
    for (let t = sampleEvery; t <= scenario.duration; t += sampleEvery) h.at(t, () => history.sample());
  const published = scheduleScenarioTraffic(run);
  scheduleTimeline(run);

  const slice = Math.max(3_600_000, Math.ceil(scenario.duration / 100));
  for (let done = 0; done < scenario.duration; ) {
    done = Math.min(scenario.duration, done + slice);
    await h.advance({ until: done });
    options.onProgress?.(done, scenario.duration, world.trace.count);
    if (h.monitor.violation) break;
  }
  const summary = h.summary();
  observers.monitors.finish(world.kernel.now());
  if (sampling) history.sample();
  if (!summary.violation) checkConvergence(run);
  const invariants: Record<string, string> = { ...h.monitor.verdicts() };
  // The content-addressed invariants enter the trace once a run judges them, so a run
  // without that backend keeps the trace (and the golden hash) it had before they existed.
  const traced = Object.fromEntries(
    Object.entries(invariants).filter(
      ([name, verdict]) => verdict !== 'not checked' || !(CID_INVARIANTS as readonly string[]).includes(name),
    ),
  );
  world.trace.record('scenario.end', { invariants: traced });

  const { result, details } = gatherResult(run, {
    invariants,
    history,
    published,
    checks: observers.checks,
    monitors: observers.monitors,
    measures: observers.measures,
    reportDetails: options.reportDetails !== false,
  });
  // The world keeps its own lines from its first event on (world.start, node.add, …).
  const traceLines = options.keepTrace ? [traceHeaderLine(scenario, seed), ...world.trace.lines()] : [];
  return { result, details, traceLines };
}
