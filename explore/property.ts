// The properties an explored scenario must keep, checked on one simulated run:
// - every §10 invariant the monitors check (1–8, as `archivist run` judges them);
// - liveness (§10.9): the runner checks at the end of the run that every joined member
//   with the feature on holds every message of the owner's latest index; the generated
//   scenarios stop every fault `settle` before the end, so this is "converges within
//   `settle` of virtual time once faults stop";
// - no node actor fails (`archive.nodeFailed`: a crash of the node, e.g. §5.5's bug);
// - no missed archives: a member that ends a task with "no new archives" (§6.2 step 4)
//   holds every archive of the index it read (with `download: all`). This is §10.9 for the
//   index the member acted on; it is what still holds with several control nodes, whose
//   histories diverge (§9) so that §10.9 against the first owner's index is not judged.
//
// Two hooks are taken from outside the runner (see tap.ts): the node failures, and, with
// several control nodes, the `archive.indexRead` signals are kept from the monitor (§9:
// their indices diverge, so §10.8's "downloaded ⊆ the latest index seen" cannot hold and
// would stop every such run before liveness is judged).

import { validateScenario } from '../scenarios/load.ts';
import { type RunOutput, runScenario } from '../scenarios/runner.ts';
import type { Scenario, ScenarioInput } from '../scenarios/schema.ts';
import type { PropertyName } from './properties.ts';
import { PROPERTIES } from './properties.ts';
import { withSignalTap } from './tap.ts';

export interface Verdict {
  ok: boolean;
  /** The property that failed first (invariants in §10 order, then node failures). */
  property?: PropertyName;
  message?: string;
  events: number;
  traceHash: string;
}

export interface CheckOptions {
  keepTrace?: boolean;
}

/** Runs a scenario (file content) and judges the properties. */
export async function checkScenario(
  input: ScenarioInput,
  options: CheckOptions = {},
): Promise<{ verdict: Verdict; output: RunOutput; scenario: Scenario }> {
  const scenario = validateScenario(structuredClone(input), `${input.name}.yaml`);
  const controlNodes = scenario.nodes.filter((n) => n.role === 'owner').length;
  const {
    value: output,
    failures,
    missed,
  } = await withSignalTap({ hideIndexReads: controlNodes > 1 }, () =>
    runScenario(scenario, { keepTrace: options.keepTrace === true }),
  );
  const { result } = output;
  const base = { events: result.events, traceHash: result.traceHash };
  for (const name of PROPERTIES) {
    if (name === 'noNodeFailure' || name === 'noMissedArchives') continue;
    // Several control nodes diverge (§9): §10.9 against the first owner's index does not apply.
    if (name === 'convergence' && controlNodes > 1) continue;
    const v = result.invariants[name];
    if (v !== undefined && v !== 'ok' && v !== 'not checked')
      return { verdict: { ok: false, property: name, message: v, ...base }, output, scenario };
  }
  const download = scenario.options.download;
  const gap = download === undefined || download === 'all' ? missed[0] : undefined;
  if (gap)
    return {
      verdict: {
        ok: false,
        property: 'noMissedArchives',
        message: `${gap.node}: "no new archives" at t=${gap.t} while lacking ${gap.missing} of the ${gap.indexSize} archives of the index`,
        ...base,
      },
      output,
      scenario,
    };
  const failure = failures[0];
  if (failure)
    return {
      verdict: {
        ok: false,
        property: 'noNodeFailure',
        message: `${failure.node}: ${failure.error}`,
        ...base,
      },
      output,
      scenario,
    };
  return { verdict: { ok: true, ...base }, output, scenario };
}
