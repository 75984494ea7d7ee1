// A fuzz campaign: inputs drawn from a fast-check arbitrary, fed one at a time to a target
// that must either accept them or refuse them with one of its typed errors. Anything else
// thrown is an "untyped error" (a bug: the process would crash or mis-handle the input);
// an input the target does not finish is a "hang".
//
// Inputs are drawn in batches of BATCH with seed `seed + batch number`, so input #i can be
// drawn again from (seed, i) alone: a hang found by a watchdog in another thread, or the
// slowest input, is reported as the input itself, not just its number.

import fc from 'fast-check';

export const BATCH = 1000;

export interface Campaign<T = unknown> {
  name: string;
  /** Share of a run's input budget (decoders 1; campaigns whose inputs cost more, less). */
  weight: number;
  arbitrary: fc.Arbitrary<T>;
  /** Feeds one input; resolves or returns when the target handled it, throws when it refused it. */
  run: (input: T) => void | Promise<void>;
  /** The target's typed refusals; anything else thrown is an untyped error. */
  typed: (error: unknown) => boolean;
  /** The input in one short line (for reports). */
  describe?: (input: T) => string;
}

export interface Finding {
  index: number;
  input: string;
  error?: string;
}

export interface CampaignResult {
  name: string;
  inputs: number;
  /** Inputs refused with a typed error. */
  refused: number;
  untyped: Finding[];
  hangs: Finding[];
  slowest: Finding & { ms: number };
  seconds: number;
}

/** Input #index of `arbitrary` for `seed`. */
export function inputAt<T>(arbitrary: fc.Arbitrary<T>, seed: number, index: number): T {
  const batch = Math.floor(index / BATCH);
  return fc.sample(arbitrary, { seed: seed + batch, numRuns: BATCH })[index % BATCH] as T;
}

/** Inputs [from, to) of `arbitrary` for `seed`, batch by batch. */
export function* inputs<T>(arbitrary: fc.Arbitrary<T>, seed: number, from: number, to: number): Generator<T> {
  for (let batch = Math.floor(from / BATCH); batch * BATCH < to; batch++) {
    const values = fc.sample(arbitrary, { seed: seed + batch, numRuns: BATCH });
    const start = Math.max(from, batch * BATCH);
    const end = Math.min(to, (batch + 1) * BATCH);
    for (let i = start; i < end; i++) yield values[i - batch * BATCH] as T;
  }
}

const MAX_SHOWN = 160;

/** A short readable form of an input: bytes as hex, strings quoted, cut at MAX_SHOWN characters. */
export function show(input: unknown): string {
  let text: string;
  if (input instanceof Uint8Array) text = `${input.length} B: ${Buffer.from(input).toString('hex')}`;
  else if (typeof input === 'string') text = JSON.stringify(input);
  else text = fc.stringify(input);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN)}…` : text;
}

export function describeInput<T>(campaign: Campaign<T>, input: T): string {
  return (campaign.describe ?? show)(input);
}

const errorText = (error: unknown): string =>
  error instanceof Error
    ? `${error.name}: ${error.message}`.slice(0, MAX_SHOWN)
    : String(error).slice(0, MAX_SHOWN);

export interface RunOptions {
  seed: number;
  /** First input number and how many inputs at most. */
  from?: number;
  count: number;
  /** Stop drawing new inputs after this many ms (wall clock) even when `count` is not reached. */
  budgetMs?: number;
  /** Called before each input with its number (a watchdog in another thread reads it). */
  onInput?: (index: number) => void;
  /** Keep at most this many untyped findings (the count goes on). */
  keep?: number;
}

/**
 * Runs a campaign's inputs in this thread. A synchronous target that never returns blocks
 * here: run those in a worker with a watchdog (fuzz/run-in-worker.ts), which reports hangs.
 */
export async function runCampaign<T>(campaign: Campaign<T>, o: RunOptions): Promise<CampaignResult> {
  const from = o.from ?? 0;
  const keep = o.keep ?? 10;
  const started = performance.now();
  const result: CampaignResult = {
    name: campaign.name,
    inputs: 0,
    refused: 0,
    untyped: [],
    hangs: [],
    slowest: { index: -1, input: '', ms: 0 },
    seconds: 0,
  };
  let untypedCount = 0;
  for (const input of inputs(campaign.arbitrary, o.seed, from, from + o.count)) {
    const index = from + result.inputs;
    if (o.budgetMs !== undefined && performance.now() - started > o.budgetMs) break;
    o.onInput?.(index);
    const t0 = performance.now();
    try {
      const r = campaign.run(input);
      if (r instanceof Promise) await r;
    } catch (error) {
      if (campaign.typed(error)) result.refused++;
      else {
        untypedCount++;
        if (result.untyped.length < keep)
          result.untyped.push({ index, input: describeInput(campaign, input), error: errorText(error) });
      }
    }
    const ms = performance.now() - t0;
    if (ms > result.slowest.ms) result.slowest = { index, input: describeInput(campaign, input), ms };
    result.inputs++;
  }
  result.seconds = (performance.now() - started) / 1000;
  if (untypedCount > result.untyped.length) {
    result.untyped.push({ index: -1, input: `${untypedCount - result.untyped.length} more untyped errors` });
  }
  return result;
}

/** Number of untyped errors in a result (the findings kept plus the "more" line). */
export function untypedCount(r: CampaignResult): number {
  let n = 0;
  for (const f of r.untyped) {
    if (f.index >= 0) n++;
    else n += Number.parseInt(f.input, 10) || 0;
  }
  return n;
}
