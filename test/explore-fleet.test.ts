// Exploration on a fleet (issue 12 §3) and results as fast-check users expect (issue 17.7):
// a shard taken from the environment of a Kubernetes Indexed Job or a CI matrix; n shards
// run as separate processes and merged give exactly the summary of one process over the
// same seeds (failures, their groups, events, coverage); every failure carries its seed and
// path, and replaying that pair fails the same way; identical failures are grouped; the
// shipped Job manifest and CI workflow run commands the CLI accepts.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { artifactPath, parseReplay, replayCommand } from '../cli/commands/explore.ts';
import { buildProgram } from '../cli/main.ts';
import { failureSignature, groupFailures } from '../explore/failure-groups.ts';
import { resolveShard } from '../explore/shard-env.ts';
import type { ExploreSummary } from '../explore/shards.ts';
import { captureCli } from './cli-helpers.ts';
import { BIN } from './fixtures/archivist-process.ts';

const io = captureCli({ clearOnRun: true });

/** `archivist <args>` as a child process with `env` added to the environment. */
function archivist(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`archivist ${args.join(' ')} did not exit within 240 s`));
    }, 240_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A small exploration with the count-compare bug on: most of its runs fail the same way. */
const EXPLORATION = [
  'explore',
  '--runs',
  '6',
  '--seed',
  '5',
  '--faults',
  'secondControlNode,offline,partition',
  '--options',
  'noNewArchivesByCount=on,members=1..2,days=10..10,rate=4..8,maxFaults=2',
  '--max-shrink',
  '8',
  '--jobs',
  '1',
  '--progress',
  'none',
];

describe('the shard of a fleet', () => {
  test('from --shard, ARCHIVIST_SHARD, a Kubernetes Indexed Job or a CI matrix; 1/1 by default', () => {
    expect(resolveShard('2/4', { JOB_COMPLETION_INDEX: '0', ARCHIVIST_SHARDS: '3' })).toEqual({
      shard: { index: 2, count: 4 },
      from: '--shard',
    });
    expect(resolveShard(undefined, { ARCHIVIST_SHARD: '3/5' }).shard).toEqual({ index: 3, count: 5 });
    expect(resolveShard(undefined, { JOB_COMPLETION_INDEX: '0', ARCHIVIST_SHARDS: '3' })).toEqual({
      shard: { index: 1, count: 3 },
      from: 'JOB_COMPLETION_INDEX',
    });
    expect(resolveShard(undefined, { JOB_COMPLETION_INDEX: '2', ARCHIVIST_SHARDS: '3' }).shard).toEqual({
      index: 3,
      count: 3,
    });
    expect(resolveShard(undefined, { ARCHIVIST_SHARD_INDEX: '1', ARCHIVIST_SHARDS: '4' }).shard).toEqual({
      index: 2,
      count: 4,
    });
    expect(resolveShard(undefined, { CI_NODE_INDEX: '4', CI_NODE_TOTAL: '4' }).shard).toEqual({
      index: 4,
      count: 4,
    });
    expect(resolveShard(undefined, { CIRCLE_NODE_INDEX: '0', CIRCLE_NODE_TOTAL: '2' }).shard).toEqual({
      index: 1,
      count: 2,
    });
    expect(
      resolveShard(undefined, { BUILDKITE_PARALLEL_JOB: '5', BUILDKITE_PARALLEL_JOB_COUNT: '6' }).shard,
    ).toEqual({ index: 6, count: 6 });
    expect(resolveShard(undefined, {})).toEqual({ shard: { index: 1, count: 1 }, from: 'default' });
  });

  test('a shard index without its count, or outside it, is refused with the variable named', () => {
    expect(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '3' })).toThrow(
      /JOB_COMPLETION_INDEX=3 is set but ARCHIVIST_SHARDS is not: set it to the Job's completions/,
    );
    expect(() => resolveShard(undefined, { JOB_COMPLETION_INDEX: '3', ARCHIVIST_SHARDS: '3' })).toThrow(
      /outside the 3 shards/,
    );
    expect(() => resolveShard(undefined, { CI_NODE_INDEX: '0', CI_NODE_TOTAL: '2' })).toThrow(/1\.\.2/);
    expect(() => resolveShard(undefined, { ARCHIVIST_SHARD: '5/4' })).toThrow(/ARCHIVIST_SHARD:/);
  });

  test('the CLI says where a bad shard came from, in one line, exit 2', async () => {
    process.env.JOB_COMPLETION_INDEX = '1';
    try {
      expect(await io.run('explore', '--runs', '2')).toBe(2);
    } finally {
      delete process.env.JOB_COMPLETION_INDEX;
    }
    expect(io.err).toBe(
      "archivist: JOB_COMPLETION_INDEX=1 is set but ARCHIVIST_SHARDS is not: set it to the Job's completions\n",
    );
  });
});

