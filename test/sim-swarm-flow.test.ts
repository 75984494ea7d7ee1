// The flow-level swarm (swarm model 'flow'): transfers as fluid flows of chunks, streams
// through peers still downloading, the same port semantics as the piece-level swarm.
import { describe, expect, it } from 'vitest';
import { type SimNode, SimWorld, type SimWorldOptions } from '../adapters/sim/world.ts';
import type { SwarmOptions } from '../sim/swarm.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../sim/torrent-file.ts';

const T0 = Date.UTC(2026, 0, 1);
const P = 100_000;

function bytes(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

function folder(node: SimNode, name: string, data: Uint8Array, index: Uint8Array) {
  const fs = node.adapters.fs;
  fs.mkdirp(`/data/${name}`);
  fs.writeAtomic(`/data/${name}/data`, data);
  fs.writeAtomic(`/data/${name}/index`, index);
  const torrent = buildTorrentFile(name, P, [
    { path: 'data', bytes: data },
    { path: 'index', bytes: index },
  ]);
  const infoHash = parseTorrentFile(torrent).infoHash;
  return { data, index, torrent, infoHash, magnet: magnetFor(infoHash, name) };
}

function world(swarm: Partial<SwarmOptions> = {}, more: Partial<SimWorldOptions> = {}): SimWorld {
  return new SimWorld({
    seed: 1,
    startTime: T0,
    network: { latency: { kind: 'fixed', ms: 10 } },
    swarm: { model: 'flow', ...swarm },
    ...more,
  });
}

async function started(...nodes: SimNode[]): Promise<void> {
  for (const n of nodes) await n.adapters.torrent.start();
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

function probe(p: Promise<unknown>): { done: boolean; error: unknown } {
  const s = { done: false, error: undefined as unknown };
  p.then(
    () => {
      s.done = true;
    },
    (e) => {
      s.done = true;
      s.error = e;
    },
  );
  return s;
}

function records(w: SimWorld, kind: string): Record<string, unknown>[] {
  return w.trace
    .lines()
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.kind === kind);
}

const held = (w: SimWorld, node: string, ih: string): number[] => [...w.swarm.piecesHeld(node, ih)!];

describe('flow-level swarm: flows', () => {
  it('a lone download of 64 pieces is 4 flows of a chunk each, the bytes those of the seeder', async () => {
    const w = world();
    const s = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const l = w.addNode({ id: 'l', downloadBps: 50_000_000 });
    await started(s, l);
    const f = folder(s, 'c', bytes(1, 64 * P), bytes(2, 10));
    await s.adapters.torrent.seed(f.torrent, '/data');
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    const e0 = w.kernel.processed;
    await w.runForAsync(600_000);
    expect(done).toEqual({ done: true, error: undefined });
    expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
    // chunks of 16 pieces (flowPieces): [0, 16), [16, 32), ...
    const flows = records(w, 'swarm.piece').map((r) => [r.p, r.end]);
    expect(flows.sort((a, b) => Number(a[0]) - Number(b[0]))).toEqual([
      [0, 16],
      [16, 32],
      [32, 48],
      [48, 64],
    ]);
    // two events per flow, plus metadata and an announce or two
    expect(w.kernel.processed - e0).toBeLessThan(14);
    // the four flows share the 1 MB/s uplink: 6.4 MB in ~6.4 s
    const end = records(w, 'swarm.done')[0]!.t as number;
    expect(end - T0).toBeGreaterThan(6400);
    expect(end - T0).toBeLessThan(6700);
    const seederBuffers = new Set(s.sim.fs.chunks('/data/c/data').map((c) => c.buffer));
    for (const c of l.sim.fs.chunks('/data/c/data')) expect(seederBuffers.has(c.buffer)).toBe(true);
  });

  it('a piece range resolves once every piece in it is present, and only its pieces are fetched', async () => {
    const w = world();
    const s = w.addNode({ id: 's' });
    const l = w.addNode({ id: 'l' });
    await started(s, l);
    const f = folder(s, 'c', bytes(3, 40 * P), bytes(4, 10));
    await s.adapters.torrent.seed(f.torrent, '/data');
    const dl = l.adapters.torrent.add(f.magnet, '/data');
    const meta = dl.metadata();
    await w.runForAsync(1000);
    await meta;
    const part = probe(dl.downloadPieces(14, 20));
    await w.runForAsync(30_000);
    expect(part).toEqual({ done: true, error: undefined });
    const h = held(w, 'l', f.infoHash);
    expect(h.flatMap((x, i) => (x ? [i] : []))).toEqual([14, 15, 16, 17, 18, 19]);
    expect(
      same(l.adapters.fs.readRange('/data/c/data', 14 * P, 6 * P), f.data.subarray(14 * P, 20 * P)),
    ).toBe(true);
    // a chunk boundary at 16: two flows
    expect(records(w, 'swarm.piece').map((r) => [r.p, r.end])).toEqual([
      [14, 16],
      [16, 20],
    ]);
  });

  it('a corrupted piece fails verification alone and is fetched again', async () => {
    const w = world();
    const s = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const l = w.addNode({ id: 'l' });
    await started(s, l);
    const f = folder(s, 'c', bytes(5, 10 * P), bytes(6, 10));
    await s.adapters.torrent.seed(f.torrent, '/data');
    w.swarm.corruptNextPiece('s', 2);
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(60_000);
    expect(done).toEqual({ done: true, error: undefined });
    expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
    expect(w.swarm.stats('l').badPieces).toBe(2);
    expect(records(w, 'swarm.badpiece').map((r) => r.p)).toEqual([0, 1]);
    // the first flow kept the 8 good pieces; the two bad ones came again
    expect(records(w, 'swarm.piece').map((r) => [r.p, r.end, r.gained])).toEqual([
      [0, 10, 8],
      [0, 2, 2],
    ]);
  });

  it('a flow cut short keeps the pieces whose bytes had fully arrived', async () => {
    const w = world();
    const s = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const l = w.addNode({ id: 'l', downloadBps: 50_000_000 });
    await started(s, l);
    const f = folder(s, 'c', bytes(7, 10 * P), bytes(8, 10));
    await s.adapters.torrent.seed(f.torrent, '/data');
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(100);
    const wantAt = records(w, 'swarm.want')[0]!.t as number;
    const metaBytes = l.bytes().down;
    await w.runUntilAsync(wantAt + 10 + 450);
    l.goOffline();
    expect(records(w, 'swarm.abort')[0]).toMatchObject({ p: 0, end: 10, kept: 4 });
    expect(held(w, 'l', f.infoHash).slice(0, 10)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0]);
    expect(l.bytes().down - metaBytes).toBe(450_000);
    l.goOnline();
    await w.runForAsync(60_000);
    expect(done).toEqual({ done: true, error: undefined });
    expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
  });
});

