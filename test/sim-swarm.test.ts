import { describe, expect, it } from 'vitest';
import { type SimNode, SimWorld } from '../adapters/sim/world.ts';
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

interface Folder {
  data: Uint8Array;
  index: Uint8Array;
  torrent: Uint8Array;
  infoHash: string;
  magnet: string;
}

function folder(node: SimNode, name: string, data: Uint8Array, index: Uint8Array): Folder {
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

function world(seed = 1) {
  return new SimWorld({ seed, startTime: T0, network: { latency: { kind: 'fixed', ms: 10 } } });
}

async function started(w: SimWorld, ...nodes: SimNode[]): Promise<void> {
  for (const n of nodes) await n.adapters.torrent.start();
  void w;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** Resolve-or-pending probe of a promise. */
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

describe('swarm: bandwidth', () => {
  it('one transfer runs at the uploader rate; the time matches size / rate', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const leecher = w.addNode({ id: 'l', downloadBps: 10_000_000 });
    await started(w, seeder, leecher);
    const f = folder(seeder, 'c', bytes(1, 10 * P), bytes(2, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const dl = leecher.adapters.torrent.add(f.magnet, '/data');
    const t0 = w.kernel.now();
    const done = probe(dl.downloadFile('data'));
    await w.runForAsync(10_000);
    expect(done).toEqual({ done: true, error: undefined });
    const finish = w.trace
      .lines()
      .filter((l) => l.includes('"kind":"swarm.done"'))
      .map((l) => JSON.parse(l).t as number);
    const elapsed = finish[0]! - t0;
    // 1 MB at 1 MB/s, plus metadata (two latencies) and request latencies
    expect(elapsed).toBeGreaterThanOrEqual(1000);
    expect(elapsed).toBeLessThan(1100);
    expect(leecher.bytes().down).toBeGreaterThanOrEqual(10 * P);
    expect(seeder.bytes().up).toBe(leecher.bytes().down);
  });

  it('a slow downloader bounds the rate; concurrent downloads share the uploader', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 2_000_000 });
    const slow = w.addNode({ id: 'slow', downloadBps: 500_000 });
    await started(w, seeder, slow);
    const f = folder(seeder, 'c', bytes(3, 5 * P), bytes(4, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const t0 = w.kernel.now();
    void slow.adapters.torrent.add(f.magnet, '/data').downloadFile('data');
    await w.runForAsync(60_000);
    const t = JSON.parse(w.trace.lines().find((l) => l.includes('"kind":"swarm.done"'))!).t - t0;
    expect(t).toBeGreaterThanOrEqual(1000); // 500 KB at 500 KB/s
    expect(t).toBeLessThan(1100);

    // two fast leechers that do not upload (0 B/s: leech only): the 2 MB/s uploader is
    // shared, so 1 MB each takes ~1 s
    const w2 = world();
    const s2 = w2.addNode({ id: 's', uploadBps: 2_000_000 });
    const a = w2.addNode({ id: 'a', downloadBps: 50_000_000, uploadBps: 0 });
    const b = w2.addNode({ id: 'b', downloadBps: 50_000_000, uploadBps: 0 });
    await started(w2, s2, a, b);
    const g = folder(s2, 'c', bytes(5, 10 * P), bytes(6, 10));
    await s2.adapters.torrent.seed(g.torrent, '/data');
    const t1 = w2.kernel.now();
    void a.adapters.torrent.add(g.magnet, '/data').downloadFile('data');
    void b.adapters.torrent.add(g.magnet, '/data').downloadFile('data');
    await w2.runForAsync(60_000);
    const ends = w2.trace
      .lines()
      .filter((l) => l.includes('"kind":"swarm.done"'))
      .map((l) => JSON.parse(l).t - t1);
    expect(ends.length).toBe(2);
    // (a downloader whose remaining pieces nobody else wants fetches them in longer runs,
    // with fewer request round trips, so the two do not end at quite the same time)
    for (const e of ends) {
      expect(e).toBeGreaterThan(800);
      expect(e).toBeLessThan(1300);
    }
  });
});

describe('swarm: files and verification', () => {
  it('writes downloaded pieces as references to the seeder buffers and reads back exact', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's' });
    const leecher = w.addNode({ id: 'l' });
    await started(w, seeder, leecher);
    const f = folder(seeder, 'c', bytes(7, 6 * P), bytes(8, 1234));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const dl = leecher.adapters.torrent.add(f.magnet, '/data');
    const all = Promise.all([dl.downloadFile('data'), dl.downloadFile('index')]);
    await w.runForAsync(30_000);
    await all;
    const fs = leecher.sim.fs;
    expect(same(fs.read('/data/c/data'), f.data)).toBe(true);
    expect(same(fs.read('/data/c/index'), f.index)).toBe(true);
    const seederBuffers = new Set(seeder.sim.fs.chunks('/data/c/data').map((c) => c.buffer));
    for (const c of fs.chunks('/data/c/data')) expect(seederBuffers.has(c.buffer)).toBe(true);
  });

  it('a partially downloaded file reads right in the fetched range', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's' });
    const leecher = w.addNode({ id: 'l' });
    await started(w, seeder, leecher);
    const f = folder(seeder, 'c', bytes(9, 10 * P), bytes(10, 50));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const dl = leecher.adapters.torrent.add(f.magnet, '/data');
    const meta = dl.metadata();
    await w.runForAsync(1000);
    await meta;
    const part = dl.downloadPieces(3, 6);
    await w.runForAsync(30_000);
    await part;
    const fs = leecher.adapters.fs;
    expect(fs.size('/data/c/data')).toBe(10 * P);
    expect(same(fs.readRange('/data/c/data', 3 * P, 3 * P), f.data.subarray(3 * P, 6 * P))).toBe(true);
    const held = w.swarm.piecesHeld('l', f.infoHash)!;
    expect([...held]).toEqual([0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0]);
  });

  it('detects a corrupted piece by SHA-1 and fetches it again', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's' });
    const leecher = w.addNode({ id: 'l' });
    await started(w, seeder, leecher);
    const f = folder(seeder, 'c', bytes(11, 4 * P), bytes(12, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    w.swarm.corruptNextPiece('s', 2);
    const dl = leecher.adapters.torrent.add(f.magnet, '/data');
    const done = dl.downloadFile('data');
    await w.runForAsync(30_000);
    await done;
    expect(same(leecher.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
    expect(w.swarm.stats('l').badPieces).toBe(2);
    expect(w.trace.lines().filter((l) => l.includes('"kind":"swarm.badpiece"')).length).toBe(2);
    // the two bad pieces were paid for twice
    expect(leecher.bytes().down).toBeGreaterThanOrEqual(6 * P);
  });

  it('a seeder whose files do not match serves only the pieces that verify', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's' });
    const leecher = w.addNode({ id: 'l' });
    await started(w, seeder, leecher);
    const f = folder(seeder, 'c', bytes(13, 4 * P), bytes(14, 10));
    const damaged = f.data.slice();
    damaged[2 * P + 5] = (damaged[2 * P + 5] ?? 0) ^ 1;
    seeder.adapters.fs.writeAtomic('/data/c/data', damaged);
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    expect([...w.swarm.piecesHeld('s', f.infoHash)!]).toEqual([1, 1, 0, 1, 1]);
    const dl = leecher.adapters.torrent.add(f.magnet, '/data');
    const p = probe(dl.downloadFile('data'));
    await w.runForAsync(60_000);
    expect(p.done).toBe(false);
    expect([...w.swarm.piecesHeld('l', f.infoHash)!]).toEqual([1, 1, 0, 1, 0]);
  });

  it('re-uses pieces of an earlier round already in the folder', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's' });
    const member = w.addNode({ id: 'm' });
    await started(w, seeder, member);
    const r1 = folder(seeder, 'c', bytes(15, 5 * P), bytes(16, 10));
    await seeder.adapters.torrent.seed(r1.torrent, '/data');
    const d1 = member.adapters.torrent.add(r1.magnet, '/data').downloadFile('data');
    await w.runForAsync(30_000);
    await d1;
    const after1 = member.bytes().down;
    // round 2 appends two pieces
    const data2 = new Uint8Array(7 * P);
    data2.set(r1.data);
    data2.set(bytes(17, 2 * P), 5 * P);
    const r2 = folder(seeder, 'c', data2, bytes(18, 20));
    await seeder.adapters.torrent.remove(r1.infoHash);
    await seeder.adapters.torrent.seed(r2.torrent, '/data');
    await member.adapters.torrent.remove(r1.infoHash);
    const d2 = member.adapters.torrent.add(r2.magnet, '/data').downloadFile('data');
    await w.runForAsync(30_000);
    await d2;
    const fetched = member.bytes().down - after1;
    expect(fetched).toBeGreaterThanOrEqual(2 * P);
    expect(fetched).toBeLessThan(3 * P);
    expect(same(member.adapters.fs.read('/data/c/data'), data2)).toBe(true);
    expect(w.trace.lines().some((l) => l.includes('"kind":"swarm.reuse"') && l.includes('"pieces":5'))).toBe(
      true,
    );
  });
});

