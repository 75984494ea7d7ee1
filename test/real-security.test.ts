// Hostile input against a member node on the real backends (in this process, on
// 127.0.0.1): each attack is refused with a clear error and leaves nothing behind.
//   1. a magnetlink not signed by the community key,
//   2. a link signed by the community that points at another community's torrent,
//   3. an index whose archive points past the end of `data`,
//   4. a torrent whose file paths leave the community folder,
//   5. a link signed by the community with clock 2^64 - 1 (it would block every later one).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BitTorrentClient } from '../adapters/real/bittorrent-client.ts';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import {
  archiveIdOf,
  buildTorrentFile,
  createArchiveRound,
  magnetFromTorrent,
  parseTorrentFile,
  readIndex,
} from '../archive/index.ts';
import { parseRealNodeConfig, type RealNode, startRealNode } from '../host/real-node.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { encodeWakuMessageArchiveIndex } from '../proto/codec.ts';
import { communityIdOf, encodeMagnetlinkMessage, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';

import { type BValue, bencode, metadataSeeder, pieceHashes } from './fixtures/real-torrent.ts';
import { maxClockMagnetlink } from './machines-helpers.ts';

const P = 102_400;
const DAY = 86_400;
const fs = new NodeFileSystem();
const root = mkdtempSync(join(tmpdir(), 'archivist-security-'));
const keyX = generateCommunityKey(new Uint8Array(createHash('sha256').update('community X').digest()));
const keyY = generateCommunityKey(new Uint8Array(createHash('sha256').update('community Y').digest()));
const attacker = generateCommunityKey(new Uint8Array(createHash('sha256').update('attacker').digest()));
const X = communityIdOf(keyX);
const Y = communityIdOf(keyY);
const chats = ['general'];
const pubsubTopic = `/waku/2/${X}`;
const channel = chatTopic(magnetlinkChannelId(X));

let seeder: BitTorrentClient;
let publisher: Libp2pMessaging;
let member: RealNode;
const signals: NodeSignal[] = [];
let clock = Date.now();

function messages(communitySeed: string, n: number): WakuMessage[] {
  const now = Math.floor(Date.now() / 1000);
  return Array.from({ length: n }, (_, i) => ({
    sig: Uint8Array.of(1, i),
    timestamp: now - 20 * DAY + i * 3 * DAY,
    topic: chatTopic('general'),
    payload: new Uint8Array(createHash('sha512').update(`${communitySeed}/${i}`).digest()),
    padding: new Uint8Array(0),
    hash: new Uint8Array(createHash('sha256').update(`${communitySeed}/${i}`).digest()),
    thirdPartyId: '',
  }));
}

/** An owner's round for a community, in `<dir>/data/<id>` and `<dir>/torrents/<id>.torrent`. */
function ownerRound(dir: string, key: Uint8Array): { torrent: Uint8Array; magnet: string } {
  const id = communityIdOf(key);
  const now = Math.floor(Date.now() / 1000);
  const msgs = messages(id, 6);
  const round = createArchiveRound(fs, {
    dataDir: join(dir, 'data'),
    torrentDir: join(dir, 'torrents'),
    communityId: id,
    topics: [chatTopic('general')],
    messages: msgs,
    start: msgs[0]!.timestamp,
    end: now,
  });
  expect(round.archives.length).toBeGreaterThan(1);
  const torrent = fs.read(join(dir, 'torrents', `${id}.torrent`));
  return { torrent, magnet: magnetFromTorrent(torrent) };
}

async function dispatch(key: Uint8Array, magnetUri: string): Promise<void> {
  clock += 1000;
  await publishLink(encodeMagnetlinkMessage(key, clock, magnetUri));
}

async function publishLink(payload: Uint8Array): Promise<void> {
  await publisher.publish({
    pubsubTopic,
    contentTopic: contentTopicOf(channel),
    message: {
      sig: new Uint8Array(0),
      timestamp: Math.floor(clock / 1000),
      topic: channel,
      payload,
      padding: new Uint8Array(0),
      hash: new Uint8Array(createHash('sha256').update(payload).digest()),
      thirdPartyId: '',
    },
  });
}

function waitSignal(
  pred: (s: NodeSignal) => boolean,
  what: string,
  from: number,
  log: NodeSignal[] = signals,
): Promise<NodeSignal> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 15_000;
    const tick = () => {
      const found = log.slice(from).find(pred);
      if (found) return resolve(found);
      if (Date.now() > deadline)
        return reject(new Error(`no ${what}; signals: ${JSON.stringify(log.slice(from))}`));
      setTimeout(tick, 20);
    };
    tick();
  });
}

