// The backend of a scenario (`backend`, a node's or a cohort's `archiveBackend`) reaching the
// machines' `archiveBackends`, the backend figures a run gathers (time to full history per
// member, owner vs peer uploads, failed and retried fetches, archives imported), and
// `archivist compare`: the same scenario and seed on the torrent backend and on cid, side
// by side, as a table or JSON; bad input is one `archivist:` line and exit 2.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DAY, HOUR } from '../machines/options.ts';
import { compareBackends, withBackend } from '../scenarios/compare.ts';
import { createHarness } from '../scenarios/harness.ts';
import { parseScenario } from '../scenarios/load.ts';
import type { BackendFigures } from '../scenarios/result.ts';
import { compileScenario } from '../scenarios/run/plan.ts';
import { runScenario } from '../scenarios/runner.ts';
import { captureCli } from './cli-helpers.ts';
import { smallCommunity } from './fixtures/small-community.ts';

/** Weekly rounds, a late joiner, one member away over a round. */
const SMALL = smallCommunity('compare-small');

const io = captureCli();

describe('scenario backend', () => {
  it('defaults to torrent; a node or a cohort may choose its own; a bad one is refused with its path', () => {
    const plain = parseScenario(SMALL, 'small.yaml');
    expect(plain.backend).toBe('torrent');
    expect(compileScenario(plain, 1).options.archiveBackends).toBe('torrent');

    const mixed = parseScenario(
      SMALL.replace('duration: 23d', 'duration: 23d\nbackend: cid')
        .replace('    role: owner', '    role: owner\n    archiveBackend: both')
        .replace('  count: 3', '  count: 3\n  archiveBackend: torrent'),
      'mixed.yaml',
    );
    expect(mixed.backend).toBe('cid');
    expect(mixed.nodes.map((n) => n.archiveBackend)).toEqual(['both', 'torrent', 'torrent', 'torrent']);
    const plan = compileScenario(mixed, 1);
    expect(plan.options.archiveBackends).toBe('cid');
    expect(plan.ownerOptions).toEqual({ archiveBackends: 'both' });
    expect(plan.memberSpecs.map((m) => m.options)).toEqual([
      { archiveBackends: 'torrent' },
      { archiveBackends: 'torrent' },
      { archiveBackends: 'torrent' },
    ]);
    // a node choosing the scenario's own backend needs no options of its own
    const same = parseScenario(
      SMALL.replace('  count: 3', '  count: 3\n  archiveBackend: torrent'),
      's.yaml',
    );
    expect(compileScenario(same, 1).memberSpecs.every((m) => m.options === undefined)).toBe(true);

    expect(() =>
      parseScenario(SMALL.replace('duration: 23d', 'duration: 23d\nbackend: ipfs'), 'b.yaml'),
    ).toThrow(/b\.yaml: backend: expected a backend: torrent, cid or both/);
    expect(() =>
      parseScenario(
        SMALL.replace('    role: owner', '    role: owner\n    archiveBackend: bittorrent'),
        'c.yaml',
      ),
    ).toThrow(/nodes\[0\]\.archiveBackend: expected a backend: torrent, cid or both/);
    // the old option names the new field
    expect(() =>
      compileScenario(
        parseScenario(
          SMALL.replace('duration: 23d', 'duration: 23d\noptions: {distribution: content-addressed}'),
          'd.yaml',
        ),
        1,
      ),
    ).toThrow(/options\.distribution: .*`backend: cid`/);
  });

  it("withBackend puts every node on one backend, dropping the nodes' own", () => {
    const mixed = parseScenario(SMALL.replace('  count: 3', '  count: 3\n  archiveBackend: both'), 'm.yaml');
    const cid = withBackend(mixed, 'cid');
    expect(cid.backend).toBe('cid');
    expect(cid.nodes.every((n) => n.archiveBackend === undefined)).toBe(true);
    expect(compileScenario(cid, 1).memberSpecs.every((m) => m.options === undefined)).toBe(true);
    expect(mixed.nodes[1]?.archiveBackend).toBe('both'); // the scenario itself is left as it was
  });

  it("a node's own options reach its machines (the harness's per-node options)", async () => {
    // both join after the first round: each downloads at once, then waits its import delay
    const h = await createHarness({
      seed: 1,
      members: [
        { id: 'a', joinAt: 8 * DAY },
        { id: 'b', joinAt: 8 * DAY, options: { importDelayMs: 2 * HOUR } },
      ],
      messagesPerDay: 40,
      durationMs: 9 * DAY,
    });
    await h.run();
    const firstImport = (id: string) =>
      h.node(id).log.find((s) => s.type === 'community.importingHistoryArchiveMessages')?.t ?? Number.NaN;
    const joined = h.start + 8 * DAY;
    expect(firstImport('a') - joined).toBeLessThan(HOUR);
    expect(firstImport('b') - joined).toBeGreaterThanOrEqual(2 * HOUR);
  });
});