describe('swarm: peers joining and leaving', () => {
  it('learns metadata and pieces from any peer that has them, not only the seeder', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's' });
    const a = w.addNode({ id: 'a' });
    const b = w.addNode({ id: 'b' });
    await started(w, seeder, a, b);
    const f = folder(seeder, 'c', bytes(19, 6 * P), bytes(20, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const da = a.adapters.torrent.add(f.magnet, '/data');
    const first = da.downloadPieces(0, 3);
    await w.runForAsync(30_000);
    await first;
    await seeder.adapters.torrent.stop(); // the seeder leaves
    const db = b.adapters.torrent.add(f.magnet, '/data');
    const meta = probe(db.metadata());
    const part = probe(db.downloadPieces(0, 3));
    const rest = probe(db.downloadPieces(3, 6));
    await w.runForAsync(60_000);
    expect(meta).toEqual({ done: true, error: undefined });
    expect(part).toEqual({ done: true, error: undefined });
    expect(rest.done).toBe(false); // nobody holds pieces 3..5 any more
    expect([...w.swarm.piecesHeld('b', f.infoHash)!]).toEqual([1, 1, 1, 0, 0, 0, 0]);
    expect(a.bytes().up).toBeGreaterThanOrEqual(3 * P);
    // the seeder comes back: b completes
    await seeder.adapters.torrent.start();
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    await w.runForAsync(30 * 60_000);
    expect(rest).toEqual({ done: true, error: undefined });
  });

  it('an offline leecher stalls, transfers abort, and it resumes when back online', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 100_000 });
    const l = w.addNode({ id: 'l' });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(21, 5 * P), bytes(22, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(1500);
    l.goOffline();
    expect(w.swarm.activeTransfers()).toBe(0);
    const heldOffline = [...w.swarm.piecesHeld('l', f.infoHash)!].reduce((x, y) => x + y, 0);
    await w.runForAsync(60_000);
    expect([...w.swarm.piecesHeld('l', f.infoHash)!].reduce((x, y) => x + y, 0)).toBe(heldOffline);
    expect(done.done).toBe(false);
    l.goOnline();
    await w.runForAsync(60_000);
    expect(done).toEqual({ done: true, error: undefined });
    expect(w.trace.lines().some((x) => x.includes('"kind":"swarm.abort"'))).toBe(true);
  });

  it('a partition stops transfers across it until healed', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's' });
    const l = w.addNode({ id: 'l' });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(23, 3 * P), bytes(24, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    w.network.partition([['s'], ['l']]);
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(120_000);
    expect(done.done).toBe(false);
    w.network.heal();
    await w.runForAsync(60 * 60_000);
    expect(done).toEqual({ done: true, error: undefined });
  });

  it('cancel through an AbortSignal rejects the wait and deselects its pieces; remove rejects the rest', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 100_000 });
    const l = w.addNode({ id: 'l' });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(25, 8 * P), bytes(26, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const dl = l.adapters.torrent.add(f.magnet, '/data');
    const ac = new AbortController();
    const cancelled = dl.downloadPieces(0, 8, ac.signal);
    cancelled.catch(() => {});
    await w.runForAsync(1500);
    ac.abort(new Error('stop'));
    await expect(cancelled).rejects.toThrow('stop');
    await w.runForAsync(60_000);
    const held = [...w.swarm.piecesHeld('l', f.infoHash)!].reduce((x, y) => x + y, 0);
    expect(held).toBeLessThan(8);
    const other = dl.downloadPieces(0, 8);
    other.catch(() => {});
    await l.adapters.torrent.remove(f.infoHash);
    await expect(other).rejects.toThrow('removed');
  });

  it('crash drops sessions without settling their promises; restart needs start()', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 100_000 });
    const l = w.addNode({ id: 'l' });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(27, 4 * P), bytes(28, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const p = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(500);
    l.crash();
    expect(l.adapters.torrent.running).toBe(false);
    expect(l.adapters.torrent.active()).toEqual([]);
    await w.runForAsync(60_000);
    expect(p.done).toBe(false);
    l.restart();
    expect(() => l.adapters.torrent.add(f.magnet, '/data')).toThrow();
    await l.adapters.torrent.start();
    const again = l.adapters.torrent.add(f.magnet, '/data').downloadFile('data');
    await w.runForAsync(60_000);
    await again;
    expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
  });
});