describe('failures as fast-check reports them', () => {
  test('identical failures (same property, messages equal but for numbers) form one group with a count', () => {
    const size = (nodes: number) => ({ nodes, actions: 0, days: 10, messagesPerDay: 4 });
    const f = (run: number, message: string, nodes = 3) => ({
      property: 'noMissedArchives' as const,
      message,
      run,
      size: size(nodes),
    });
    expect(failureSignature('m12: "no new archives" at t=1768179600470 while lacking 1 of 2')).toBe(
      'm#: "no new archives" at t=# while lacking # of #',
    );
    const groups = groupFailures([
      f(7, 'm1: lacking 1 of 1 at t=100', 4),
      f(2, 'm2: lacking 1 of 1 at t=200', 3),
      f(3, 'stuck on archive 0xab', 2),
      { ...f(4, 'm1: lacking 1 of 1 at t=100'), property: 'convergence' as const },
    ]);
    expect(groups).toEqual([
      {
        property: 'noMissedArchives',
        signature: 'm#: lacking # of # at t=#',
        count: 2,
        runs: [2, 7],
        smallest: 2,
      },
      { property: 'convergence', signature: 'm#: lacking # of # at t=#', count: 1, runs: [4], smallest: 4 },
      { property: 'noMissedArchives', signature: 'stuck on archive #xab', count: 1, runs: [3], smallest: 3 },
    ]);
  });

  test('--replay reads seed:path as a failure prints it', () => {
    expect(parseReplay('-1290:0:1:0')).toEqual({ seed: -1290, path: '0:1:0' });
    expect(parseReplay('77')).toEqual({ seed: 77, path: '' });
    expect(() => parseReplay('0:x')).toThrow(/expected seed:path/);
    expect(replayCommand({ runs: 6, faults: 'offline', options: 'members=1', maxShrink: 8 }, -5, '0:2')).toBe(
      'archivist explore --faults offline --options members=1 --replay -5:0:2',
    );
  });
});

describe('n shards as separate processes, merged', () => {
  test('give exactly the summary of one process over the same seeds; each failure replays from its seed and path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'archivist-fleet-'));
    const out = join(dir, 'failures');
    const one = await archivist([...EXPLORATION, '--out', out, '--artifact', join(dir, 'single.json')]);
    expect(one.stderr).toBe('');
    expect(one.code).toBe(1);
    const n = 3;
    const shards = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        archivist(
          [...EXPLORATION, '--out', out, '--artifact', join(dir, 'explore-{index}-of-{count}.json')],
          {
            JOB_COMPLETION_INDEX: String(i),
            ARCHIVIST_SHARDS: String(n),
          },
        ),
      ),
    );
    for (const [i, s] of shards.entries()) {
      expect(s.stderr, `shard ${i + 1}`).toBe('');
      expect(s.stdout).toContain(`shard ${i + 1}/${n} from JOB_COMPLETION_INDEX`);
    }
    const files = Array.from({ length: n }, (_, i) =>
      artifactPath(join(dir, 'explore-{index}-of-{count}.json'), { index: i + 1, count: n }),
    );
    const merged = await archivist(['explore', 'merge', ...files, '--save', join(dir, 'merged.json')]);
    expect(merged.stderr).toBe('');
    expect(merged.code).toBe(1);

    const read = (f: string): ExploreSummary => JSON.parse(readFileSync(f, 'utf8')) as ExploreSummary;
    const single = read(join(dir, 'single.json'));
    const whole = read(join(dir, 'merged.json'));
    const { shard: _a, shards: singleShards, ...singleRest } = single;
    const { shard: _b, shards: mergedShards, ...mergedRest } = whole;
    expect(singleShards).toEqual(['1/1']);
    expect(mergedShards).toEqual(['1/3', '2/3', '3/3']);
    expect(mergedRest).toEqual(singleRest);
    // and the summary is about something: failures, grouped, with coverage of every run
    expect(single.runs).toBe(6);
    expect(single.failures.length).toBeGreaterThan(1);
    expect(single.groups[0]?.count).toBe(single.failures.length);
    expect(single.coverage?.runs).toBe(6);
    expect(single.coverage?.quirks.noNewArchivesByCount).toBeGreaterThan(0);
    expect(single.coverage?.faults.secondControlNode).toBeGreaterThan(0);
    // the merged text is the single one's but for the shards it names
    const oneText = (await archivist(['explore', 'merge', join(dir, 'single.json')])).stdout;
    expect(merged.stdout.replace('shard 1/3 2/3 3/3', 'shard 1/1')).toBe(oneText);
    expect(merged.stdout).toMatch(/coverage over 6 runs/);
    expect(merged.stdout).toContain('--replay');

    // every failure: the same seed and path give the same shrunk scenario and the same failure
    const f = single.failures[0];
    if (!f) throw new Error('no failure');
    expect(f.seed).toEqual(expect.any(Number));
    expect(f.path).toMatch(/^\d+(:\d+)*$/);
    const [archivistWord, ...args] = replayCommand(single.settings, f.seed, f.path).split(' ');
    expect(archivistWord).toBe('archivist');
    const replayed = await archivist([...args, '--out', join(dir, 'replayed'), '--json']);
    expect(replayed.code).toBe(1);
    const r = JSON.parse(replayed.stdout) as { property: string; message: string; scenarioFile: string };
    expect(r.property).toBe(f.property);
    expect(r.message).toBe(f.message);
    const body = (file: string) => readFileSync(file, 'utf8').split('\n').slice(2).join('\n');
    expect(body(r.scenarioFile).replace(/name: explore-replay-\S+/, 'name: x')).toBe(
      body(f.scenarioFile).replace(/name: explore-\S+/, 'name: x'),
    );
  }, 600_000);
});