describe('backend figures of a run', () => {
  it('time to full history per member, owner vs peer uploads, fetches, archives imported', async () => {
    const { result, details } = await runScenario(parseScenario(SMALL, 'small.yaml'));
    const f = details.backend as BackendFigures;
    expect(f.backend).toBe('torrent');
    expect(f.members.map((m) => [m.node, m.backend])).toEqual([
      ['m1', 'torrent'],
      ['m2', 'torrent'],
      ['m3', 'torrent'],
    ]);
    const archives = result.rounds.reduce((n, r) => n + r.archives, 0);
    expect(archives).toBeGreaterThanOrEqual(3);
    for (const m of f.members) {
      expect(m.archivesNeeded).toBe(archives);
      expect(m.archivesHeld).toBe(archives);
      // the last archive comes out 21 days in: at most a day after, each member has it
      expect(m.timeToFullHistory).toBeGreaterThanOrEqual(0);
      expect(m.timeToFullHistory).toBeLessThan(DAY);
    }
    expect([f.membersCounted, f.membersComplete]).toEqual([3, 3]);
    const times = f.members.map((m) => m.timeToFullHistory as number).sort((a, b) => a - b);
    expect(f.timeToFullHistory).toEqual({ count: 3, median: times[1], p90: times[2], max: times[2] });
    expect(f.archivesImported).toBe(
      result.members.filter((m) => m.node !== 'owner').reduce((n, m) => n + m.imported, 0),
    );
    // the owner seeds every archive; the members that have them seed to the later ones
    const up = (owner: boolean) =>
      result.members.filter((m) => (m.node === 'owner') === owner).reduce((n, m) => n + m.bytesUp, 0);
    expect(f.uploaded.torrent).toEqual({ owners: up(true), peers: up(false) });
    expect(f.uploaded.torrent.owners).toBeGreaterThan(0);
    expect(f.uploaded.content).toEqual({ owners: 0, peers: 0 });
    expect(f.failedFetches.total).toBe(0);
    expect(f.retriedFetches.total).toBe(0);
  });

  it('counts the tasks that timed out, their metadata asked again, and members that never complete', async () => {
    // from just before the last round on, every link takes two minutes: the round's link
    // arrives, its metadata cannot within the 20 s timeout (one retry), and nothing follows
    const slow = parseScenario(
      SMALL.replace(
        /timeline:[\s\S]*$/,
        'timeline:\n  - {at: 20d23h, do: network, conditions: {latency: 2m}}\n',
      ),
      'slow.yaml',
    );
    const { result, details } = await runScenario(slow);
    const f = details.backend as BackendFigures;
    const lastRound = result.rounds.at(-1)?.archives ?? 0;
    expect(lastRound).toBeGreaterThan(0);
    for (const m of f.members) {
      expect(m.timeToFullHistory, m.node).toBeNull();
      expect(m.archivesHeld, m.node).toBe(m.archivesNeeded - lastRound);
      expect(m.failedFetches, m.node).toBe(1);
      expect(m.retriedFetches, m.node).toBe(1);
    }
    expect([f.membersCounted, f.membersComplete]).toEqual([3, 0]);
    expect(f.timeToFullHistory).toEqual({ count: 0, median: null, p90: null, max: null });
    expect(f.failedFetches).toEqual({ timeout: 3, error: 0, malformed: 0, content: 0, total: 3 });
    expect(f.retriedFetches).toEqual({ metadata: 3, content: 0, tasks: 0, total: 3 });
  });
});