describe('flow-level swarm: streams through peers', () => {
  it('a peer serves a chunk it is still downloading; the stream ends a tail after its source', async () => {
    // one upload slot each: the seeder serves a, b must get the chunk from a
    const w = world({ uploadSlots: 1 });
    const s = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const a = w.addNode({ id: 'a', uploadBps: 10_000_000, downloadBps: 10_000_000 });
    const b = w.addNode({ id: 'b', uploadBps: 10_000_000, downloadBps: 10_000_000 });
    await started(s, a, b);
    const f = folder(s, 'c', bytes(9, 16 * P), bytes(10, 10));
    await s.adapters.torrent.seed(f.torrent, '/data');
    const da = a.adapters.torrent.add(f.magnet, '/data');
    const wa = probe(da.downloadPieces(0, 16));
    await w.runForAsync(200);
    const db = b.adapters.torrent.add(f.magnet, '/data');
    const wb = probe(db.downloadPieces(0, 16));
    await w.runForAsync(30_000);
    expect(wa).toEqual({ done: true, error: undefined });
    expect(wb).toEqual({ done: true, error: undefined });
    const done = Object.fromEntries(records(w, 'swarm.done').map((r) => [r.node, r.t as number]));
    // a: 1.6 MB at 1 MB/s; b: streams behind a, ends 2 pieces (at 10 MB/s: 20 ms) later
    expect(done.a! - T0).toBeGreaterThan(1600);
    expect(done.b! - done.a!).toBeGreaterThanOrEqual(20);
    expect(done.b! - done.a!).toBeLessThan(100);
    // a sent b the chunk (and the info dictionary); the seeder sent it once (and the dictionary)
    expect(a.bytes().up).toBeGreaterThanOrEqual(16 * P);
    expect(a.bytes().up).toBeLessThan(16 * P + 10_000);
    expect(s.bytes().up).toBeLessThan(16 * P + 10_000);
    expect(same(b.adapters.fs.readRange('/data/c/data', 0, 16 * P), f.data.subarray(0, 16 * P))).toBe(true);
  });

  it('a stream whose source is cut short ends with what its uploader got', async () => {
    const w = world({ uploadSlots: 1 });
    const s = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const a = w.addNode({ id: 'a', uploadBps: 10_000_000, downloadBps: 10_000_000 });
    const b = w.addNode({ id: 'b', uploadBps: 10_000_000, downloadBps: 10_000_000 });
    await started(s, a, b);
    const f = folder(s, 'c', bytes(11, 16 * P), bytes(12, 10));
    await s.adapters.torrent.seed(f.torrent, '/data');
    void a.adapters.torrent.add(f.magnet, '/data').downloadPieces(0, 16);
    await w.runForAsync(200);
    const wb = probe(b.adapters.torrent.add(f.magnet, '/data').downloadPieces(0, 16));
    await w.runForAsync(500);
    // the seeder leaves: a's download stops with what arrived, b's stream with what a had
    await s.adapters.torrent.stop();
    const aHeld = held(w, 'a', f.infoHash).slice(0, 16);
    const bHeld = held(w, 'b', f.infoHash).slice(0, 16);
    const got = aHeld.reduce((x, y) => x + y, 0);
    expect(got).toBeGreaterThan(0);
    expect(got).toBeLessThan(16);
    expect(bHeld.reduce((x, y) => x + y, 0)).toBeLessThanOrEqual(got);
    for (let p = 0; p < 16; p++) if (bHeld[p]) expect(aHeld[p]).toBe(1);
    await w.runForAsync(60_000);
    expect(wb.done).toBe(false);
    // back: both complete
    await s.adapters.torrent.start();
    await s.adapters.torrent.seed(f.torrent, '/data');
    await w.runForAsync(30 * 60_000);
    expect(wb).toEqual({ done: true, error: undefined });
    expect(same(b.adapters.fs.readRange('/data/c/data', 0, 16 * P), f.data.subarray(0, 16 * P))).toBe(true);
  });

  it('50 leechers all finish with the seeder bytes, mostly served by each other, in few flows', async () => {
    const w = new SimWorld({ seed: 3, startTime: T0, swarm: { model: 'flow', tracePieces: false } });
    const seeder = w.addNode({ id: 's', uploadBps: 1_000_000 });
    await seeder.adapters.torrent.start();
    const f = folder(seeder, 'c', bytes(13, 64 * P), bytes(14, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const n = w.addNode({ id: `l${i}`, uploadBps: 1_000_000, downloadBps: 5_000_000 });
      await n.adapters.torrent.start();
      waits.push(n.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    }
    const e0 = w.kernel.processed;
    await w.runForAsync(3600_000);
    await Promise.all(waits);
    expect(seeder.bytes().up).toBeLessThan(50 * 64 * P * 0.2);
    for (const n of w.nodes().slice(1)) expect(same(n.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
    // 50 leechers x 4 chunks, two events a flow, plus metadata, announces
    expect(w.kernel.processed - e0).toBeLessThan(50 * 4 * 2 * 2);
  });
});

describe('flow-level swarm: leaving and crashing', () => {
  it('cancel rejects the wait and deselects its pieces; remove rejects the rest; crash never settles', async () => {
    const w = world();
    const s = w.addNode({ id: 's', uploadBps: 100_000 });
    const l = w.addNode({ id: 'l' });
    const m = w.addNode({ id: 'm' });
    await started(s, l, m);
    const f = folder(s, 'c', bytes(15, 8 * P), bytes(16, 10));
    await s.adapters.torrent.seed(f.torrent, '/data');
    const dl = l.adapters.torrent.add(f.magnet, '/data');
    const ac = new AbortController();
    const cancelled = dl.downloadPieces(0, 8, ac.signal);
    cancelled.catch(() => {});
    await w.runForAsync(1500);
    ac.abort(new Error('stop'));
    await expect(cancelled).rejects.toThrow('stop');
    expect(records(w, 'swarm.abort').length).toBeGreaterThan(0);
    const other = dl.downloadPieces(0, 8);
    other.catch(() => {});
    await l.adapters.torrent.remove(f.infoHash);
    await expect(other).rejects.toThrow('removed');
    // m crashes mid-download: its wait never settles, the others go on
    const pm = probe(m.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(500);
    m.crash();
    await w.runForAsync(120_000);
    expect(pm.done).toBe(false);
    expect(w.swarm.activeTransfers()).toBe(0);
  });
});
