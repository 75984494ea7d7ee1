// Contract of the TorrentClient port, for any implementation (simulated swarm, BitTorrent over TCP).
// The fixture gives two or more peers that can reach each other, each with its own
// FileSystem and folder for community folders; the suite writes the files, builds the
// .torrent itself (multi-file, `data` then `index`, as protocol.md §4) and lets time pass
// with `settle(ms)`. Clients are handed over stopped; the suite starts and stops them.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { FileSystem } from '../../ports/filesystem.ts';
import type { TorrentClient, TorrentProgress } from '../../ports/torrent.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../../sim/torrent-file.ts';

export interface TorrentPeer {
  client: TorrentClient;
  fs: FileSystem;
  /** Parent folder of community folders (`<dir>/<name>/{data,index}`). */
  dir: string;
}

export interface TorrentFixture {
  /** At least two peers. */
  peers: TorrentPeer[];
  settle(ms: number): Promise<void>;
  teardown?(): Promise<void> | void;
}

export const CONTRACT_PIECE = 16384;

/** Deterministic pseudo-random bytes (SHA-256 in counter mode). */
export function contractBytes(label: string, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = createHash('sha256').update(`${label}/${block}`).digest();
    out.set(h.subarray(0, Math.min(32, n - i)), i);
    i += 32;
  }
  return out;
}

interface Folder {
  name: string;
  data: Uint8Array;
  index: Uint8Array;
  torrent: Uint8Array;
  infoHash: string;
  magnet: string;
}

function makeFolder(peer: TorrentPeer, name: string, data: Uint8Array, index: Uint8Array): Folder {
  const dir = `${peer.dir}/${name}`;
  peer.fs.mkdirp(dir);
  peer.fs.writeAtomic(`${dir}/data`, data);
  peer.fs.writeAtomic(`${dir}/index`, index);
  const torrent = buildTorrentFile(name, CONTRACT_PIECE, [
    { path: 'data', bytes: data },
    { path: 'index', bytes: index },
  ]);
  const infoHash = parseTorrentFile(torrent).infoHash;
  return { name, data, index, torrent, infoHash, magnet: magnetFor(infoHash, name) };
}

async function settleUntil<T>(fx: TorrentFixture, p: Promise<T>, maxMs = 60_000): Promise<T> {
  let state: 'pending' | 'ok' | 'err' = 'pending';
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      state = 'ok';
      value = v;
    },
    (e) => {
      state = 'err';
      error = e;
    },
  );
  for (let waited = 0; state === 'pending' && waited < maxMs; waited += 100) await fx.settle(100);
  if (state === 'pending') throw new Error(`still pending after ${maxMs} ms`);
  if (state === 'err') throw error;
  return value as T;
}

