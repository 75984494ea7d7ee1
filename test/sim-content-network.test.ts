// The simulated content network beyond the port contract: its bandwidth model, its faults
// and its determinism (sim/content-network.ts, sim/fair-share.ts).
import { describe, expect, it } from 'vitest';
import { type SimNode, SimWorld, type SimWorldOptions } from '../adapters/sim/world.ts';
import { ContentStoreStopped } from '../ports/content-store.ts';
import { contractBytes } from './contract/torrent.contract.ts';

const T0 = Date.UTC(2026, 0, 1);
const MB = 1_000_000;

function world(extra: Partial<SimWorldOptions> = {}): SimWorld {
  return new SimWorld({ seed: 5, startTime: T0, network: { latency: { kind: 'fixed', ms: 50 } }, ...extra });
}

async function started(
  w: SimWorld,
  ...specs: Array<{ id: string; up?: number; down?: number }>
): Promise<SimNode[]> {
  const nodes = specs.map((s) =>
    w.addNode({ id: s.id, uploadBps: s.up ?? 10 * MB, downloadBps: s.down ?? 10 * MB }),
  );
  for (const n of nodes) await n.sim.content.start();
  return nodes;
}

/** Runs the world until `p` settles (or maxMs of virtual time passed); the virtual time it took. */
async function timed<T>(w: SimWorld, p: Promise<T>, maxMs = 600_000): Promise<{ value: T; ms: number }> {
  const t0 = w.kernel.now();
  let done = false;
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      done = true;
      value = v;
    },
    (e) => {
      done = true;
      error = e;
    },
  );
  while (!done && w.kernel.now() - t0 < maxMs) await w.runForAsync(10);
  if (!done) throw new Error(`still pending after ${maxMs} ms`);
  if (error) throw error;
  return { value: value as T, ms: w.kernel.now() - t0 };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('bandwidth', () => {
  it('a fetch takes the lookup, the manifest and the bytes at the slower end', async () => {
    const w = world();
    const [a, b] = await started(w, { id: 'a', up: 1 * MB }, { id: 'b', down: 10 * MB });
    const bytes = contractBytes('bw', 2 * MB);
    const cid = await a!.sim.content.upload(bytes);
    const { value, ms } = await timed(w, b!.sim.content.fetch(cid));
    expect(same(value, bytes)).toBe(true);
    // lookup 2 round trips (200 ms) + manifest request (50 ms) + first run request (50 ms)
    // + 2 MB at 1 MB/s shared by the transfers of the uploader
    expect(ms).toBeGreaterThanOrEqual(2300);
    expect(ms).toBeLessThan(2500);
    expect(b!.contentBytes().down).toBeGreaterThanOrEqual(2 * MB);
    expect(a!.contentBytes().up).toBe(b!.contentBytes().down);
  });

  it("two fetchers share the uploader's line; a third node then serves as a second provider", async () => {
    const w = world();
    const [a, b, c, d] = await started(
      w,
      { id: 'a', up: 1 * MB },
      { id: 'b' },
      { id: 'c' },
      { id: 'd', up: 1 * MB },
    );
    const cid = await a!.sim.content.upload(contractBytes('share', 2 * MB));
    const both = await timed(w, Promise.all([b!.sim.content.fetch(cid), c!.sim.content.fetch(cid)]));
    // 4 MB through a 1 MB/s uplink
    expect(both.ms).toBeGreaterThanOrEqual(4200);
    expect(both.ms).toBeLessThan(4600);
    expect(w.content.providers(cid)).toEqual(['a', 'b', 'c']);
    // d fetches from three providers at once: faster than from one
    const alone = await timed(w, d!.sim.content.fetch(cid));
    expect(alone.ms).toBeLessThan(1800); // one 1 MB/s provider alone needs over 2 s
  });

  it('a node with no bandwidth stalls its transfers until it gets some', async () => {
    const w = world();
    const [a, b] = await started(w, { id: 'a' }, { id: 'b' });
    const cid = await a!.sim.content.upload(contractBytes('stall', 500_000));
    w.content.setBandwidth('a', 0, 10 * MB);
    const p = b!.sim.content.fetch(cid);
    await w.runForAsync(30_000);
    expect(await b!.sim.content.has(cid)).toBe(false);
    w.content.setBandwidth('a', 10 * MB, 10 * MB);
    const { ms } = await timed(w, p);
    expect(ms).toBeLessThan(1000);
  });
});

