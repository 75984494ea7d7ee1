// The webtorrent TorrentClient on 127.0.0.1: seeding an archive-shaped folder, magnet with a
// given peer, index first, piece ranges, reuse of pieces already on disk, cancel, counters,
// and refusal of hostile torrents before any file is written.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { parseMagnet, TorrentRefused, WebTorrentClient } from '../adapters/real/webtorrent-client.ts';
import { describeTorrentContract } from './contract/torrent.contract.ts';
import { plainWebTorrent, writeFolderTorrent } from './fixtures/real-torrent.ts';

const P = 102_400;
const NAME = '0x02aa00000000000000000000000000000000000000000000000000000000000001';
let root: string;
const clients: WebTorrentClient[] = [];
function client(): WebTorrentClient {
  const c = new WebTorrentClient();
  clients.push(c);
  return c;
}

function bytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const data = bytes(P * 12, 1);
const index = bytes(3000, 2);

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'archivist-wt-'));
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.stop()));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

describe('WebTorrentClient', () => {
  it('parses magnets: hex and base32 info-hashes, dn, x.pe; refuses others', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${'AB'.repeat(20)}&dn=c&x.pe=127.0.0.1:6881&x.pe=bad`);
    expect(m).toEqual({ infoHash: 'ab'.repeat(20), name: 'c', peers: ['127.0.0.1:6881'] });
    expect(parseMagnet('magnet:?xt=urn:btih:VOV2XK5LVOV2XK5LVOV2XK5LVOV2XK5L').infoHash).toBe(
      'ab'.repeat(20),
    );
    expect(() => parseMagnet('magnet:?xt=urn:sha1:abc')).toThrow(TorrentRefused);
    expect(() => parseMagnet('http://x')).toThrow(/not a magnet/);
  });

  it('seeds an archive folder and serves index first, then piece ranges, with counters', async () => {
    const seedDir = join(root, 'seed1');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index);
    const seeder = client();
    await seeder.start();
    expect(await seeder.seed(torrent, seedDir)).toBe(infoHash);
    expect(seeder.active()).toEqual([infoHash]);

    const member = client();
    await member.start();
    const memberDir = join(root, 'member1');
    const dl = member.add(
      `magnet:?xt=urn:btih:${infoHash}&dn=${NAME}&x.pe=127.0.0.1:${seeder.port}`,
      memberDir,
    );
    expect(dl.infoHash).toBe(infoHash);
    const progress: number[] = [];
    dl.onProgress((p) => progress.push(p.piecesHave));
    const meta = await dl.metadata(AbortSignal.timeout(10_000));
    expect(meta).toEqual({
      infoHash,
      name: NAME,
      pieceLength: P,
      pieceCount: 13,
      files: [
        { path: 'data', length: data.length, offset: 0 },
        { path: 'index', length: index.length, offset: data.length },
      ],
    });
    await dl.downloadFile('index', AbortSignal.timeout(10_000));
    expect(readFileSync(join(memberDir, NAME, 'index'))).toEqual(Buffer.from(index));
    const afterIndex = member.stats().bytesDown;
    expect(afterIndex).toBeGreaterThanOrEqual(index.length);
    expect(afterIndex).toBeLessThan(3 * P);

    await dl.downloadPieces(3, 6, AbortSignal.timeout(10_000));
    const got = readFileSync(join(memberDir, NAME, 'data'));
    expect(got.subarray(3 * P, 6 * P)).toEqual(Buffer.from(data.subarray(3 * P, 6 * P)));
    expect(member.stats().bytesDown).toBeLessThan(afterIndex + 4 * P);
    expect(progress.at(-1)).toBe(4); // index piece + pieces 3..5
    expect(seeder.stats().bytesUp).toBeGreaterThanOrEqual(3 * P);

    await expect(dl.downloadFile('nope')).rejects.toThrow(/has no file named nope/);
    await expect(dl.downloadPieces(0, 99)).rejects.toThrow(RangeError);
    await member.remove(infoHash);
    expect(member.active()).toEqual([]);
    await expect(dl.downloadPieces(0, 1)).rejects.toThrow(/removed/);
  });

  it('a download leaves each file exactly as long as the torrent says (an index that shrank)', async () => {
    // A member's folder holds a longer `index` from an earlier torrent (another owner's, a
    // hostile one): the new torrent's shorter index must not keep the old tail after it.
    const seedDir = join(root, 'seed-shrink');
    const shorter = index.subarray(0, 1000);
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, shorter);
    const memberDir = join(root, 'member-shrink');
    mkdirSync(join(memberDir, NAME), { recursive: true });
    writeFileSync(join(memberDir, NAME, 'index'), index);
    writeFileSync(join(memberDir, NAME, 'data'), Buffer.concat([data, bytes(P, 9)]));
    const seeder = client();
    await seeder.start();
    await seeder.seed(torrent, seedDir);
    const member = client();
    await member.start();
    const dl = member.add(
      `magnet:?xt=urn:btih:${infoHash}&dn=${NAME}&x.pe=127.0.0.1:${seeder.port}`,
      memberDir,
    );
    await dl.metadata(AbortSignal.timeout(10_000));
    await dl.downloadFile('index', AbortSignal.timeout(10_000));
    expect(readFileSync(join(memberDir, NAME, 'index'))).toEqual(Buffer.from(shorter));
    expect(readFileSync(join(memberDir, NAME, 'data'))).toEqual(Buffer.from(data));
    // Seeding never trims the seeder's own folder.
    expect(readFileSync(join(seedDir, NAME, 'index'))).toEqual(Buffer.from(shorter));
  });

  it('keeps pieces already on disk and cancels waits through the AbortSignal', async () => {
    const seedDir = join(root, 'seed2');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index);
    const memberDir = join(root, 'member2');
    mkdirSync(join(memberDir, NAME), { recursive: true });
    writeFileSync(join(memberDir, NAME, 'data'), data.subarray(0, 8 * P));

    const member = client();
    await member.start();
    // No peer yet: metadata waits until aborted.
    const dl = member.add(`magnet:?xt=urn:btih:${infoHash}&dn=${NAME}`, memberDir);
    const ac = new AbortController();
    const pending = dl.metadata(ac.signal);
    ac.abort(new Error('metadata timeout'));
    await expect(pending).rejects.toThrow('metadata timeout');

    const seeder = client();
    await seeder.start();
    await seeder.seed(torrent, seedDir);
    member.addPeer(infoHash, `127.0.0.1:${seeder.port}`);
    await dl.metadata(AbortSignal.timeout(10_000));
    const before = member.stats().bytesDown;
    await dl.downloadPieces(0, 8, AbortSignal.timeout(10_000));
    expect(member.stats().bytesDown).toBe(before);
    await expect(dl.downloadPieces(8, 12, AbortSignal.abort(new Error('cancelled')))).rejects.toThrow(
      'cancelled',
    );
    // Cancelling one wait keeps an overlapping one going.
    const ac2 = new AbortController();
    const cancelled = dl.downloadPieces(8, 12, ac2.signal);
    const kept = dl.downloadPieces(10, 13, AbortSignal.timeout(10_000));
    ac2.abort(new Error('cancelled'));
    await expect(cancelled).rejects.toThrow('cancelled');
    await kept;
    await dl.downloadPieces(8, 10, AbortSignal.timeout(10_000));
    expect(readFileSync(join(memberDir, NAME, 'data'))).toEqual(Buffer.from(data));
  });

  it('refuses to seed a folder whose files do not match the torrent', async () => {
    const seedDir = join(root, 'seed3');
    const { torrent } = writeFolderTorrent(seedDir, NAME, data, index);
    writeFileSync(join(seedDir, NAME, 'data'), data.subarray(0, 5 * P)); // 5 data pieces + the index piece
    const seeder = client();
    await seeder.start();
    await expect(seeder.seed(torrent, seedDir)).rejects.toThrow(/match 6 of 13 pieces/);
    expect(seeder.active()).toEqual([]);
  });

  it('refuses a torrent whose file paths leave the community folder, before writing anything', async () => {
    // A hostile seeder (plain webtorrent, no checks) serves files at ../other/data.
    const seedDir = join(root, 'seed4');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index, {
      paths: [['..', 'other', 'data'], ['index']],
    });
    mkdirSync(join(seedDir, 'other'), { recursive: true });
    writeFileSync(join(seedDir, 'other', 'data'), data);
    const ours = client();
    await ours.start();
    await expect(ours.seed(torrent, seedDir)).rejects.toThrow(/leaves the community folder/);

    const hostile = await plainWebTorrent();
    try {
      const t = hostile.add(torrent, { path: seedDir });
      await new Promise((r) => t.once('ready', r));
      const port = hostile.address()!.port;
      const memberDir = join(root, 'member4');
      const dl = ours.add(`magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.1:${port}`, memberDir);
      const err = await dl.metadata(AbortSignal.timeout(10_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TorrentRefused);
      expect(String(err)).toMatch(/file path "\.\.\/other\/data" leaves the community folder/);
      expect(existsSync(join(memberDir, 'other'))).toBe(false);
      expect(existsSync(join(memberDir, NAME))).toBe(false);
      expect(ours.active()).toEqual([]);
    } finally {
      await new Promise((r) => hostile.destroy(r));
    }
  });

  it("refuses a magnet announced for one community that points at another community's torrent", async () => {
    const seedDir = join(root, 'seed6');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index);
    const seeder = client();
    await seeder.start();
    await seeder.seed(torrent, seedDir);
    const member = client();
    await member.start();
    const other = '0x03ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff';
    expect(() =>
      member.add(`magnet:?xt=urn:btih:${infoHash}&dn=${NAME}`, join(root, 'm6'), { community: other }),
    ).toThrow(/not community "0x03ff/);
    const dl = member.add(`magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.1:${seeder.port}`, join(root, 'm6'), {
      community: other,
    });
    await expect(dl.metadata(AbortSignal.timeout(10_000))).rejects.toThrow(
      new RegExp(`torrent folder name "${NAME}" does not match the expected "${other}"`),
    );
    expect(existsSync(join(root, 'm6', NAME))).toBe(false);
  });

  it("refuses a magnet whose dn names another community than the torrent's folder", async () => {
    const seedDir = join(root, 'seed5');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index);
    const seeder = client();
    await seeder.start();
    await seeder.seed(torrent, seedDir);
    const member = client();
    await member.start();
    const dl = member.add(
      `magnet:?xt=urn:btih:${infoHash}&dn=0x03other&x.pe=127.0.0.1:${seeder.port}`,
      join(root, 'm5'),
    );
    await expect(dl.metadata(AbortSignal.timeout(10_000))).rejects.toThrow(
      /does not match the expected "0x03other"/,
    );
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describeTorrentContract('webtorrent over TCP on 127.0.0.1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'archivist-wt-contract-'));
  const ports = [await freePort(), await freePort()];
  const peers = ports.map((port, i) => ({
    client: new WebTorrentClient({
      port,
      peers: ports.filter((p) => p !== port).map((p) => `127.0.0.1:${p}`),
    }),
    fs: new NodeFileSystem(),
    dir: join(dir, `peer${i}`),
  }));
  return {
    peers,
    settle: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    teardown: async () => {
      await Promise.all(peers.map((p) => p.client.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