function eq(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

export function describeTorrentContract(name: string, factory: () => Promise<TorrentFixture>): void {
  describe(`TorrentClient contract: ${name}`, () => {
    async function withPeers(
      fn: (fx: TorrentFixture, seeder: TorrentPeer, leecher: TorrentPeer) => Promise<void>,
    ) {
      const fx = await factory();
      expect(fx.peers.length).toBeGreaterThanOrEqual(2);
      const [seeder, leecher] = fx.peers as [TorrentPeer, TorrentPeer];
      try {
        await seeder.client.start();
        await leecher.client.start();
        await fn(fx, seeder, leecher);
      } finally {
        for (const p of fx.peers) if (p.client.running) await p.client.stop();
        await fx.teardown?.();
      }
    }

    it('starts and stops', async () => {
      const fx = await factory();
      try {
        const c = fx.peers[0]!.client;
        expect(c.running).toBe(false);
        await c.start();
        expect(c.running).toBe(true);
        await c.stop();
        expect(c.running).toBe(false);
      } finally {
        await fx.teardown?.();
      }
    });

    it('seeds a folder under its info-hash, and a magnet gives the metadata', () =>
      withPeers(async (fx, seeder, leecher) => {
        const f = makeFolder(
          seeder,
          'community-meta',
          contractBytes('meta-data', 5 * CONTRACT_PIECE),
          contractBytes('meta-index', 3000),
        );
        const ih = await settleUntil(fx, seeder.client.seed(f.torrent, seeder.dir));
        expect(ih).toBe(f.infoHash);
        expect(ih).toMatch(/^[0-9a-f]{40}$/);
        expect(seeder.client.active()).toContain(ih);
        const dl = leecher.client.add(f.magnet, leecher.dir);
        expect(dl.infoHash).toBe(ih);
        expect(leecher.client.active()).toContain(ih);
        const meta = await settleUntil(fx, dl.metadata());
        expect(meta.infoHash).toBe(ih);
        expect(meta.name).toBe('community-meta');
        expect(meta.pieceLength).toBe(CONTRACT_PIECE);
        expect(meta.pieceCount).toBe(6);
        expect(meta.files).toEqual([
          { path: 'data', length: 5 * CONTRACT_PIECE, offset: 0 },
          { path: 'index', length: 3000, offset: 5 * CONTRACT_PIECE },
        ]);
      }));

    it('downloads one file, verified, into <dir>/<name>/<path>', () =>
      withPeers(async (fx, seeder, leecher) => {
        const f = makeFolder(
          seeder,
          'community-file',
          contractBytes('file-data', 4 * CONTRACT_PIECE),
          contractBytes('file-index', 5000),
        );
        await settleUntil(fx, seeder.client.seed(f.torrent, seeder.dir));
        const dl = leecher.client.add(f.magnet, leecher.dir);
        await settleUntil(fx, dl.downloadFile('index'));
        const got = leecher.fs.read(`${leecher.dir}/community-file/index`);
        expect(eq(got, f.index)).toBe(true);
        const stats = leecher.client.stats();
        expect(stats.bytesDown).toBeGreaterThanOrEqual(f.index.length);
        await expect(settleUntil(fx, dl.downloadFile('no-such-file'))).rejects.toThrow();
      }));

    it('downloads a piece range with progress events; the range reads back right', () =>
      withPeers(async (fx, seeder, leecher) => {
        const data = contractBytes('range-data', 8 * CONTRACT_PIECE);
        const f = makeFolder(seeder, 'community-range', data, contractBytes('range-index', 100));
        await settleUntil(fx, seeder.client.seed(f.torrent, seeder.dir));
        const dl = leecher.client.add(f.magnet, leecher.dir);
        await settleUntil(fx, dl.metadata());
        const seen: TorrentProgress[] = [];
        const off = dl.onProgress((p) => seen.push(p));
        await settleUntil(fx, dl.downloadPieces(2, 5));
        off();
        const got = leecher.fs.readRange(
          `${leecher.dir}/community-range/data`,
          2 * CONTRACT_PIECE,
          3 * CONTRACT_PIECE,
        );
        expect(eq(got, data.subarray(2 * CONTRACT_PIECE, 5 * CONTRACT_PIECE))).toBe(true);
        expect(seen.length).toBeGreaterThan(0);
        expect(seen.every((p) => p.infoHash === f.infoHash)).toBe(true);
        expect(seen.at(-1)!.piecesHave).toBeGreaterThanOrEqual(3);
        for (let i = 1; i < seen.length; i++)
          expect(seen[i]!.piecesHave).toBeGreaterThanOrEqual(seen[i - 1]!.piecesHave);
        expect(leecher.client.stats().bytesDown).toBeGreaterThanOrEqual(3 * CONTRACT_PIECE);
        expect(seeder.client.stats().bytesUp).toBeGreaterThanOrEqual(3 * CONTRACT_PIECE);
      }));

    it('keeps pieces already present with the right hash (a new round re-uses earlier pieces)', () =>
      withPeers(async (fx, seeder, leecher) => {
        const round1 = contractBytes('reuse-data', 6 * CONTRACT_PIECE);
        const round2 = new Uint8Array(8 * CONTRACT_PIECE);
        round2.set(round1);
        round2.set(contractBytes('reuse-more', 2 * CONTRACT_PIECE), 6 * CONTRACT_PIECE);
        // the leecher holds round 1's data already
        leecher.fs.mkdirp(`${leecher.dir}/community-reuse`);
        leecher.fs.writeAtomic(`${leecher.dir}/community-reuse/data`, round1);
        const f = makeFolder(seeder, 'community-reuse', round2, contractBytes('reuse-index', 700));
        await settleUntil(fx, seeder.client.seed(f.torrent, seeder.dir));
        const before = leecher.client.stats().bytesDown;
        const dl = leecher.client.add(f.magnet, leecher.dir);
        await settleUntil(fx, dl.downloadFile('data'));
        const fetched = leecher.client.stats().bytesDown - before;
        expect(eq(leecher.fs.read(`${leecher.dir}/community-reuse/data`), round2)).toBe(true);
        // the two new pieces at least, but clearly not the six old ones again
        expect(fetched).toBeGreaterThanOrEqual(2 * CONTRACT_PIECE);
        expect(fetched).toBeLessThan(5 * CONTRACT_PIECE);
      }));

    it('rejects a metadata wait when its signal aborts (no peer has the torrent)', () =>
      withPeers(async (fx, _seeder, leecher) => {
        const unknown = createHash('sha1').update('nobody seeds this').digest('hex');
        const dl = leecher.client.add(magnetFor(unknown, 'nobody'), leecher.dir);
        const ac = new AbortController();
        const p = dl.metadata(ac.signal);
        let settled = false;
        p.then(
          () => {
            settled = true;
          },
          () => {
            settled = true;
          },
        );
        await fx.settle(300);
        expect(settled).toBe(false);
        ac.abort(new Error('gave up'));
        await expect(settleUntil(fx, p)).rejects.toThrow();
      }));

    it('removes a torrent: no longer active, files stay', () =>
      withPeers(async (fx, seeder, leecher) => {
        const f = makeFolder(
          seeder,
          'community-remove',
          contractBytes('rm-data', 2 * CONTRACT_PIECE),
          contractBytes('rm-index', 10),
        );
        await settleUntil(fx, seeder.client.seed(f.torrent, seeder.dir));
        const dl = leecher.client.add(f.magnet, leecher.dir);
        await settleUntil(fx, dl.downloadFile('data'));
        await leecher.client.remove(f.infoHash);
        expect(leecher.client.active()).not.toContain(f.infoHash);
        expect(eq(leecher.fs.read(`${leecher.dir}/community-remove/data`), f.data)).toBe(true);
        await seeder.client.remove(f.infoHash);
        expect(seeder.client.active()).toEqual([]);
        await leecher.client.remove(f.infoHash); // unknown now: no-op
      }));
  });
}