describe('faults', () => {
  it('blocks a provider lost come from another provider; with none, the fetch waits for one', async () => {
    const w = world();
    const [a, b, c] = await started(w, { id: 'a' }, { id: 'b' }, { id: 'c' });
    const bytes = contractBytes('lost', 400_000);
    const cid = await a!.sim.content.upload(bytes);
    expect(w.content.blockCount('a', cid)).toBe(7);
    w.content.loseBlocks('a', cid, [3, 5]);
    const fetching = c!.sim.content.fetch(cid);
    await w.runForAsync(60_000);
    expect(await c!.sim.content.has(cid)).toBe(false); // blocks 3 and 5 are nowhere
    await b!.sim.content.upload(bytes); // another node brings the whole content
    const { value } = await timed(w, fetching, 200_000);
    expect(same(value, bytes)).toBe(true);
    expect(w.trace.lines().some((l) => l.includes('"kind":"cas.fault.missing"'))).toBe(true);
  });

  it('corrupted blocks fail verification and are fetched again', async () => {
    const w = world();
    const [a, b] = await started(w, { id: 'a' }, { id: 'b' });
    const bytes = contractBytes('corrupt', 300_000);
    const cid = await a!.sim.content.upload(bytes);
    w.content.corruptNextBlocks('a', 2);
    const { value } = await timed(w, b!.sim.content.fetch(cid));
    expect(same(value, bytes)).toBe(true);
    expect(w.content.stats('b').badBlocks).toBe(2);
    expect(w.trace.lines().filter((l) => l.includes('"kind":"cas.bad"'))).toHaveLength(2);
  });

  it('a slow provider answers each request late', async () => {
    const fast = world();
    const slow = world();
    const times: number[] = [];
    for (const w of [fast, slow]) {
      const [a, b] = await started(w, { id: 'a' }, { id: 'b' });
      const cid = await a!.sim.content.upload(contractBytes('slow', 200_000));
      if (w === slow) w.content.setServeDelay('a', 2000);
      times.push((await timed(w, b!.sim.content.fetch(cid))).ms);
    }
    // the manifest and the blocks: two requests, each 2 s late
    expect(times[1]! - times[0]!).toBeGreaterThanOrEqual(4000);
  });

  it('a provider going offline mid-fetch: the fetch goes on from another, or resumes when it is back', async () => {
    const w = world();
    const [a, b, c] = await started(w, { id: 'a', up: 1 * MB }, { id: 'b', up: 1 * MB }, { id: 'c' });
    const bytes = contractBytes('offline', 3 * MB);
    const cid = await a!.sim.content.upload(bytes);
    await b!.sim.content.upload(bytes);
    const p = c!.sim.content.fetch(cid);
    await w.runForAsync(800);
    a!.goOffline();
    b!.goOffline();
    await w.runForAsync(120_000);
    expect(await c!.sim.content.has(cid)).toBe(false);
    b!.goOnline();
    const { value, ms } = await timed(w, p);
    expect(same(value, bytes)).toBe(true);
    expect(ms).toBeLessThan(5000); // a provider coming back wakes the waiting fetch at once
  });

  it("a crash drops the node's fetches unsettled; its store survives the restart", async () => {
    const w = world();
    const [a, b] = await started(w, { id: 'a' }, { id: 'b' });
    const small = contractBytes('crash/small', 50_000);
    const cid = await a!.sim.content.upload(contractBytes('crash', 2 * MB));
    const kept = await a!.sim.content.upload(small);
    await timed(w, b!.sim.content.fetch(kept));
    let settled = false;
    b!.sim.content.fetch(cid).then(
      () => (settled = true),
      () => (settled = true),
    );
    await w.runForAsync(100);
    b!.crash();
    await w.runForAsync(30_000);
    expect(settled).toBe(false);
    b!.restart();
    expect(b!.sim.content.running).toBe(false);
    await b!.sim.content.start();
    expect(await b!.sim.content.has(kept)).toBe(true);
    expect(await b!.sim.content.has(cid)).toBe(false);
  });

  it('a store node that leaves takes its content and records with it; stale records expire', async () => {
    const w = world({ content: { recordTtlMs: 3_600_000 } });
    const [a, b, c] = await started(w, { id: 'a' }, { id: 'b' }, { id: 'c' });
    const cid = await a!.sim.content.upload(contractBytes('leave', 100_000));
    await timed(w, b!.sim.content.fetch(cid));
    expect(w.content.providers(cid)).toEqual(['a', 'b']);
    w.content.leave('b');
    expect(w.content.providers(cid)).toEqual(['a']);
    await expect(b!.sim.content.start()).rejects.toBeInstanceOf(ContentStoreStopped);
    w.content.rejoin('b');
    await b!.sim.content.start();
    expect(await b!.sim.content.held()).toEqual([]);
    // a goes away without dropping: its record lingers, then expires at a lookup after the TTL
    a!.goOffline();
    const p = c!.sim.content.fetch(cid, { signal: AbortSignal.abort(new Error('x')) });
    await expect(p).rejects.toThrow('x');
    await w.runForAsync(2 * 3_600_000);
    const abort = new AbortController();
    const late = c!.sim.content.fetch(cid, { signal: abort.signal });
    await w.runForAsync(5000);
    expect(w.content.providers(cid)).toEqual([]);
    abort.abort(new Error('gave up'));
    await expect(late).rejects.toThrow('gave up');
  });
});

