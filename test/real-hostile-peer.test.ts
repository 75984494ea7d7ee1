// Peers that send what no honest client sends, against `archivist seed` (a seeder) and
// `archivist fetch` (a downloader) as separate processes on 127.0.0.1. The reported freeze:
// one BEP 10 extended handshake whose bencoded payload is `d-900719907199293:` put the
// seeder in an endless loop (100 % CPU, no uploads, SIGTERM ignored). Here the same bytes,
// and the same payload on the metadata and PEX extensions, leave both processes serving,
// downloading and exiting on SIGTERM. So do a `have` for a piece two billion pieces past the
// end (webtorrent's rarity map), metadata data a downloader never asked for (ut_metadata),
// and a fuzz campaign of the whole peer wire against a seeder and a member node.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { createArchiveRound } from '../archive/index.ts';
import { runPeerWireCampaign } from '../fuzz/peer-wire.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import { run, startSeeder, stopped } from './fixtures/archivist-process.ts';
import {
  answersHandshake,
  attackSeeder,
  extended,
  hostileListener,
  message,
} from './fixtures/hostile-peer.ts';

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

  it('cannot freeze a seeder with a have message for a piece far past the end', async () => {
    // webtorrent's rarity map counts a peer's `have` at `pieces[index]` unchecked; an index of
    // 2^31 - 2 made the next connection refill an array of two billion entries (GBs, minutes).
    const { child, line } = await startSeeder([folder]);
    try {
      const index = Buffer.alloc(4);
      index.writeUInt32BE(2 ** 31 - 2);
      await attackSeeder(line.port, line.infoHash, [message(4, index)]);
      expect(await answersHandshake(line.port, line.infoHash, 3000)).toBe(true);
      const out = join(root, 'after-have');
      const fetched = await run(['fetch', line.magnet, '--out', out, '--peer', `127.0.0.1:${line.port}`]);
      expect(fetched.code, fetched.stdout + fetched.stderr).toBe(0);
    } finally {
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

  it.each([
    [
      'metadata data it never asked for (no metadata size announced)',
      'd1:md11:ut_metadatai3eee',
      'd8:msg_typei1e5:piecei0ee',
    ],
    [
      'metadata data for a piece past the announced size',
      'd1:md11:ut_metadatai3ee13:metadata_sizei100ee',
      'd8:msg_typei1e5:piecei7ee',
    ],
  ])('cannot crash a downloader with %s', async (_what, handshakeDict, data) => {
    // ut_metadata wrote the data into a buffer it had not made yet (or past its end): a
    // TypeError / RangeError thrown out of the peer wire's parser ended the process.
    const infoHash = 'cd'.repeat(20);
    const hostile = await hostileListener(infoHash, [
      extended(0, handshakeDict),
      extended(1, `${data}${'x'.repeat(100)}`),
    ]);
    try {
      const magnet = `magnet:?xt=urn:btih:${infoHash}&dn=${NAME}`;
      const r = await run(
        ['fetch', magnet, '--peer', `127.0.0.1:${hostile.port}`, '--out', join(root, 'm2'), '--timeout', '2'],
        15_000,
      );
      expect(hostile.connections()).toBeGreaterThan(0);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(1);
      expect(JSON.parse(r.stdout)).toMatchObject({
        ok: false,
        error: expect.stringMatching(/no torrent metadata/),
      });
    } finally {
      await hostile.close();
    }
  });

  it('a fuzz campaign of the whole peer wire leaves a seeder and a member serving, downloading and exiting on SIGTERM', async () => {
    // fuzz/peer-wire.ts: handshakes, every BEP 3 message, BEP 9 metadata and BEP 10 extended
    // messages with hostile lengths and payloads, against `archivist seed` and against an
    // `archivist node` member whose download waits for metadata; `npm run fuzz` runs more.
    const sessions = 400;
    const outcome = await runPeerWireCampaign({ seed: 1, sessions });
    for (const r of outcome.results) {
      expect(r.inputs, r.name).toBe(sessions);
      expect(r.untyped, r.name).toEqual([]);
      expect(r.hangs, r.name).toEqual([]);
    }
    expect(outcome.after, outcome.detail.join('; ')).toEqual({
      seederServes: true,
      memberDownloadsAndImports: true,
      memberServes: true,
      seederExitsOnSigterm: true,
      memberExitsOnSigterm: true,
    });
  }, 120_000);
});