type IndexMeta = ReturnType<typeof readIndex>['archives'] extends Map<string, infer M> ? M : never;

/**
 * An owner round for X in `dir` whose index `forge` rewrites, seeded from `dir` with a torrent
 * over the result (pieces right for the forged bytes: only the index lies).
 */
async function forgedRound(dir: string, forge: (archives: Map<string, IndexMeta>) => void): Promise<string> {
  ownerRound(dir, keyX);
  const folder = join(dir, 'data', X);
  const index = readIndex(fs, folder);
  forge(index.archives);
  const indexBytes = encodeWakuMessageArchiveIndex(index);
  writeFileSync(join(folder, 'index'), indexBytes);
  const data = fs.read(join(folder, 'data'));
  const torrent = buildTorrentFile({
    name: X,
    pieceLength: P,
    files: [
      { path: 'data', length: data.length },
      { path: 'index', length: indexBytes.length },
    ],
    pieces: pieceHashes(Buffer.concat([data, indexBytes]), P),
  });
  await seeder.seed(torrent, join(dir, 'data'));
  return magnetFromTorrent(torrent);
}

const byOffset = (archives: Map<string, IndexMeta>): [string, IndexMeta][] =>
  [...archives].sort((a, b) => a[1].offset - b[1].offset);

/** An extra entry overlapping the first archive, with the earliest `from`: imported first. */
function overlapFirst(archives: Map<string, IndexMeta>): void {
  const [, first] = byOffset(archives)[0]!;
  const extra = { ...first, metadata: { ...first.metadata, from: first.metadata.from - 1 }, padding: 0 };
  archives.set(archiveIdOf(extra), extra);
}

const memberDir = join(root, 'member');

beforeAll(async () => {
  seeder = new BitTorrentClient();
  await seeder.start();
  publisher = new Libp2pMessaging();
  await publisher.start();
  member = await startMember(memberDir, signals);
});

/**
 * A member node in `dir` on the real adapters with the real node host's defaults (the
 * hardening of HARDENED_OPTIONS on) patched by `options`, relayed to by the publisher.
 */
async function startMember(
  dir: string,
  log: NodeSignal[],
  options: Record<string, number | boolean> = {},
): Promise<RealNode> {
  const parsed = parseRealNodeConfig({
    nodeId: 'member',
    dataDir: 'data',
    torrentDir: 'torrents',
    database: 'node.db',
    torrent: { peers: [`127.0.0.1:${seeder.port}`] },
    // websockets too, as a host app accepting js-waku peers would configure it
    messaging: { peers: publisher.multiaddrs(), websocketPort: 0 },
    communities: [{ id: X, chats }],
    options: { importDelayMs: 0, ...options },
    importRate: 'fast',
  });
  if (!parsed.ok) throw new Error(parsed.error);
  mkdirSync(dir, { recursive: true });
  const before = publisher.relayPeerCount(pubsubTopic);
  const node = await startRealNode({ config: parsed.config, baseDir: dir, fs, onSignal: (s) => log.push(s) });
  await publisher.waitForRelayPeers(pubsubTopic, before + 1, AbortSignal.timeout(10_000));
  // The member's relay subscription reaches the publisher with gossipsub's next exchange.
  await new Promise((r) => setTimeout(r, 300));
  return node;
}

afterAll(async () => {
  await member?.stop();
  await publisher?.stop();
  await seeder?.stop();
  rmSync(root, { recursive: true, force: true });
});

