// The content network's fault kinds (scenarios/faults/content-faults.ts): each timeline
// action, carried out through the registry's handler, changes what the simulated content
// network does — a fetch that waits, a block fetched twice, a late answer, a store that is
// gone — and a scenario file names them, which the run turns into fault windows.
import { describe, expect, it } from 'vitest';
import { type SimNode, SimWorld } from '../adapters/sim/world.ts';
import { ACTION_HANDLERS } from '../scenarios/faults/index.ts';
import { parseScenario } from '../scenarios/load.ts';
import type { ActionContext } from '../scenarios/run/context.ts';
import { runScenario } from '../scenarios/runner.ts';
import { Action } from '../scenarios/schema.ts';
import { contractBytes } from './contract/torrent.contract.ts';

const T0 = Date.UTC(2026, 0, 1);
const MB = 1_000_000;

interface Rig {
  w: SimWorld;
  owner: SimNode;
  alice: SimNode;
  cid: string;
  bytes: Uint8Array;
  /** Carries out a timeline action (scenario syntax) through the registry's handler. */
  apply(action: Record<string, unknown>): string[];
}

/** A world of two running store nodes, the owner holding 300 kB (5 blocks). */
async function rig(): Promise<Rig> {
  const w = new SimWorld({ seed: 3, startTime: T0, network: { latency: { kind: 'fixed', ms: 50 } } });
  const owner = w.addNode({ id: 'owner', uploadBps: 10 * MB, downloadBps: 10 * MB });
  const alice = w.addNode({ id: 'alice', uploadBps: 10 * MB, downloadBps: 10 * MB });
  await owner.sim.content.start();
  await alice.sim.content.start();
  const bytes = contractBytes('content-faults', 300_000);
  const cid = await owner.sim.content.upload(bytes);
  const skipped: string[] = [];
  // The handlers of this layer reach only the world, node ids and `skipped`.
  const run = {
    world: w,
    plan: { id: (name: string) => name },
    skipped: (a: Action, reason: string) => skipped.push(`${a.do}: ${reason}`),
  } as unknown as ActionContext;
  const apply = (input: Record<string, unknown>): string[] => {
    const action = Action.parse({ at: 0, ...input });
    (ACTION_HANDLERS[action.do] as (a: Action, r: ActionContext) => void)(action, run);
    return skipped.splice(0);
  };
  return { w, owner, alice, cid, bytes, apply };
}

/** Virtual ms until `p` settles, or undefined when it is still pending after `maxMs`. */
async function settleTime(w: SimWorld, p: Promise<unknown>, maxMs: number): Promise<number | undefined> {
  const t0 = w.kernel.now();
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  while (!done && w.kernel.now() - t0 < maxMs) await w.runForAsync(10);
  return done ? w.kernel.now() - t0 : undefined;
}

const kinds = (w: SimWorld, kind: string) => w.trace.lines().filter((l) => l.includes(`"kind":"${kind}"`));