describe('swarm: many peers', () => {
  it('50 leechers with limited upload all finish, mostly served by each other', async () => {
    const w = new SimWorld({ seed: 3, startTime: T0, swarm: { tracePieces: false } });
    const seeder = w.addNode({ id: 's', uploadBps: 1_000_000 });
    await seeder.adapters.torrent.start();
    const f = folder(seeder, 'c', bytes(29, 20 * P), bytes(30, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const waits: Promise<void>[] = [];
    for (let i = 0; i < 50; i++) {
      const n = w.addNode({ id: `l${i}`, uploadBps: 1_000_000, downloadBps: 5_000_000 });
      await n.adapters.torrent.start();
      waits.push(n.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    }
    await w.runForAsync(3600_000);
    await Promise.all(waits);
    expect(seeder.bytes().up).toBeLessThan(50 * 20 * P * 0.5);
    for (const n of w.nodes().slice(1)) expect(same(n.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
  });
});

/** The first trace record of this kind (with these field values). */
function firstRecord(
  w: SimWorld,
  kind: string,
  match: Record<string, unknown> = {},
): Record<string, unknown> {
  for (const l of w.trace.lines()) {
    const r = JSON.parse(l) as Record<string, unknown>;
    if (r.kind === kind && Object.entries(match).every(([k, v]) => r[k] === v)) return r;
  }
  throw new Error(`no ${kind} record`);
}

function records(w: SimWorld, kind: string): Record<string, unknown>[] {
  return w.trace
    .lines()
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((r) => r.kind === kind);
}

describe('swarm: runs of pieces per transfer', () => {
  it('a run cut short keeps exactly the pieces whose bytes had fully arrived', async () => {
    // one run of the 10 data pieces at 1 MB/s: piece k is whole at request + 100 (k + 1) ms
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const l = w.addNode({ id: 'l', downloadBps: 50_000_000 });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(31, 10 * P), bytes(32, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(100);
    const wantAt = firstRecord(w, 'swarm.want', { node: 'l' }).t as number;
    const requestArrives = wantAt + 10; // one fixed link latency
    const metaBytes = l.bytes().down; // the info dictionary; pieces count when they stop flowing
    await w.runUntilAsync(requestArrives + 350);
    l.goOffline();
    const abort = firstRecord(w, 'swarm.abort', { to: 'l' });
    expect(abort).toMatchObject({ p: 0, end: 10, kept: 3 });
    expect([...w.swarm.piecesHeld('l', f.infoHash)!]).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
    // the bytes that flowed are paid for, whole pieces or not
    expect(l.bytes().down - metaBytes).toBe(350_000);
    expect(seeder.bytes().up).toBe(l.bytes().down);
    // back online, only the 7 missing pieces are fetched
    l.goOnline();
    await w.runForAsync(60_000);
    expect(done).toEqual({ done: true, error: undefined });
    expect(l.bytes().down - metaBytes).toBe(350_000 + 7 * P);
    expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
  });

  it('a run cut before its first piece is whole keeps nothing', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const l = w.addNode({ id: 'l', downloadBps: 50_000_000 });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(33, 10 * P), bytes(34, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    void l.adapters.torrent.add(f.magnet, '/data').downloadFile('data');
    await w.runForAsync(100);
    const wantAt = firstRecord(w, 'swarm.want', { node: 'l' }).t as number;
    const metaBytes = l.bytes().down;
    await w.runUntilAsync(wantAt + 10 + 99);
    await seeder.adapters.torrent.stop(); // the uploader leaves mid-run
    expect(firstRecord(w, 'swarm.abort', { to: 'l' })).toMatchObject({ p: 0, end: 10, kept: 0 });
    expect([...w.swarm.piecesHeld('l', f.infoHash)!].every((x) => x === 0)).toBe(true);
    expect(l.bytes().down - metaBytes).toBe(99_000);
  });

  it('a corrupted piece inside a run fails alone: the rest of the run is kept and only it is fetched again', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const l = w.addNode({ id: 'l' });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(35, 10 * P), bytes(36, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    w.swarm.corruptNextPiece('s', 1);
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(100);
    const metaBytes = l.bytes().down;
    await w.runForAsync(60_000);
    expect(done).toEqual({ done: true, error: undefined });
    expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
    expect(w.swarm.stats('l').badPieces).toBe(1);
    const bad = records(w, 'swarm.badpiece');
    expect(bad).toHaveLength(1);
    const badPiece = bad[0]!.p as number;
    // the first run delivered the other 9 pieces of [0, 10); a second run fetched the bad one alone
    expect(records(w, 'swarm.piece').map((r) => [r.p, r.end, r.gained])).toEqual([
      [0, 10, 9],
      [badPiece, badPiece + 1, 1],
    ]);
    expect(l.bytes().down - metaBytes).toBe(11 * P);
  });

  it('the next N corrupted pieces of a fault all fall in one run and each is re-fetched', async () => {
    const w = world();
    const seeder = w.addNode({ id: 's', uploadBps: 1_000_000 });
    const l = w.addNode({ id: 'l' });
    await started(w, seeder, l);
    const f = folder(seeder, 'c', bytes(37, 10 * P), bytes(38, 10));
    await seeder.adapters.torrent.seed(f.torrent, '/data');
    w.swarm.corruptNextPiece('s', 3);
    const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
    await w.runForAsync(100);
    const metaBytes = l.bytes().down;
    await w.runForAsync(60_000);
    expect(done).toEqual({ done: true, error: undefined });
    expect(records(w, 'swarm.badpiece').map((r) => r.p)).toEqual([0, 1, 2]);
    expect(l.bytes().down - metaBytes).toBe(13 * P);
    expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
  });

  it('one seeder and 30 leechers: runs of pieces give the per-piece result with fewer events', async () => {
    async function swarmOf(piecesPerTransfer: number) {
      const w = new SimWorld({
        seed: 7,
        startTime: T0,
        network: { latency: { kind: 'fixed', ms: 20 } },
        swarm: { tracePieces: false, piecesPerTransfer },
      });
      const seeder = w.addNode({ id: 's', uploadBps: 2_000_000 });
      await seeder.adapters.torrent.start();
      const f = folder(seeder, 'c', bytes(39, 64 * P), bytes(40, 10));
      await seeder.adapters.torrent.seed(f.torrent, '/data');
      const finished: number[] = [];
      w.trace.onRecord((r) => {
        if (r.kind === 'swarm.done') finished.push(r.t - T0);
      });
      const waits: Promise<void>[] = [];
      for (let i = 0; i < 30; i++) {
        const n = w.addNode({ id: `l${i}`, uploadBps: 1_000_000, downloadBps: 5_000_000 });
        await n.adapters.torrent.start();
        waits.push(n.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
      }
      const e0 = w.kernel.processed;
      await w.runForAsync(3600_000);
      await Promise.all(waits);
      for (const n of w.nodes().slice(1)) {
        expect(same(n.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
        expect([...w.swarm.piecesHeld(n.id, f.infoHash)!].slice(0, 64).every((x) => x === 1)).toBe(true);
      }
      const down = w
        .nodes()
        .slice(1)
        .reduce((a, n) => a + n.bytes().down, 0);
      return {
        events: w.kernel.processed - e0,
        last: Math.max(...finished),
        median: finished.sort((a, b) => a - b)[15]!,
        seederUp: seeder.bytes().up,
        down,
        infoLength: parseTorrentFile(f.torrent).infoLength,
      };
    }
    const perPiece = await swarmOf(1);
    const runs = await swarmOf(16);
    // every leecher fetched each piece once, plus the info dictionary
    expect(runs.down).toBe(30 * (64 * P + runs.infoLength));
    expect(perPiece.down).toBe(runs.down);
    // the lower bound of both: the seeder must send every piece at least once
    expect(runs.seederUp).toBeGreaterThanOrEqual(64 * P);
    // same shape of result: finish times within 25 % of the per-piece model
    expect(Math.abs(runs.last - perPiece.last) / perPiece.last).toBeLessThan(0.25);
    expect(Math.abs(runs.median - perPiece.median) / perPiece.median).toBeLessThan(0.25);
    // and fewer kernel events (a small swarm is all contested pieces: most travel alone)
    expect(runs.events).toBeLessThan(perPiece.events);
  });
});

describe('swarm: cost of a download', () => {
  it('a lone downloader gets a 64-piece file in runs: a few events instead of two per piece', async () => {
    async function eventsFor(piecesPerTransfer: number): Promise<number> {
      const w = new SimWorld({
        seed: 9,
        startTime: T0,
        network: { latency: { kind: 'fixed', ms: 10 } },
        swarm: { piecesPerTransfer },
      });
      const seeder = w.addNode({ id: 's' });
      const l = w.addNode({ id: 'l' });
      await started(w, seeder, l);
      const f = folder(seeder, 'c', bytes(41, 64 * P), bytes(42, 10));
      await seeder.adapters.torrent.seed(f.torrent, '/data');
      const done = probe(l.adapters.torrent.add(f.magnet, '/data').downloadFile('data'));
      const e0 = w.kernel.processed;
      await w.runForAsync(600_000);
      expect(done).toEqual({ done: true, error: undefined });
      expect(same(l.adapters.fs.read('/data/c/data'), f.data)).toBe(true);
      return w.kernel.processed - e0;
    }
    const perPiece = await eventsFor(1);
    const runs = await eventsFor(16);
    expect(perPiece).toBeGreaterThanOrEqual(2 * 64);
    // 4 runs of 16 pieces: a request and a completion each, plus metadata and announces
    expect(runs).toBeLessThan(20);
  });

  it('rejects a piecesPerTransfer that is not a whole number >= 1', () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      expect(() => new SimWorld({ seed: 1, startTime: T0, swarm: { piecesPerTransfer: bad } })).toThrow(
        /piecesPerTransfer/,
      );
    }
  });
});
