// Two runs of one scenario and seed, one per distribution backend (protocol.md §11): every
// node on the torrent backend, then every node on the content-addressed one, and their
// backend figures (scenarios/run/backend-figures.ts) side by side — what `archivist compare`
// prints and reports. The scenario's own `backend` and its nodes' `archiveBackend` are
// replaced in both runs, so each run is one backend throughout.

import type { BackendFigures, RunDetails, RunResult } from './result.ts';
import type { RunOptions } from './run/options.ts';
import { runScenario } from './runner.ts';
import type { Scenario } from './schema.ts';

/** The backends a comparison runs, in its order. */
export const COMPARED_BACKENDS = ['torrent', 'cid'] as const;
export type ComparedBackend = (typeof COMPARED_BACKENDS)[number];

/** The scenario with every node on one backend. */
export function withBackend(scenario: Scenario, backend: ComparedBackend): Scenario {
  return {
    ...scenario,
    backend,
    nodes: scenario.nodes.map(({ archiveBackend: _, ...n }) => n),
  };
}

export interface BackendRun {
  backend: ComparedBackend;
  result: RunResult;
  details: RunDetails;
  figures: BackendFigures;
}

export interface BackendComparison {
  scenario: string;
  seed: number;
  runs: BackendRun[];
}

/** Runs the scenario once per backend, with the same seed. */
export async function compareBackends(
  scenario: Scenario,
  options: Pick<RunOptions, 'seed'> & {
    /** Progress of each run, as `RunOptions.onProgress`, with the backend it belongs to. */
    onProgress?: (backend: ComparedBackend, doneMs: number, totalMs: number, events: number) => void;
  } = {},
): Promise<BackendComparison> {
  const seed = options.seed ?? scenario.seed;
  const runs: BackendRun[] = [];
  for (const backend of COMPARED_BACKENDS) {
    const { onProgress } = options;
    const { result, details } = await runScenario(withBackend(scenario, backend), {
      seed,
      ...(onProgress
        ? { onProgress: (done, total, events) => onProgress(backend, done, total, events) }
        : {}),
    });
    // every run's details hold its figures (scenarios/run/gather.ts)
    runs.push({ backend, result, details, figures: details.backend as BackendFigures });
  }
  return { scenario: scenario.name, seed, runs };
}

/** The comparison as `archivist compare --json` prints it: the figures, no report data. */
export function comparisonJson(c: BackendComparison): Record<string, unknown> {
  return {
    scenario: c.scenario,
    seed: c.seed,
    runs: c.runs.map((r) => {
      const { backend: _, ...figures } = r.figures;
      return {
        backend: r.backend,
        ok: r.result.ok,
        traceHash: r.result.traceHash,
        virtualMs: r.result.virtualMs,
        events: r.result.events,
        ...figures,
      };
    }),
  };
}