describe('the examples of docs/examples', () => {
  const explore = buildProgram().commands.find((c) => c.name() === 'explore');
  const known = new Set(explore?.options.map((o) => o.long));
  const flags = (args: string[]) => args.filter((a) => a.startsWith('--'));

  test('the Kubernetes Indexed Job: one pod per shard, ARCHIVIST_SHARDS = completions, known flags', () => {
    const job = parse(readFileSync('docs/examples/explore-indexed-job.yaml', 'utf8'));
    expect(job.kind).toBe('Job');
    expect(job.spec.completionMode).toBe('Indexed');
    const n = job.spec.completions as number;
    const container = job.spec.template.spec.containers[0];
    const env = Object.fromEntries(
      container.env.map((e: { name: string; value: string }) => [e.name, e.value]),
    );
    expect(Number(env.ARCHIVIST_SHARDS)).toBe(n);
    expect(container.args[0]).toBe('explore');
    for (const flag of flags(container.args)) expect(known, flag).toContain(flag);
    // pod k takes shard k + 1, each writes its own artefact
    const artifacts = new Set<string>();
    for (let k = 0; k < n; k++) {
      const { shard } = resolveShard(undefined, { ...env, JOB_COMPLETION_INDEX: String(k) });
      expect(shard).toEqual({ index: k + 1, count: n });
      artifacts.add(artifactPath(container.args[container.args.indexOf('--artifact') + 1], shard));
    }
    expect(artifacts.size).toBe(n);
  });

  test('the CI matrix workflow: one job per shard of n, known flags, a merge of every shard', () => {
    const wf = parse(readFileSync('docs/examples/explore-matrix.yml', 'utf8'));
    const job = wf.jobs.explore;
    const shards = job.strategy.matrix.shard as number[];
    const n = shards.length;
    expect(job.env.ARCHIVIST_SHARD).toBe(`\${{ matrix.shard }}/${n}`);
    const run = (job.steps as { run?: string }[])
      .map((s) => s.run ?? '')
      .find((r) => r.includes(' explore '));
    const args = (run as string).split(/\s+/).filter(Boolean);
    for (const flag of flags(args)) expect(known, flag).toContain(flag);
    const template = args[args.indexOf('--artifact') + 1] as string;
    const merge = (wf.jobs.merge.steps as { run?: string }[])
      .map((s) => s.run ?? '')
      .find((r) => r.includes('merge'));
    for (const i of shards) {
      const { shard } = resolveShard(undefined, { ARCHIVIST_SHARD: `${i}/${n}` });
      const name = artifactPath(template, shard).split('/').at(-1) as string;
      // the merge's glob takes every shard's artefact
      const glob = (merge as string).split(/\s+/).find((w) => w.includes('*')) as string;
      expect(new RegExp(`^${glob.split('/').at(-1)?.replace('*', '[0-9]+')}$`).test(name), name).toBe(true);
    }
  });
});
