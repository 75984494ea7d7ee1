// Every scenario of the library (scenarios/*.yaml) runs, meets its expectations and its
// invariants, and replays to the identical trace. The reference/spec pair runs the same
// world and traffic and differs where §9 says it should.

import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario } from '../scenarios/load.ts';
import { firstDivergence, replayTrace } from '../scenarios/replay.ts';
import type { RunResult } from '../scenarios/result.ts';
import { type RunOutput, runScenario } from '../scenarios/runner.ts';

const files = readdirSync('scenarios')
  .filter((f) => f.endsWith('.yaml'))
  .sort();

function failures(result: RunResult): string[] {
  return [
    ...result.expectations.filter((e) => !e.ok).map((e) => `expectation: ${e.text}`),
    ...Object.entries(result.invariants)
      .filter(([, v]) => v !== 'ok' && v !== 'not checked')
      .map(([k, v]) => `invariant ${k}: ${v}`),
  ];
}

const outputs = new Map<string, RunOutput>();

describe('scenario library', () => {
  it('has the scenarios the issue lists', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'weekly-rounds.yaml',
        'owner-offline-30d.yaml',
        'owner-offline-45d.yaml',
        'late-joiner.yaml',
        'newer-link-cancels.yaml',
        'metadata-timeout.yaml',
        'torrent-without-index.yaml',
        'forged-link.yaml',
        'replayed-link.yaml',
        'protocol-disabled-mid-download.yaml',
        'setting-toggled.yaml',
        'member-leaves-mid-import.yaml',
        'two-control-nodes.yaml',
        'reference-mode.yaml',
        'spec-mode.yaml',
      ]),
    );
  });

  it.each(files)('%s meets its expectations and replays identically', async (file) => {
    const scenario = loadScenario(join('scenarios', file));
    expect(scenario.expect.length).toBeGreaterThan(0);
    const out = await runScenario(scenario, { keepTrace: true });
    outputs.set(file, out);
    const { result, traceLines } = out;
    expect(failures(result), `${file}:\n${JSON.stringify(result.expectations, null, 1)}`).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.expectations.every((e) => e.ok)).toBe(true);
    expect(traceLines.length).toBeGreaterThan(1);

    // replay from the trace file alone
    const dir = mkdtempSync(join(tmpdir(), 'archivist-replay-'));
    const trace = join(dir, 'trace.jsonl');
    writeFileSync(trace, `${traceLines.join('\n')}\n`);
    const replay = await replayTrace(trace);
    expect(replay.divergence).toBeUndefined();
    expect(replay.identical).toBe(true);
    expect(replay.traceHash).toBe(result.traceHash);
  });

  it('runs the same traffic in reference and in spec mode, side by side', () => {
    const reference = outputs.get('reference-mode.yaml')?.result;
    const spec = outputs.get('spec-mode.yaml')?.result;
    expect(reference && spec).toBeTruthy();
    if (!reference || !spec) return;
    // the same world: as many rounds, over the same ranges
    expect(spec.rounds.map((r) => [r.start, r.end])).toEqual(reference.rounds.map((r) => [r.start, r.end]));
    // but not the same run
    expect(spec.traceHash).not.toBe(reference.traceHash);
  });
});

describe('replay', () => {
  it('names the first diverging event', () => {
    expect(firstDivergence(['a', 'b', 'c'], ['a', 'b', 'c'])).toBeUndefined();
    expect(firstDivergence(['a', 'b', 'c'], ['a', 'x', 'c'])).toEqual({
      index: 1,
      line: 3,
      recorded: 'b',
      replayed: 'x',
    });
    expect(firstDivergence(['a', 'b'], ['a', 'b', 'c'])).toEqual({
      index: 2,
      line: 4,
      recorded: undefined,
      replayed: 'c',
    });
  });

  it('finds a tampered trace', async () => {
    const out =
      outputs.get('forged-link.yaml') ??
      (await runScenario(loadScenario('scenarios/forged-link.yaml'), { keepTrace: true }));
    const lines = out.traceLines.slice();
    const at = Math.floor(lines.length / 2);
    lines[at] = (lines[at] as string).replace(/"t":(\d+)/, (_, t) => `"t":${Number(t) + 1}`);
    const dir = mkdtempSync(join(tmpdir(), 'archivist-replay-'));
    const trace = join(dir, 'trace.jsonl');
    writeFileSync(trace, `${lines.join('\n')}\n`);
    const replay = await replayTrace(trace);
    expect(replay.identical).toBe(false);
    expect(replay.divergence?.line).toBe(at + 1);
    expect(replay.divergence?.replayed).toBe(out.traceLines[at]);
  });

  it('rejects a file that is not a trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'archivist-replay-'));
    const trace = join(dir, 'trace.jsonl');
    writeFileSync(trace, '{"t":0,"kind":"world.start"}\n');
    await expect(replayTrace(trace)).rejects.toThrow(
      `${trace}:1: expected a header with kind "archivist.scenario"`,
    );
  });
});