it('a node configured with messaging.websocketPort listens on websockets as well as TCP', () => {
  const addrs = member.info.multiaddrs;
  expect(addrs.some((a) => /\/tcp\/\d+\/ws\//.test(a))).toBe(true);
  expect(addrs.some((a) => /\/tcp\/\d+\/p2p\//.test(a))).toBe(true);
});

describe('a member node refuses hostile archives', () => {
  it('ignores a magnetlink not signed by the community key', async () => {
    const { torrent, magnet } = ownerRound(join(root, 'x-owner'), keyX);
    await seeder.seed(torrent, join(root, 'x-owner', 'data'));
    const from = signals.length;
    await dispatch(attacker, magnet);
    const got = await waitSignal((s) => s.type === 'archive.magnetlinkReceived', 'magnetlinkReceived', from);
    expect(got).toMatchObject({
      accepted: false,
      reason: 'unknown community',
      signer: communityIdOf(attacker),
    });
    await new Promise((r) => setTimeout(r, 200));
    expect(signals.slice(from).some((s) => s.type === 'archive.taskStarted')).toBe(false);
    expect(existsSync(join(memberDir, 'data', X))).toBe(false);
  });

  it("refuses a link signed by the community that points at another community's torrent", async () => {
    const { torrent, magnet } = ownerRound(join(root, 'y-owner'), keyY);
    await seeder.seed(torrent, join(root, 'y-owner', 'data'));
    // The attacker strips the name so that only the info dictionary tells.
    const bare = magnet.replace(/&dn=[^&]*/, '');
    const from = signals.length;
    await dispatch(keyX, bare);
    const ended = await waitSignal((s) => s.type === 'archive.taskEnded', 'taskEnded', from);
    expect(ended).toMatchObject({ communityId: X, status: 'error' });
    expect((ended as { detail?: string }).detail).toMatch(
      `torrent folder name "${Y}" does not match the expected "${X}"`,
    );
    expect(existsSync(join(memberDir, 'data', Y))).toBe(false);
    expect(member.adapters.storage.archives(X)).toEqual([]);
  });

  it.each([
    [
      'whose archive points past the end of data',
      (archives: Map<string, IndexMeta>) => {
        const [lastId, last] = byOffset(archives).at(-1)!;
        archives.delete(lastId);
        const forged = { ...last, offset: last.offset + 50 * P };
        archives.set(archiveIdOf(forged), forged);
      },
      /the index describes \d+ bytes of data, the torrent's data file has \d+/,
    ],
    ['with an entry overlapping another', overlapFirst, /at offset 0 overlaps the archive before it/],
    [
      'with an entry whose padding exceeds its size',
      (archives: Map<string, IndexMeta>) => {
        const [firstId, first] = byOffset(archives)[0]!;
        archives.delete(firstId);
        const forged = { ...first, padding: first.size + 1 };
        archives.set(archiveIdOf(forged), forged);
      },
      /padding \d+ > size \d+/,
    ],
  ])('refuses an index %s before downloading any archive (malformed)', async (what, forge, detail) => {
    const magnet = await forgedRound(join(root, `x-forged-${what.split(' ').at(-1)}`), forge);
    const from = signals.length;
    const known = member.adapters.storage.archives(X).length;
    await dispatch(keyX, magnet);
    const ended = await waitSignal((s) => s.type === 'archive.taskEnded', 'taskEnded', from);
    expect(ended, JSON.stringify(signals.slice(from))).toMatchObject({ communityId: X, status: 'malformed' });
    expect((ended as { detail?: string }).detail).toMatch(/the index breaks §10 invariant 3/);
    expect((ended as { detail?: string }).detail).toMatch(detail);
    const after = signals.slice(from).map((s) => s.type);
    expect(after).not.toContain('community.downloadingHistoryArchivesStarted');
    expect(after).not.toContain('archive.importFailed');
    expect(member.adapters.storage.archives(X)).toHaveLength(known);
  });

  it('refuses a torrent holding an extra symlink-type file at once, not after waiting for ever', async () => {
    // A seeder with such a torrent never holds the last piece, the one `index` lies in (the
    // symlink entry is no file on disk): a member that waited for the index would wait for ever.
    const dir = join(root, 'x-symlink');
    ownerRound(dir, keyX);
    const folder = join(dir, 'data', X);
    const data = fs.read(join(folder, 'data'));
    const index = fs.read(join(folder, 'index'));
    const info = {
      files: [
        { length: data.length, path: ['data'] },
        { length: index.length, path: ['index'] },
        { attr: 'l', length: 0, path: ['link'], 'symlink path': ['data'] },
      ],
      name: X,
      'piece length': P,
      pieces: pieceHashes(Buffer.concat([data, index]), P),
    };
    const hostile = await metadataSeeder(info as BValue);
    try {
      const infoHash = createHash('sha1')
        .update(bencode(info as BValue))
        .digest('hex');
      const from = signals.length;
      await dispatch(keyX, `magnet:?xt=urn:btih:${infoHash}&dn=${X}&x.pe=127.0.0.1:${hostile.port}`);
      const ended = await waitSignal((s) => s.type === 'archive.taskEnded', 'taskEnded', from);
      expect(ended).toMatchObject({ communityId: X, status: 'malformed' });
      expect((ended as { detail?: string }).detail).toMatch(
        'holds ["data","index","link"], not exactly ["data","index"]',
      );
    } finally {
      await hostile.close();
    }
  });

  it('refuses a torrent whose file paths leave the community folder, writing nothing', async () => {
    const dir = join(root, 'hostile');
    const data = new Uint8Array(3 * P).fill(7);
    const index = new Uint8Array(10).fill(1);
    mkdirSync(join(dir, 'escape'), { recursive: true });
    mkdirSync(join(dir, X), { recursive: true });
    writeFileSync(join(dir, 'escape', 'data'), data);
    writeFileSync(join(dir, X, 'index'), index);
    const info = {
      files: [
        { length: data.length, path: ['..', 'escape', 'data'] },
        { length: index.length, path: ['index'] },
      ],
      name: X,
      'piece length': P,
      pieces: pieceHashes(Buffer.concat([data, index]), P),
    };
    const torrent = bencode({ info });
    expect(() => parseTorrentFile(torrent)).toThrow();
    const hostile = await metadataSeeder(info);
    try {
      const infoHash = createHash('sha1').update(bencode(info)).digest('hex');
      const before = readdirSync(join(memberDir, 'data')).sort();
      const from = signals.length;
      await dispatch(keyX, `magnet:?xt=urn:btih:${infoHash}&dn=${X}&x.pe=127.0.0.1:${hostile.port}`);
      const ended = await waitSignal((s) => s.type === 'archive.taskEnded', 'taskEnded', from);
      expect(ended).toMatchObject({ communityId: X, status: 'error' });
      expect((ended as { detail?: string }).detail).toMatch(
        'file path "../escape/data" leaves the community folder',
      );
      expect(readdirSync(join(memberDir, 'data')).sort()).toEqual(before);
      expect(existsSync(join(memberDir, 'escape'))).toBe(false);
    } finally {
      await hostile.close();
    }
  });
});

describe('a member node bounds the clocks it accepts', () => {
  it('ignores a link signed by the owner with clock 2^64 - 1; the next link is still taken', async () => {
    const { torrent, magnet } = ownerRound(join(root, 'x-clock'), keyX);
    await seeder.seed(torrent, join(root, 'x-clock', 'data'));
    const from = signals.length;
    await publishLink(maxClockMagnetlink(keyX, magnet));
    const poison = await waitSignal(
      (s) => s.type === 'archive.magnetlinkReceived',
      'magnetlinkReceived',
      from,
    );
    expect(poison).toMatchObject({ accepted: false, reason: 'clock too far ahead', signer: X });
    const next = signals.length;
    await dispatch(keyX, magnet);
    const got = await waitSignal((s) => s.type === 'archive.magnetlinkReceived', 'magnetlinkReceived', next);
    expect(got).toMatchObject({ accepted: true, signer: X });
    await waitSignal((s) => s.type === 'archive.taskStarted', 'taskStarted', next);
  });
});

describe('with the reference trust in the index (validateIndex: false)', () => {
  it('an overlapping entry is retried for ever at import and no valid archive after it is imported', async () => {
    const log: NodeSignal[] = [];
    const trusting = await startMember(join(root, 'trusting'), log, { validateIndex: false });
    try {
      const magnet = await forgedRound(join(root, 'x-forged-trusting'), overlapFirst);
      await dispatch(keyX, magnet);
      await waitSignal(
        () => log.filter((s) => s.type === 'archive.importFailed').length >= 3,
        'three import failures',
        0,
        log,
      );
      const failed = log.filter((s) => s.type === 'archive.importFailed') as Extract<
        NodeSignal,
        { type: 'archive.importFailed' }
      >[];
      expect(new Set(failed.map((f) => f.id)).size).toBe(1);
      expect(failed.every((f) => f.reason === 'corrupt')).toBe(true);
      const archives = trusting.adapters.storage.archives(X);
      expect(archives.length).toBeGreaterThan(2);
      expect(archives.filter((a) => a.imported)).toEqual([]);
      expect(log.some((s) => s.type === 'archive.taskEnded')).toBe(false);
    } finally {
      await trusting.stop();
    }
  });
});
