// `archivist seed --backend cid` and `archivist fetch --backend cid` as separate processes on
// 127.0.0.1: a torrent community folder seeded as a content-addressed round, fetched and
// verified by another process, the fetched round re-seeded under the same index id by a
// third, JSON output, clean exits, one-line errors.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import {
  createArchiveRound,
  dataPath,
  decodeStoredCidIndex,
  indexEntriesByFrom,
  readIndex,
} from '../archive/index.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import { run, startSeeder, stopped } from './fixtures/archivist-process.ts';

const NAME = communityIdOf(generateCommunityKey(new Uint8Array(32).fill(4)));
let root: string;
let folder: string;
/** archive id (torrent) -> stored bytes, in `from` order */
let storedArchives: Uint8Array[];

interface CidSeederLine {
  indexCid: string;
  archives: number;
  bytes: number;
  multiaddrs: string[];
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'archivist-cli-cid-'));
  const fs = new NodeFileSystem();
  const now = Math.floor(Date.now() / 1000);
  const topic = chatTopic('general');
  const messages = Array.from({ length: 40 }, (_, i) => ({
    sig: Uint8Array.of(i),
    timestamp: now - 21 * 86_400 + i * 45_000,
    topic,
    payload: new Uint8Array(20_000).fill(i),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill(i + 1),
    thirdPartyId: '',
  }));
  createArchiveRound(fs, {
    dataDir: join(root, 'owner', 'data'),
    torrentDir: join(root, 'owner', 'torrents'),
    communityId: NAME,
    topics: [topic],
    messages,
    start: messages[0]!.timestamp,
    end: now,
  });
  folder = join(root, 'owner', 'data', NAME);
  const index = readIndex(fs, folder);
  storedArchives = indexEntriesByFrom(index).map(([, m]) =>
    fs.readRange(dataPath(folder), m.offset, m.size - m.padding),
  );
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('archivist seed / fetch --backend cid', () => {
  it('seeds a community folder as a content-addressed round; another process fetches it verified; a third re-seeds it', async () => {
    const owner = await startSeeder(['--backend', 'cid', folder]);
    let reseeder: Awaited<ReturnType<typeof startSeeder>> | undefined;
    try {
      const line = owner.line as unknown as CidSeederLine;
      expect(line.archives).toBe(storedArchives.length);
      expect(line.archives).toBeGreaterThanOrEqual(3);
      expect(line.bytes).toBe(storedArchives.reduce((n, b) => n + b.length, 0));
      const peer = line.multiaddrs[0]!;
      expect(peer).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//);

      const indexOnly = await run([
        'fetch',
        '--backend',
        'cid',
        line.indexCid,
        '--peer',
        peer,
        '--out',
        join(root, 'm0'),
        '--index-only',
      ]);
      expect(indexOnly.code).toBe(0);
      expect(JSON.parse(indexOnly.stdout)).toMatchObject({ ok: true, archives: line.archives, bytes: 0 });

      const out = join(root, 'member');
      const full = await run(
        ['fetch', '--backend', 'cid', line.indexCid, '--peer', peer, '--out', out],
        30_000,
      );
      expect(full.stderr).toBe('');
      expect(full.code).toBe(0);
      const result = JSON.parse(full.stdout);
      expect(result).toMatchObject({
        ok: true,
        indexCid: line.indexCid,
        archives: line.archives,
        bytes: line.bytes,
      });
      expect(result.bytesDown).toBeGreaterThan(line.bytes);
      // the round folder: the index and every archive, byte for byte the owner's stored archives
      const dir = join(out, line.indexCid);
      const index = decodeStoredCidIndex(readFileSync(join(dir, 'index')));
      expect(readdirSync(join(dir, 'archives')).sort()).toEqual([...index.archives.keys()].sort());
      const fetched = [...index.archives]
        .sort(([, a], [, b]) => a.metadata.from - b.metadata.from)
        .map(([id]) => readFileSync(join(dir, 'archives', id)));
      expect(fetched.map((b) => Buffer.from(b).toString('hex'))).toEqual(
        storedArchives.map((b) => Buffer.from(b).toString('hex')),
      );

      // the member re-seeds what it fetched: same index id; a new member fetches from it alone
      reseeder = await startSeeder(['--backend', 'cid', dir]);
      expect((reseeder.line as unknown as CidSeederLine).indexCid).toBe(line.indexCid);
      expect(await stopped(owner.child, 'SIGTERM')).toBe(0);
      const second = await run(
        [
          'fetch',
          '--backend',
          'cid',
          line.indexCid,
          '--peer',
          (reseeder.line as unknown as CidSeederLine).multiaddrs[0]!,
          '--out',
          join(root, 'second'),
        ],
        30_000,
      );
      expect(JSON.parse(second.stdout)).toMatchObject({ ok: true, archives: line.archives });
    } finally {
      if (owner.child.exitCode === null) await stopped(owner.child, 'SIGTERM');
      if (reseeder && reseeder.child.exitCode === null)
        expect(await stopped(reseeder.child, 'SIGINT')).toBe(0);
    }
  }, 90_000);

  it('reports a fetch with no reachable peer as a JSON failure, exit 1', async () => {
    const peer = '/ip4/127.0.0.1/tcp/9/p2p/12D3KooWKYx6bLeXJ3S2gsL782asZEZ2nySRpePd3xhQK1CG28NS';
    const cid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
    const r = await run([
      'fetch',
      '--backend',
      'cid',
      cid,
      '--peer',
      peer,
      '--out',
      join(root, 'none'),
      '--timeout',
      '1',
    ]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toMatchObject({
      ok: false,
      indexCid: cid,
      error: `no index from ${peer} within 1 s`,
    });
  }, 20_000);

  it('refuses bad input with one line and exit 2', async () => {
    const cid = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
    const [badBackend, badPeer, badCid, notFolder, torrentOpt] = await Promise.all([
      run(['seed', '--backend', 'ipfs', folder]),
      run(['fetch', '--backend', 'cid', cid, '--peer', '127.0.0.1:4000', '--out', root]),
      run([
        'fetch',
        '--backend',
        'cid',
        'magnet:?xt=x',
        '--peer',
        '/ip4/127.0.0.1/tcp/1/p2p/12D3KooW',
        '--out',
        root,
      ]),
      run(['seed', '--backend', 'cid', root]),
      run(['seed', '--backend', 'cid', folder, '--torrent', 'x.torrent']),
    ]);
    for (const r of [badBackend, badPeer, badCid, notFolder, torrentOpt]) {
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^archivist: /);
    }
    expect(badBackend.stderr).toMatch(/--backend: ipfs is not torrent or cid/);
    expect(badPeer.stderr).toMatch(/--peer: 127.0.0.1:4000 is not a multiaddr/);
    expect(badCid.stderr).toMatch(/is not a content id/);
    expect(notFolder.stderr).toMatch(/neither a community folder/);
    expect(torrentOpt.stderr).toMatch(/--torrent: only for --backend torrent/);
  }, 30_000);
});
