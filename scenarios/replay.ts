// Replaying a trace: its first line records the normalized scenario and the seed, so the
// trace alone is enough to run the same world again; the new trace must match line for line.

import { readFileSync } from 'node:fs';
import { UserError } from '../errors/user-error.ts';
import { validateScenario } from './load.ts';
import { runScenario } from './runner.ts';
import { TRACE_FORMAT, TRACE_HEADER_KIND, type TraceHeader } from './trace-header.ts';

/** Reads a trace file: its header (validated) and its event lines. */
export function readTrace(file: string): { header: TraceHeader; lines: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserError(
      `${file}: ${code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`}`,
    );
  }
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const first = lines.shift();
  let parsed: unknown;
  try {
    parsed = JSON.parse(first ?? '');
  } catch {
    throw new UserError(
      `${file}:1: expected a trace header line (JSON) written by \`archivist run --trace\``,
    );
  }
  const header = parsed as Partial<TraceHeader> | null;
  if (!header || header.kind !== TRACE_HEADER_KIND) {
    throw new UserError(
      `${file}:1: expected a header with kind "${TRACE_HEADER_KIND}" (written by \`archivist run --trace\`)`,
    );
  }
  if (header.format !== TRACE_FORMAT) {
    throw new UserError(`${file}:1: format: expected ${TRACE_FORMAT}, got ${String(header.format)}`);
  }
  if (typeof header.seed !== 'number' || !Number.isSafeInteger(header.seed) || header.seed < 0) {
    throw new UserError(`${file}:1: seed: expected a whole number >= 0`);
  }
  const scenario = validateScenario(header.scenario, `${file}:1 (header)`);
  return { header: { kind: TRACE_HEADER_KIND, format: TRACE_FORMAT, seed: header.seed, scenario }, lines };
}

export interface Divergence {
  /** 0-based index among the event lines. */
  index: number;
  /** 1-based line in the file (the header is line 1). */
  line: number;
  recorded: string | undefined;
  replayed: string | undefined;
}

export interface ReplayOutcome {
  identical: boolean;
  events: number;
  traceHash: string;
  divergence?: Divergence;
}

/** The first place where two traces differ, or undefined when they are identical. */
export function firstDivergence(recorded: string[], replayed: string[]): Divergence | undefined {
  const n = Math.max(recorded.length, replayed.length);
  for (let i = 0; i < n; i++) {
    if (recorded[i] !== replayed[i])
      return { index: i, line: i + 2, recorded: recorded[i], replayed: replayed[i] };
  }
  return undefined;
}

/** Re-runs a trace file's scenario and seed, and compares the traces. */
export async function replayTrace(file: string): Promise<ReplayOutcome> {
  const { header, lines } = readTrace(file);
  const { result, traceLines } = await runScenario(header.scenario, { seed: header.seed, keepTrace: true });
  const replayed = traceLines.slice(1);
  const divergence = firstDivergence(lines, replayed);
  return divergence
    ? { identical: false, events: replayed.length, traceHash: result.traceHash, divergence }
    : { identical: true, events: replayed.length, traceHash: result.traceHash };
}
