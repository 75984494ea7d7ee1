// What a caller can ask of a scenario run, and what it gets back.

import type { InspectionEvent } from 'xstate';
import type { SimWorld } from '../../adapters/sim/world.ts';
import type { NodeSignal } from '../../machines/signals.ts';
import type { HarnessNode } from '../harness.ts';
import type { RunDetails, RunResult } from '../result.ts';

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
  /** Called between slices of the run with the virtual ms done, the total and the events so far. */
  onProgress?: (doneMs: number, totalMs: number, events: number) => void;
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
  /**
   * XState's inspection events of every node's actors (the node actor and what it spawns),
   * with the node's scenario name and the virtual time, for `--inspect` and for coverage.
   * Observing only: the trace is the same with or without it.
   */
  inspect?: (event: InspectionEvent, node: string, t: number) => void;
  /**
   * Gather the report's member progress, latencies and table of archives (default true).
   * The explorer turns it off, like `sampleHistory`.
   */
  reportDetails?: boolean;
}

export interface RunOutput {
  result: RunResult;
  details: RunDetails;
  /** The header line, then every trace line (only the header when keepTrace is false). */
  traceLines: string[];
}
