// Progress that also works off a terminal (issue 17.5): a line on stderr every
// `--progress-every` of wall time where a bar would show nothing (CI logs, pipes,
// `kubectl logs`), JSON records with `--progress json`, nothing for a run shorter than a
// period; stdout stays the result.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { progressBar } from '../cli/progress.ts';
import { captureCli } from './cli-helpers.ts';

const SMALL = `name: progress-small
duration: 9d
communities:
  - id: c1
    chats: [general]
nodes:
  - name: owner
    role: owner
members:
  count: 2
traffic:
  - community: c1
    rate: 20/d
    size: 500B
`;

function fakeStream(isTTY: boolean) {
  const out: string[] = [];
  return { out, stream: { isTTY, write: (t: string) => out.push(t) } };
}

describe('progress off a terminal', () => {
  test('lines: one every period of wall time (none before the first period), nothing at the end', () => {
    const { out, stream } = fakeStream(false);
    let now = 1_000;
    const bar = progressBar({
      command: 'run',
      everyMs: 10_000,
      barFormat: '',
      stream,
      now: () => now,
      line: (done, total, fields, wall) =>
        `${fields.what} ${done}/${total} after ${wall.elapsedMs} ms, eta ${wall.etaMs}`,
    });
    for (const [t, done] of [
      [1_000, 0],
      [6_000, 10],
      [11_000, 20],
      [15_000, 30],
      [26_000, 50],
    ] as const) {
      now = t;
      bar.update(done, 100, { what: 'sim' });
    }
    bar.stop();
    expect(out).toEqual([
      'archivist: sim 20/100 after 10000 ms, eta 40000\n',
      'archivist: sim 50/100 after 25000 ms, eta 25000\n',
    ]);
  });

  test('json: the same moments as records, and a last one when done; none: nothing', () => {
    const { out, stream } = fakeStream(true); // a terminal too: the mode asked for wins
    let now = 0;
    const bar = progressBar({
      mode: 'json',
      command: 'explore',
      everyMs: 0,
      barFormat: '',
      stream,
      now: () => now,
      line: () => '',
    });
    bar.update(1, 4, { failures: 0 });
    now = 500;
    bar.update(4, 4, { failures: 1 });
    bar.stop();
    const records = out.map((l) => JSON.parse(l));
    expect(
      records.map((r) => [r.kind, r.command, r.done, r.total, r.fraction, r.failures, r.wallMs]),
    ).toEqual([
      ['progress', 'explore', 1, 4, 0.25, 0, 0],
      ['progress', 'explore', 4, 4, 1, 1, 500],
      ['done', 'explore', 4, 4, 1, 1, 500],
    ]);
    expect(records.every((r) => typeof r.rssBytes === 'number')).toBe(true);
    const quiet = fakeStream(false);
    const none = progressBar({
      mode: 'none',
      command: 'run',
      barFormat: '',
      stream: quiet.stream,
      line: () => 'x',
    });
    none.update(1, 2);
    none.stop();
    expect(quiet.out).toEqual([]);
  });

  describe('from the CLI', () => {
    const io = captureCli({ clearOnRun: true });
    const file = join(mkdtempSync(join(tmpdir(), 'archivist-progress-')), 'small.yaml');
    writeFileSync(file, SMALL);

    test('archivist run --progress json: records on stderr up to the whole virtual duration; stdout the result', async () => {
      expect(await io.run('run', file, '--json', '--progress', 'json', '--progress-every', '0')).toBe(0);
      const result = JSON.parse(io.out);
      expect(result.scenario).toBe('progress-small');
      const records = io.err
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(records.length).toBeGreaterThan(5);
      expect(records.at(-1)).toMatchObject({
        kind: 'done',
        command: 'run',
        done: 9 * 86_400_000,
        fraction: 1,
      });
      const fractions = records.map((r) => r.fraction);
      expect([...fractions].sort((a, b) => a - b)).toEqual(fractions);
      expect(records.every((r) => r.scenario === 'progress-small' && typeof r.events === 'number')).toBe(
        true,
      );
      // the last slice's count; the run's end records follow it
      expect(records.at(-1).events).toBeGreaterThan(result.events - 5);
      expect(records.at(-1).events).toBeLessThanOrEqual(result.events);
    });

    test('archivist run --progress lines: plain lines naming the virtual time, events and memory', async () => {
      expect(await io.run('run', file, '--progress', 'lines', '--progress-every', '0')).toBe(0);
      const lines = io.err.trim().split('\n');
      expect(lines.length).toBeGreaterThan(5);
      for (const l of lines)
        expect(l).toMatch(
          /^archivist: progress-small: simulated \S+ of 9d virtual \(\d+%\), \S+ wall, [\d,]+ events, rss \d+ MB(, ~\S+ left)?$/,
        );
      expect(lines.at(-1)).toContain('simulated 9d of 9d virtual (100%)');
      expect(io.out).toContain('progress-small (seed 1): PASSED');
    });

    test('a run shorter than a period prints no progress off a terminal (the default)', async () => {
      expect(await io.run('run', file, '--json')).toBe(0);
      expect(io.err).toBe('');
    });

    test('archivist explore --progress lines: runs done of the shard', async () => {
      const code = await io.run(
        'explore',
        '--runs',
        '2',
        '--options',
        'members=1,days=9',
        '--max-shrink',
        '0',
        '--jobs',
        '1',
        '--progress',
        'lines',
        '--progress-every',
        '0',
      );
      expect(code).toBe(0);
      expect(io.err.trim().split('\n')).toEqual([
        expect.stringMatching(/^archivist: explored 1 of 2 runs of shard 1\/1, 0 failed, \S+ wall/),
        expect.stringMatching(/^archivist: explored 2 of 2 runs of shard 1\/1, 0 failed, \S+ wall/),
      ]);
    });

    test('a bad --progress or --progress-every exits 2 with one line', async () => {
      expect(await io.run('run', file, '--progress', 'fancy')).toBe(2);
      expect(io.err).toBe(
        'archivist: --progress: expected one of auto, bar, lines, json, none, got "fancy"\n',
      );
      expect(await io.run('run', file, '--progress-every', 'soon')).toBe(2);
      expect(io.err).toBe('archivist: --progress-every: expected a duration like "10s", got "soon"\n');
    });
  });
});
