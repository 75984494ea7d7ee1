// The first line of a trace file written by `archivist run --trace`: the normalized
// scenario and the seed, so that `archivist replay` needs only the trace.

import type { Scenario } from './schema.ts';

export const TRACE_HEADER_KIND = 'archivist.scenario';
export const TRACE_FORMAT = 1;

export interface TraceHeader {
  kind: typeof TRACE_HEADER_KIND;
  format: number;
  seed: number;
  scenario: Scenario;
}

/** The header line written before the world's trace lines. */
export function traceHeaderLine(scenario: Scenario, seed: number): string {
  const header: TraceHeader = { kind: TRACE_HEADER_KIND, format: TRACE_FORMAT, seed, scenario };
  return JSON.stringify(header);
}
