// The content network's faults and the content-addressed invariants end to end: the
// machines on the cid backend (and dual publish with an auto member) in simulated worlds,
// with faults injected through the registry's handlers as a scenario's timeline does. Each
// fault shows in what the members went through; the five cid invariants are judged on the
// whole run ("ok", not "not checked") and hold, and a torrent-only run does not judge them.
import { describe, expect, it } from 'vitest';
import { CID_INVARIANTS } from '../machines/cid-invariants.ts';
import { DAY, HOUR, type MachineOptions } from '../machines/options.ts';
import { ACTION_HANDLERS } from '../scenarios/faults/index.ts';
import { createHarness, type Harness } from '../scenarios/harness.ts';
import { harnessRunContext } from '../scenarios/run/harness-context.ts';
import { Action } from '../scenarios/schema.ts';

const WEEK = 7 * DAY;

type Backends = MachineOptions['archiveBackends'];

/** Owner and two members (cid-only and auto), four weeks; `faults` at offsets, in scenario syntax. */
async function run(
  owner: Backends,
  faults: Array<[number, Record<string, unknown>]> = [],
  members: Backends[] = ['cid', 'both'],
): Promise<Harness> {
  const h = await createHarness({
    seed: 5,
    members: members.map((b) => ({ options: { archiveBackends: b } })),
    messagesPerDay: 40,
    durationMs: 4 * WEEK,
    trafficTo: 3 * WEEK,
    ownerOptions: { archiveBackends: owner },
    checkConvergence: true,
  });
  const ctx = harnessRunContext(h);
  for (const [at, input] of faults)
    h.at(at, () => {
      const a = Action.parse({ at: 0, ...input });
      (ACTION_HANDLERS[a.do] as (a: Action, c: typeof ctx) => void)(a, ctx);
    });
  await h.run();
  return h;
}

const cidVerdicts = (h: Harness) => CID_INVARIANTS.map((n) => `${n}: ${h.monitor.verdicts()[n]}`);
const allOk = CID_INVARIANTS.map((n) => `${n}: ok`);
const tasks = (h: Harness, id: string) =>
  h.node(id).log.flatMap((s) => (s.type === 'archive.taskEnded' ? [s.status] : []));
const imported = (h: Harness, id: string) =>
  h.node(id).log.filter((s) => s.type === 'archive.archiveImported').length;

describe('the cid invariants on whole runs', () => {
  it('are judged and hold on the cid backend and on dual publish; a torrent-only run leaves them unjudged', async () => {
    for (const owner of ['cid', 'both'] as const) {
      const h = await run(owner);
      expect(h.monitor.violation, owner).toBeUndefined();
      expect(cidVerdicts(h), owner).toEqual(allOk);
      expect(h.monitor.verdicts().convergence).toBe('ok');
    }
    const torrent = await run('torrent', [], ['torrent']);
    expect(torrent.monitor.violation).toBeUndefined();
    expect(cidVerdicts(torrent)).toEqual(CID_INVARIANTS.map((n) => `${n}: not checked`));
  });
});

describe('content network faults in cid worlds', () => {
  it('contentMissingBlocks at the owner through its second round: that task times out, the next catches up', async () => {
    const h = await run('both', [
      [WEEK - HOUR, { do: 'contentMissingBlocks', node: 'owner', blocks: 1 }],
      [2 * WEEK, { do: 'contentMissingBlocks', node: 'owner', blocks: 0 }],
    ]);
    for (const m of ['m1', 'm2']) {
      expect(tasks(h, m)[0], m).toBe('timeout');
      expect(imported(h, m), m).toBe(3);
    }
    expect(h.monitor.violation).toBeUndefined();
    expect(cidVerdicts(h)).toEqual(allOk);
  });

  it('contentCorruptBlocks at the owner: members reject bad blocks and fetch them again', async () => {
    const h = await run('both', [[WEEK - HOUR, { do: 'contentCorruptBlocks', node: 'owner', blocks: 5 }]]);
    const bad = h.members.map((m) => h.world.content.stats(m.id).badBlocks);
    expect(bad.reduce((a, b) => a + b)).toBe(5);
    for (const m of ['m1', 'm2']) expect(tasks(h, m), m).toEqual(['done', 'done', 'done']);
    expect(cidVerdicts(h)).toEqual(allOk);
  });

  it('contentSlowProvider: an owner 30 s late per request outlasts the 20 s index timer', async () => {
    const h = await run('cid', [
      [WEEK - HOUR, { do: 'contentSlowProvider', node: 'owner', delay: '30s' }],
      [2 * WEEK, { do: 'contentSlowProvider', node: 'owner', delay: 0 }],
    ]);
    for (const m of ['m1', 'm2']) {
      expect(tasks(h, m)[0], m).toBe('timeout');
      expect(imported(h, m), m).toBe(3);
    }
    expect(cidVerdicts(h)).toEqual(allOk);
  });

  it("storeNodeLeaves at the owner: its store is wiped, so its next index is re-based and lacks the members' earlier archives", async () => {
    const h = await run('both', [
      [WEEK + 3 * DAY, { do: 'storeNodeLeaves', node: 'owner' }],
      [WEEK + 4 * DAY, { do: 'storeNodeJoins', node: 'owner' }],
    ]);
    // §11.1: earlier entries are kept only while the previous index is held; the latest
    // index no longer lists what members downloaded, which §10.8 as stated flags
    expect(h.monitor.violation?.invariant).toBe('importedSubsetDownloaded');
    expect(h.monitor.violation?.message).toMatch(
      /not in the latest index seen from owner \(content-addressed\)/,
    );
    expect(cidVerdicts(h)).toEqual(allOk);
  });
});
