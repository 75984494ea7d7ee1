// Every scenario of the library (scenarios/*.yaml) runs, meets its expectations and its
// invariants, and replays to the identical trace. The reference/spec pair runs the same
// world and traffic and differs where §9 says it should.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../scenarios/load.ts';
import { firstDivergence, replayTrace } from '../scenarios/replay.ts';
import type { RunResult } from '../scenarios/result.ts';
import { type RunOutput, runScenario } from '../scenarios/runner.ts';

const files = readdirSync('scenarios')
  .filter((f) => f.endsWith('.yaml'))
  .sort();

/** What failed: expectations, and invariants the scenario does not expect to be violated. */
function failures(result: RunResult, expectedViolations: Set<string>): string[] {
  return [
    ...result.expectations.filter((e) => !e.ok).map((e) => `expectation: ${e.text}`),
    ...Object.entries(result.invariants)
      .filter(([k, v]) => v !== 'ok' && v !== 'not checked' && !expectedViolations.has(k))
      .map(([k, v]) => `invariant ${k}: ${v}`),
  ];
}

const outputs = new Map<string, RunOutput>();

/** The trace hash of every library scenario as last regenerated on purpose (see the fixture's script). */
const goldenHashes = JSON.parse(readFileSync('test/fixtures/scenario-trace-hashes.json', 'utf8')) as Record<
  string,
  string
>;

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

  it('has the failures users reported (issue 12 §2), each as a scenario', () => {
    expect(files).toEqual(
      expect.arrayContaining([
        'owner-offline-new-member.yaml',
        'first-seeder-late.yaml',
        'first-seeder-late-long-wait.yaml',
        'crash-between-download-and-import.yaml',
        'local-file-deleted.yaml',
        'local-file-deleted-bounded.yaml',
        'encrypted-key-late.yaml',
        'encrypted-key-never.yaml',
        'restore-from-backup.yaml',
        'gaps-in-imported-ranges.yaml',
        'long-empty-tail.yaml',
        'burst-week.yaml',
        'memory-at-import.yaml',
        'memory-at-import-small-chunks.yaml',
        'import-rate.yaml',
        'no-import-before-delay.yaml',
        'no-import-before-delay-off.yaml',
        'owner-restart-storm.yaml',
        'owner-restart-storm-keep-task.yaml',
        'new-link-mid-download.yaml',
        'handover-rebased-index.yaml',
        'handover-rebased-index-by-ids.yaml',
        'two-owners-conflicting-links.yaml',
        'two-owners-conflicting-links-by-ids.yaml',
        'torrent-port-in-use.yaml',
        'archive-support-toggled.yaml',
      ]),
    );
  });

  it.each(files)(
    '%s meets its expectations and replays identically',
    async (file) => {
      const scenario = loadScenario(join('scenarios', file));
      expect(scenario.expect.length).toBeGreaterThan(0);
      const out = await runScenario(scenario, { keepTrace: true });
      outputs.set(file, out);
      const { result, traceLines } = out;
      const expected = new Set(
        scenario.expect.flatMap((e) => ('invariant' in e && !e.holds ? [e.invariant] : [])),
      );
      expect(failures(result, expected), file).toEqual([]);
      expect(result.ok).toBe(true);
      expect(result.expectations.every((e) => e.ok)).toBe(true);
      expect(traceLines.length).toBeGreaterThan(1);
      // The same behaviour as when the fixture was written (test/fixtures/update-trace-hashes.ts).
      expect(result.traceHash, `${file}: the simulated behaviour changed`).toBe(goldenHashes[file]);

      // replay from the trace file alone
      const dir = mkdtempSync(join(tmpdir(), 'archivist-replay-'));
      const trace = join(dir, 'trace.jsonl');
      writeFileSync(trace, `${traceLines.join('\n')}\n`);
      const replay = await replayTrace(trace);
      expect(replay.divergence).toBeUndefined();
      expect(replay.identical).toBe(true);
      expect(replay.traceHash).toBe(result.traceHash);
      // compare-backends.yaml (500 members, eight weeks) takes about 20 s a run, twice here
    },
    180_000,
  );

  it('gives the same trace in another process', () => {
    const here = outputs.get('weekly-rounds.yaml')?.result;
    expect(here).toBeDefined();
    const json = execFileSync(
      process.execPath,
      ['cli/main.ts', 'run', 'scenarios/weekly-rounds.yaml', '--json'],
      {
        encoding: 'utf8',
      },
    );
    const there = JSON.parse(json) as RunResult;
    expect(there.traceHash).toBe(here?.traceHash);
    expect(there).toEqual(here);
  });

  it('gives a different trace with another seed', async () => {
    const other = await runScenario(loadScenario('scenarios/forged-link.yaml'), { seed: 2 });
    expect(other.result.seed).toBe(2);
    expect(other.result.traceHash).not.toBe(outputs.get('forged-link.yaml')?.result.traceHash);
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
    // spec 61 waits 20 s after the last magnetlink before acting; the reference acts at once
    const reaction = (file: string): number => {
      const activity = outputs.get(file)?.details.activity ?? [];
      const dispatch = activity.find((a) => a.kind === 'dispatch');
      const download = activity.find((a) => a.kind === 'download' && a.node === 'alice');
      return (download?.t ?? Number.NaN) - (dispatch?.t ?? Number.NaN);
    };
    expect(reaction('reference-mode.yaml')).toBeLessThan(20_000);
    expect(reaction('spec-mode.yaml')).toBeGreaterThanOrEqual(20_000);
    // (merge keeping and replace deleting the messages the owner never saw is in the
    // two scenarios' own expectations: missingMessages 0 against 30..90)
  });
});

const everyAction = `name: misc
duration: 22d
communities:
  - id: c1
    chats: [general, random]
nodes:
  - name: owner
    role: owner
  - name: alice
    role: member
    importRate: fast
  - name: bob
    role: member
traffic:
  - community: c1
    rate: 50/d
    size: 1KiB
timeline:
  - at: 3d
    do: leave
    node: bob
    community: c1
  - at: 9d
    do: join
    node: bob
    community: c1
  - at: 10d
    do: importRate
    node: alice
    rate: slow
  - at: 13d
    do: corruptPieces
    node: owner
    community: c1
    pieces: 3
  - at: 15d
    do: crash
    node: alice
  - at: 15d1h
    do: restart
    node: alice
expect:
  - node: bob
    fullHistory: true
    member: true
  - node: alice
    fullHistory: true
    state: online
`;

describe('timeline actions', () => {
  it('applies leave, join, importRate, corruptPieces, crash and restart', async () => {
    const { result, traceLines } = await runScenario(parseScenario(everyAction, 'misc.yaml'), {
      keepTrace: true,
    });
    expect(failures(result, new Set())).toEqual([]);
    const kinds = traceLines.slice(1).map((l) => JSON.parse(l) as { kind: string; do?: string });
    expect(kinds.filter((k) => k.kind === 'scenario.action').map((k) => k.do)).toEqual([
      'leave',
      'join',
      'importRate',
      'corruptPieces',
      'crash',
      'restart',
    ]);
    // the corrupted pieces were detected by their SHA-1 and fetched again
    expect(kinds.filter((k) => k.kind === 'swarm.badpiece')).toHaveLength(3);
    expect(result.members.find((m) => m.node === 'bob')?.imported).toBe(3);
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
