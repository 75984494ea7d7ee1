// Peers that send what no honest client sends, against `archivist seed` (a seeder) and
// `archivist fetch` (a downloader) as separate processes on 127.0.0.1. The reported freeze:
// one BEP 10 extended handshake whose bencoded payload is `d-900719907199293:` put the
// seeder in an endless loop (100 % CPU, no uploads, SIGTERM ignored). Here the same bytes,
// and the same payload on the metadata and PEX extensions, leave both processes serving,
// downloading and exiting on SIGTERM.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { createArchiveRound } from '../archive/index.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import { run, startSeeder, stopped } from './fixtures/archivist-process.ts';
import { attackSeeder, extended, hostileListener } from './fixtures/hostile-peer.ts';

const FREEZE = 'd-900719907199293:';
const NAME = communityIdOf(generateCommunityKey(new Uint8Array(32).fill(9)));
let root: string;
let folder: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'archivist-hostile-'));
  const fs = new NodeFileSystem();
  const now = Math.floor(Date.now() / 1000);
  const topic = chatTopic('general');
  const messages = Array.from({ length: 30 }, (_, i) => ({
    sig: Uint8Array.of(i),
    timestamp: now - 14 * 86_400 + i * 30_000,
    topic,
    payload: new Uint8Array(5000).fill(i),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill(i + 1),
    thirdPartyId: '',
  }));
  createArchiveRound(fs, {
    dataDir: join(root, 'owner'),
    torrentDir: join(root, 'torrents'),
    communityId: NAME,
    topics: [topic],
    messages,
    start: messages[0]!.timestamp,
    end: now,
  });
  folder = join(root, 'owner', NAME);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a hostile peer', () => {
  it('cannot freeze a seeder with a negative bencode string length', async () => {
    const { child, line } = await startSeeder([folder]);
    try {
      // The extended handshake itself, then the same payload on the ids a client gives
      // ut_metadata and ut_pex, each on its own connection.
      for (const extensionId of [0, 1, 2, 3]) {
        await attackSeeder(line.port, line.infoHash, [extended(extensionId, FREEZE)]);
      }
      // Still uploading: a full verified download from it.
      const out = join(root, 'after-attack');
      const fetched = await run(['fetch', line.magnet, '--out', out, '--peer', `127.0.0.1:${line.port}`]);
      expect(fetched.code, fetched.stdout + fetched.stderr).toBe(0);
      expect(JSON.parse(fetched.stdout)).toMatchObject({ ok: true, infoHash: line.infoHash });
      expect(readFileSync(join(out, NAME, 'data'))).toEqual(readFileSync(join(folder, 'data')));
    } finally {
      // And still listening to signals.
      expect(await stopped(child, 'SIGTERM')).toBe(0);
    }
  });

  it('cannot freeze a downloader that dials it', async () => {
    const infoHash = 'ab'.repeat(20);
    const hostile = await hostileListener(infoHash, [extended(0, FREEZE)]);
    try {
      const magnet = `magnet:?xt=urn:btih:${infoHash}&dn=${NAME}`;
      const r = await run(
        ['fetch', magnet, '--peer', `127.0.0.1:${hostile.port}`, '--out', join(root, 'm'), '--timeout', '2'],
        15_000,
      );
      expect(hostile.connections()).toBeGreaterThan(0);
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false });
    } finally {
      await hostile.close();
    }
  });
});
