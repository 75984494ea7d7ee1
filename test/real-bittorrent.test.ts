// The BitTorrent TorrentClient on 127.0.0.1: seeding an archive-shaped folder, magnet with a
// given peer, index first, piece ranges, reuse of pieces already on disk, cancel, counters,
// and refusal of hostile torrents before any file is written.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Wire from 'bittorrent-protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BitTorrentClient, parseMagnet, TorrentRefused } from '../adapters/real/bittorrent-client.ts';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { describeTorrentContract } from './contract/torrent.contract.ts';
import { extended, handshake, hostileListener } from './fixtures/hostile-peer.ts';
import { metadataSeeder, writeFolderTorrent } from './fixtures/real-torrent.ts';

const P = 102_400;
const NAME = '0x02aa00000000000000000000000000000000000000000000000000000000000001';
let root: string;
const clients: BitTorrentClient[] = [];
function client(): BitTorrentClient {
  const c = new BitTorrentClient();
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

describe('BitTorrentClient', () => {
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
    // A hostile seeder (no checks) hands out an info dictionary with files at ../other/data.
    const seedDir = join(root, 'seed4');
    const { torrent, infoHash, info } = writeFolderTorrent(seedDir, NAME, data, index, {
      paths: [['..', 'other', 'data'], ['index']],
    });
    mkdirSync(join(seedDir, 'other'), { recursive: true });
    writeFileSync(join(seedDir, 'other', 'data'), data);
    const ours = client();
    await ours.start();
    await expect(ours.seed(torrent, seedDir)).rejects.toThrow(/leaves the community folder/);

    const hostile = await metadataSeeder(info);
    try {
      const memberDir = join(root, 'member4');
      const dl = ours.add(`magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.1:${hostile.port}`, memberDir);
      const err = await dl.metadata(AbortSignal.timeout(10_000)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TorrentRefused);
      expect(String(err)).toMatch(/file path "\.\.\/other\/data" leaves the community folder/);
      expect(existsSync(join(memberDir, 'other'))).toBe(false);
      expect(existsSync(join(memberDir, NAME))).toBe(false);
      expect(ours.active()).toEqual([]);
    } finally {
      await hostile.close();
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

/** Polls `done` every 50 ms until it holds, or fails after `ms`. */
async function until(done: () => boolean, what: string, ms = 10_000): Promise<void> {
  for (let waited = 0; !done(); waited += 50) {
    if (waited > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('BitTorrentClient with an encrypting peer', () => {
  it('answers a peer that opens with the encryption handshake (BEP 8), as libtorrent does by default', async () => {
    const seedDir = join(root, 'seed-mse');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index);
    const seeder = client();
    await seeder.start();
    await seeder.seed(torrent, seedDir);
    // An initiator speaking MSE first, the way libtorrent and anacrolix/torrent dial.
    const socket = connect({ host: '127.0.0.1', port: seeder.port });
    socket.on('error', () => {});
    const wire = new Wire('tcpOutgoing', 1);
    socket.pipe(wire).pipe(socket);
    try {
      const shook = new Promise<string>((resolve) => wire.once('handshake', (ih: string) => resolve(ih)));
      wire.once('crypto-handshake', () =>
        wire.handshake(infoHash, Buffer.from('-MSE-initiator-00001').toString('hex')),
      );
      wire.startEncryption(infoHash);
      let timer: NodeJS.Timeout | undefined;
      const answered = await Promise.race([
        shook,
        new Promise<string>((r) => {
          timer = setTimeout(() => r('no handshake'), 5000);
        }),
      ]);
      clearTimeout(timer);
      expect(answered).toBe(infoHash);
    } finally {
      socket.destroy();
    }
  });
});

describe('BitTorrentClient against peers that break the protocol', () => {
  it('a metadata piece placed outside the info dictionary closes that connection, not the process', async () => {
    const infoHash = 'cd'.repeat(20);
    // Announces 100 bytes of metadata, then sends piece 99 of it on our ut_metadata id (1):
    // the extension would write it 1.6 MB past the end of its buffer and throw.
    const hostile = await hostileListener(
      infoHash,
      [
        extended(0, 'd1:md11:ut_metadatai3ee13:metadata_sizei100ee'),
        extended(1, `d8:msg_typei1e5:piecei99ee${'x'.repeat(10)}`),
      ],
      300,
    );
    try {
      const member = client();
      await member.start();
      const dl = member.add(
        `magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.1:${hostile.port}`,
        join(root, 'mh1'),
      );
      const pending = dl.metadata(AbortSignal.timeout(1500));
      await until(() => hostile.connections() > 0, 'the hostile peer to be dialled');
      await expect(pending).rejects.toThrow();
      // Still serving: a real seed and download after the attack.
      const seedDir = join(root, 'seed-h1');
      const { torrent, infoHash: ih } = writeFolderTorrent(seedDir, NAME, data, index);
      const seeder = client();
      await seeder.start();
      await seeder.seed(torrent, seedDir);
      const ok = member.add(`magnet:?xt=urn:btih:${ih}&x.pe=127.0.0.1:${seeder.port}`, join(root, 'mh1'));
      await ok.downloadFile('index', AbortSignal.timeout(10_000));
    } finally {
      await hostile.close();
    }
  });

  it('a message longer than any honest one closes the connection before it is buffered', async () => {
    const seedDir = join(root, 'seed-h2');
    const { torrent, infoHash } = writeFolderTorrent(seedDir, NAME, data, index);
    const seeder = client();
    await seeder.start();
    await seeder.seed(torrent, seedDir);
    const socket = connect({ host: '127.0.0.1', port: seeder.port });
    socket.on('error', () => {});
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    let got = 0;
    const answered = new Promise<void>((r) =>
      socket.on('data', (c: Buffer) => {
        got += c.length;
        if (got >= 68) r();
      }),
    );
    socket.write(handshake(infoHash));
    await answered;
    const head = Buffer.alloc(4);
    head.writeUInt32BE(0x7fff_ffff);
    socket.write(Buffer.concat([head, Buffer.alloc(64 * 1024)]));
    let timer: NodeJS.Timeout | undefined;
    const verdict = await Promise.race([
      closed.then(() => 'closed'),
      new Promise<string>((r) => {
        timer = setTimeout(() => r('still buffering'), 3000);
      }),
    ]);
    clearTimeout(timer);
    socket.destroy();
    expect(verdict).toBe('closed');
  });

  it('drops a peer for good after three pieces fail their hash; the pieces come from an honest one', async () => {
    const seedDir = join(root, 'seed-h3');
    const { torrent, infoHash, info } = writeFolderTorrent(seedDir, NAME, data, index);
    const hostile = await metadataSeeder(info, { garbagePieces: true });
    try {
      const member = client();
      await member.start();
      const memberDir = join(root, 'mh3');
      const dl = member.add(`magnet:?xt=urn:btih:${infoHash}&x.pe=127.0.0.1:${hostile.port}`, memberDir);
      const all = dl.downloadPieces(0, 13, AbortSignal.timeout(20_000));
      await until(() => hostile.closedByPeer() >= 1, 'the member to drop the hostile seeder');
      expect(existsSync(join(memberDir, NAME, 'data'))).toBe(false);
      const seeder = client();
      await seeder.start();
      await seeder.seed(torrent, seedDir);
      member.addPeer(infoHash, `127.0.0.1:${seeder.port}`);
      await all;
      expect(readFileSync(join(memberDir, NAME, 'data'))).toEqual(Buffer.from(data));
      // Past the first redial delay: the banned peer was not dialled again.
      await new Promise((r) => setTimeout(r, 1200));
      expect(hostile.connections()).toBe(1);
    } finally {
      await hostile.close();
    }
  });
});

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describeTorrentContract('BitTorrent over TCP on 127.0.0.1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'archivist-wt-contract-'));
  const ports = [await freePort(), await freePort()];
  const peers = ports.map((port, i) => ({
    client: new BitTorrentClient({
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
