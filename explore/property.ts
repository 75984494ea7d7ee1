// The properties an explored scenario must keep, checked on one simulated run, in the
// order of explore/properties.ts:
// - every §10 invariant the monitors check (1–8, as `archivist run` judges them);
// - noNodeFailure: no node actor fails (e.g. §5.5's crash);
// - liveness (§10.9) `convergence`: the runner checks at the end of the run that every
//   joined member with the feature on holds every message of the owner's latest index;
//   the generated scenarios stop every fault `settle` before the end, so this is
//   "converges within `settle` of virtual time once faults stop". Not judged with several
//   control nodes, whose histories diverge (§9);
// - noMissedArchives: "no new archives" only when none of the index is missing;
// - noStuckImport: no import retries the same archive again and again within one task.
// The last three and noNodeFailure are the runner's checks beyond §10 (scenarios/checks.ts,
// from the node signals), which a scenario file can expect too: a written failure carries
// them as `check:` expectations, so that `archivist run` fails it the same way.

import { validateScenario } from '../scenarios/load.ts';
import { type RunOutput, runScenario } from '../scenarios/runner.ts';
import type { Scenario, ScenarioInput } from '../scenarios/schema.ts';
import type { RunCoverage } from './coverage.ts';
import { watchCoverage } from './coverage-watch.ts';
import { PROPERTIES, type PropertyName } from './properties.ts';

export interface Verdict {
  ok: boolean;
  /** The property that failed first, in the order of explore/properties.ts. */
  property?: PropertyName;
  message?: string;
  events: number;
}

export interface CheckOptions {
  keepTrace?: boolean;
  /** Record what the run reached (machine states and transitions, faults, quirks). */
  coverage?: boolean;
}

/** Runs a scenario (file content) and judges the properties. */
export async function checkScenario(
  input: ScenarioInput,
  options: CheckOptions = {},
): Promise<{ verdict: Verdict; output: RunOutput; scenario: Scenario; coverage?: RunCoverage }> {
  const scenario = validateScenario(structuredClone(input), `${input.name}.yaml`);
  const controlNodes = scenario.nodes.filter((n) => n.role === 'owner').length;
  const watch = options.coverage ? watchCoverage(scenario) : undefined;
  // Verdicts need neither the trace's lines nor its hash, unless the trace is to be written.
  const output = await runScenario(scenario, {
    keepTrace: options.keepTrace === true,
    hashTrace: options.keepTrace === true,
    sampleHistory: false,
    reportDetails: false,
    ...(watch ? { inspect: watch.inspect, onSignal: (n, signal) => watch.onSignal(n, signal) } : {}),
  });
  const { result } = output;
  const coverage = watch ? { coverage: watch.finish(output.details) } : {};
  const base = { events: result.events };
  const judge = (name: PropertyName): string | undefined => {
    // Several control nodes diverge (§9): §10.9 against the first owner's index does not apply.
    if (name === 'convergence' && controlNodes > 1) return undefined;
    const v = name in result.checks ? result.checks[name] : result.invariants[name];
    return v !== undefined && v !== 'ok' && v !== 'not checked' ? v : undefined;
  };
  for (const name of PROPERTIES) {
    const message = judge(name);
    if (message !== undefined)
      return { verdict: { ok: false, property: name, message, ...base }, output, scenario, ...coverage };
  }
  return { verdict: { ok: true, ...base }, output, scenario, ...coverage };
}
