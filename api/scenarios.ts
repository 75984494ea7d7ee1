// `archivist/scenarios`: scenario files (YAML, see docs/scenarios.md) loaded, validated and
// run on the simulated world, with their verdicts, trace and report.

export { UserError } from '../errors/user-error.ts';
export { renderReport } from '../report/html.ts';
export {
  type BackendComparison,
  type BackendRun,
  compareBackends,
  withBackend,
} from '../scenarios/compare.ts';
export { loadScenario, parseScenario, ScenarioError, validateScenario } from '../scenarios/load.ts';
export { type ReplayOutcome, replayTrace } from '../scenarios/replay.ts';
export type { BackendFigures, RunDetails, RunResult } from '../scenarios/result.ts';
export { type RunOptions, type RunOutput, runScenario } from '../scenarios/runner.ts';
export { type Scenario, type ScenarioInput, scenarioJsonSchema } from '../scenarios/schema.ts';