describe('archivist compare', () => {
  const dir = mkdtempSync(join(tmpdir(), 'archivist-compare-'));
  const file = join(dir, 'small.yaml');
  writeFileSync(file, SMALL);

  it('runs torrent then cid with one seed; --json gives both runs with their figures', async () => {
    expect(await io.run('compare', file, '--seed', '4', '--json', '--progress', 'none')).toBe(0);
    expect(io.err).toBe('');
    const out = JSON.parse(io.out) as {
      scenario: string;
      seed: number;
      runs: (BackendFigures & { ok: boolean; traceHash: string; virtualMs: number; events: number })[];
    };
    expect(out).toMatchObject({ scenario: 'compare-small', seed: 4 });
    expect(out.runs.map((r) => r.backend)).toEqual(['torrent', 'cid']);
    const [torrent, cid] = out.runs;
    expect(Object.keys(torrent ?? {})).toEqual([
      'backend',
      'ok',
      'traceHash',
      'virtualMs',
      'events',
      'members',
      'membersCounted',
      'membersComplete',
      'timeToFullHistory',
      'uploaded',
      'failedFetches',
      'retriedFetches',
      'archivesImported',
    ]);
    // the torrent side is the scenario's own run with that seed
    const alone = await runScenario(parseScenario(SMALL, 'small.yaml'), { seed: 4 });
    expect(torrent?.traceHash).toBe(alone.result.traceHash);
    expect(torrent).toMatchObject({ ok: true, membersCounted: 3, membersComplete: 3 });
    expect(torrent?.uploaded.torrent.owners).toBeGreaterThan(0);
    expect(torrent?.members.every((m) => m.backend === 'torrent')).toBe(true);
    expect(cid?.members.map((m) => m.backend)).toEqual(['cid', 'cid', 'cid']);
    expect(cid?.membersCounted).toBe(3);
    // the cid run went over the content network alone, and every member got the history
    expect(cid).toMatchObject({ ok: true, membersComplete: 3 });
    expect(cid?.uploaded.content.owners).toBeGreaterThan(0);
    expect((cid?.uploaded.torrent.owners ?? -1) + (cid?.uploaded.torrent.peers ?? -1)).toBe(0);
    expect(cid?.archivesImported).toBe(torrent?.archivesImported);
    expect(torrent?.uploaded.content.owners).toBe(0);
    // the same figures from the library call
    const lib = await compareBackends(parseScenario(SMALL, 'small.yaml'), { seed: 4 });
    expect(lib.runs.map((r) => r.result.traceHash)).toEqual(out.runs.map((r) => r.traceHash));
  });

  it('prints the table of both runs side by side', async () => {
    expect(await io.run('compare', file, '--progress', 'none')).toBe(0);
    const lines = io.out.trimEnd().split('\n');
    expect(lines[0]).toBe('compare-small (seed 1): torrent PASSED, cid PASSED');
    expect(lines[1]).toMatch(/^\s+torrent\s+cid$/);
    const labels = lines.slice(2).map((l) => l.split(/\s{2,}/)[0]);
    expect(labels).toEqual([
      'time to full history, median',
      'time to full history, p90',
      'time to full history, max',
      'members complete',
      'archives imported',
      'torrent upload, owners',
      'torrent upload, peers',
      'content upload, owners',
      'content upload, peers',
      'failed fetches',
      'retried fetches',
    ]);
    expect(lines[5]).toMatch(/^members complete\s+3\/3\s+\d+\/3$/);
    expect(lines[7]).toMatch(/^torrent upload, owners\s+\d+(\.\d+)? (kB|MB)\s+/);
  });

  it('bad input: one archivist: line, exit 2', async () => {
    expect(await io.run('compare', file, '--seed', 'x')).toBe(2);
    expect(io.err).toBe('archivist: --seed: expected a whole number >= 0, got "x"\n');
    io.clear();
    expect(await io.run('compare', join(dir, 'none.yaml'))).toBe(2);
    expect(io.err).toMatch(/^archivist: .*none\.yaml: no such file\n$/);
    io.clear();
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, SMALL.replace('duration: 23d', 'duration: 23d\nbackend: ipfs'));
    expect(await io.run('compare', bad)).toBe(2);
    expect(io.err).toMatch(/^archivist: .*bad\.yaml: backend: expected a backend: torrent, cid or both/);
    expect(io.err.trimEnd().split('\n')).toHaveLength(1);
    io.clear();
    expect(await io.run('compare', file, '--progress', 'loud')).toBe(2);
    expect(io.err).toMatch(/^archivist: --progress: expected one of/);
  });
});