describe('content network faults through the registry', () => {
  it('contentMissingBlocks: the only provider lacks blocks, the fetch waits until it is repaired', async () => {
    const { w, alice, cid, bytes, apply } = await rig();
    expect(apply({ do: 'contentMissingBlocks', node: 'owner', blocks: 2 })).toEqual([]);
    const fetching = alice.sim.content.fetch(cid);
    expect(await settleTime(w, fetching, 120_000)).toBeUndefined();
    expect(await alice.sim.content.has(cid)).toBe(false);
    apply({ do: 'contentMissingBlocks', node: 'owner', blocks: 0 });
    // repaired: the waiting fetch looks up again at once rather than after its backoff
    expect(await settleTime(w, fetching, 5000)).toBeLessThan(5000);
    expect(Buffer.from(await fetching).equals(Buffer.from(bytes))).toBe(true);
    expect(kinds(w, 'cas.fault.missing')).toHaveLength(1);
    expect(kinds(w, 'cas.fault.repaired')).toHaveLength(1);
  });

  it('contentMissingBlocks covers content the node gets after the fault began', async () => {
    const { w, owner, alice, apply } = await rig();
    apply({ do: 'contentMissingBlocks', node: 'owner', blocks: 1 });
    const later = await owner.sim.content.upload(contractBytes('later', 100_000));
    expect(await settleTime(w, alice.sim.content.fetch(later), 60_000)).toBeUndefined();
  });

  it('contentCorruptBlocks: the fetcher rejects the bad blocks and fetches them again', async () => {
    const { w, alice, cid, bytes, apply } = await rig();
    apply({ do: 'contentCorruptBlocks', node: 'owner', blocks: 3 });
    const fetching = alice.sim.content.fetch(cid);
    expect(await settleTime(w, fetching, 60_000)).toBeDefined();
    expect(Buffer.from(await fetching).equals(Buffer.from(bytes))).toBe(true);
    expect(w.content.stats('alice').badBlocks).toBe(3);
    expect(kinds(w, 'cas.bad')).toHaveLength(3);
  });

  it('contentSlowProvider: every request is answered late, until the delay is 0', async () => {
    const healthy = await rig();
    const fast = await settleTime(healthy.w, healthy.alice.sim.content.fetch(healthy.cid), 60_000);
    const slow = await rig();
    slow.apply({ do: 'contentSlowProvider', node: 'owner', delay: '3s' });
    const late = await settleTime(slow.w, slow.alice.sim.content.fetch(slow.cid), 60_000);
    // the manifest and at least one run of blocks, each 3 s late
    expect(late! - fast!).toBeGreaterThanOrEqual(6000);
    slow.apply({ do: 'contentSlowProvider', node: 'owner', delay: 0 });
    const other = await slow.owner.sim.content.upload(contractBytes('other', 300_000));
    const again = await settleTime(slow.w, slow.alice.sim.content.fetch(other), 60_000);
    expect(again! - fast!).toBeLessThan(1000);
  });

  it('storeNodeLeaves / storeNodeJoins: the store is wiped and its records gone; it comes back running, empty', async () => {
    const { w, owner, alice, cid, apply } = await rig();
    expect(w.content.providers(cid)).toEqual(['owner']);
    expect(apply({ do: 'storeNodeLeaves', node: 'owner' })).toEqual([]);
    expect(apply({ do: 'storeNodeLeaves', node: 'owner' })).toEqual([
      'storeNodeLeaves: its store node has already left',
    ]);
    expect(w.content.providers(cid)).toEqual([]);
    expect(owner.sim.content.running).toBe(false);
    expect(await settleTime(w, alice.sim.content.fetch(cid), 60_000)).toBeUndefined();
    expect(apply({ do: 'storeNodeJoins', node: 'owner' })).toEqual([]);
    expect(apply({ do: 'storeNodeJoins', node: 'owner' })).toEqual([
      'storeNodeJoins: its store node is on the network',
    ]);
    expect(owner.sim.content.running).toBe(true);
    expect(await owner.sim.content.held()).toEqual([]);
    expect(kinds(w, 'cas.leave')).toHaveLength(1);
    expect(kinds(w, 'cas.join')).toHaveLength(1);
  });

  it('a store node that was stopped when it left stays stopped when it joins again', async () => {
    const { owner, apply } = await rig();
    await owner.sim.content.stop();
    apply({ do: 'storeNodeLeaves', node: 'owner' });
    apply({ do: 'storeNodeJoins', node: 'owner' });
    expect(owner.sim.content.running).toBe(false);
  });
});

describe('content network faults in a scenario file', () => {
  it('are valid timeline actions and become fault windows of their kinds', async () => {
    const scenario = parseScenario(
      `name: content-faults
duration: 2d
communities: [{ id: c1, chats: [general] }]
nodes: [{ name: owner, role: owner }, { name: alice, role: member }]
timeline:
  - { at: 1h, do: contentMissingBlocks, node: owner, blocks: 2 }
  - { at: 5h, do: contentMissingBlocks, node: owner, blocks: 0 }
  - { at: 2h, do: contentCorruptBlocks, node: owner, blocks: 4 }
  - { at: 3h, do: contentSlowProvider, node: alice, delay: 10s }
  - { at: 9h, do: contentSlowProvider, node: alice, delay: 0 }
  - { at: 4h, do: storeNodeLeaves, node: alice }
  - { at: 1d, do: storeNodeJoins, node: alice }
`,
      'content-faults.yaml',
    );
    const { details, traceLines } = await runScenario(scenario, { keepTrace: true });
    const H = 3_600_000;
    const windows = details.faults.map((f) => [
      f.kind,
      f.subject,
      (f.from - scenario.start) / H,
      (f.to - scenario.start) / H,
    ]);
    expect(windows).toEqual([
      ['contentMissingBlocks', 'owner', 1, 5],
      ['contentCorruptBlocks', 'owner', 2, 2],
      ['contentSlowProvider', 'alice', 3, 9],
      ['storeNodeLeaves', 'alice', 4, 24],
    ]);
    const kind = (k: string) => traceLines.filter((l) => l.includes(`"kind":"${k}"`)).length;
    expect([kind('cas.fault.missing'), kind('cas.fault.repaired'), kind('cas.fault.corrupt')]).toEqual([
      1, 1, 1,
    ]);
    expect([kind('cas.fault.slow'), kind('cas.leave'), kind('cas.join')]).toEqual([2, 1, 1]);
  });

  it('a bad knob is a clear error', () => {
    expect(() =>
      parseScenario(
        `name: bad
duration: 1d
communities: [{ id: c1, chats: [general] }]
nodes: [{ name: owner, role: owner }]
timeline: [{ at: 1h, do: contentMissingBlocks, node: owner, blocks: -1 }]
`,
        'bad.yaml',
      ),
    ).toThrow(/whole number >= 0/);
  });
});