describe('determinism', () => {
  async function run(seed: number): Promise<string> {
    const w = new SimWorld({ seed, startTime: T0, content: { traceTransfers: true } });
    const nodes = await started(w, { id: 'a', up: 2 * MB }, { id: 'b' }, { id: 'c' }, { id: 'd' });
    const cids: string[] = [];
    for (let i = 0; i < 3; i++)
      cids.push(await nodes[0]!.sim.content.upload(contractBytes(`det/${i}`, 700_000)));
    w.content.corruptNextBlocks('a', 1);
    const all = Promise.all(nodes.slice(1).flatMap((n) => cids.map((cid) => n.sim.content.fetch(cid))));
    await w.runForAsync(400);
    nodes[2]!.goOffline();
    await w.runForAsync(3000);
    nodes[2]!.goOnline();
    await timed(w, all);
    return w.trace.hash();
  }

  it('the same seed gives the same trace; another seed another', async () => {
    const h = await run(1);
    expect(await run(1)).toBe(h);
    expect(await run(2)).not.toBe(h);
  });
});

describe('serveUnfinished: a store still fetching serves the blocks it has', () => {
  // The owner's line is slow; `early` starts fetching first, `late` two seconds later.
  // Single-block transfers, so blocks arrive one by one.
  async function race(serveUnfinished: boolean) {
    const w = world({ content: { serveUnfinished, blocksPerTransfer: 1 } });
    const [owner, early, late] = await started(
      w,
      { id: 'owner', up: 400_000 },
      { id: 'early', up: 10 * MB, down: 10 * MB },
      { id: 'late', up: 10 * MB, down: 10 * MB },
    );
    const bytes = contractBytes('partial', 2 * MB);
    const cid = await owner!.sim.content.upload(bytes);
    const first = early!.sim.content.fetch(cid);
    await w.runForAsync(2_000);
    const second = timed(w, late!.sim.content.fetch(cid));
    const { value } = await second;
    expect(same(value, bytes)).toBe(true);
    const upBeforeDone = early!.contentBytes().up;
    await timed(w, first);
    return { earlyUp: upBeforeDone, ownerUp: owner!.contentBytes().up };
  }

  it('off (default): only whole holders serve, so the late fetch takes everything from the owner', async () => {
    const r = await race(false);
    expect(r.earlyUp).toBe(0);
  });

  it('on: the late fetch takes blocks from the early one before it finished, and the owner sends less', async () => {
    const off = await race(false);
    const on = await race(true);
    expect(on.earlyUp).toBeGreaterThan(0);
    expect(on.ownerUp).toBeLessThan(off.ownerUp);
  });
});
