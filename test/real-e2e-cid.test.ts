// End to end on the content-addressed backend (protocol.md §11), as separate processes on
// 127.0.0.1: an owner and a member run `archivist node --config` with `archiveBackends: cid`,
// each with its own content store (Helia, host/content-config.ts), the member's store peered
// to the owner's. The owner is fed four weeks of chat history with `--messages`, archives it
// (every archive uploaded on its own, then the index), keeps the index and dispatches its cid
// on the magnetlink channel over Waku relay; the member takes the link, fetches the index
// and every archive from the owner's store, and imports every message. Neither starts a
// torrent client. Afterwards the member's store folder still holds the index and every
// archive (a restarted member imports from it).
//
// Then dual publish on real nodes: an owner with `archiveBackends: both` makes each round on
// both backends and dispatches a magnet link and an index-cid link; a member running the
// content-addressed backend alone and a member running the torrent alone each act on the link
// of their kind, and both import every message.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HeliaContentStore } from '../adapters/real/helia-content-store.ts';
import { SqliteStorage } from '../adapters/real/sqlite-storage.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import { type Line, NodeProcess } from './fixtures/archivist-process.ts';

const DAY_S = 86_400;
const root = mkdtempSync(join(tmpdir(), 'archivist-e2e-cid-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

function node(configPath: string, args: string[] = []): NodeProcess {
  const p = new NodeProcess(configPath, args);
  children.add(p.child);
  return p;
}

/** A chat line of `--messages`: `size` characters that differ from message to message. */
function chatLine(chat: string, timestamp: number, i: number, size: number): string {
  let text = '';
  for (let n = 0; text.length < size; n++) text += createHash('sha256').update(`${i}/${n}`).digest('hex');
  return JSON.stringify({ timestamp, chat, text: text.slice(0, size) });
}

interface CidArchive {
  id: string;
  cid: string;
  messages: number;
}

describe('archivist node: owners and members on the content-addressed backend, as separate processes', () => {
  it('archives, uploads, dispatches the index cid over relay, fetches from the owner’s store, imports', async () => {
    const key = generateCommunityKey(
      new Uint8Array(createHash('sha256').update('e2e cid community').digest()),
    );
    const id = communityIdOf(key);
    const chats = ['general', 'random'];
    const topics = chats.map((c) => chatTopic(c));
    const now = Math.floor(Date.now() / 1000);
    const start = now - 29 * DAY_S;
    const COUNT = 120;

    // Four weeks of history for the owner, fed as a JSON-lines file: four weekly archives.
    const owner = join(root, 'owner');
    mkdirSync(owner, { recursive: true });
    const feed = join(owner, 'chat.jsonl');
    writeFileSync(
      feed,
      `${Array.from({ length: COUNT }, (_, i) =>
        chatLine(chats[i % 2]!, start + Math.floor((i * 28 * DAY_S) / COUNT), i, 6000),
      ).join('\n')}\n`,
    );
    const options = { importDelayMs: 0, importFastChunksPerSecond: 1000 };
    const community = { id, chats };
    writeFileSync(
      join(owner, 'config.json'),
      JSON.stringify({
        nodeId: 'owner',
        dataDir: 'data',
        torrentDir: 'torrents',
        database: 'node.db',
        archiveBackends: 'cid',
        content: { dir: 'content' },
        messaging: { store: { retentionSeconds: 30 * DAY_S } },
        communities: [{ ...community, privateKey: Buffer.from(key).toString('hex') }],
        options,
        // The round and its link wait for the member to relay the community's topics.
        waitForRelayPeers: 1,
      }),
    );
    const ownerProc = node(join(owner, 'config.json'), ['--messages', feed]);
    const listening = await ownerProc.waitFor((l) => l.type === 'node.listening', 'owner listening');
    expect(listening.torrentPort).toBeNull();
    const ownerStore = listening.contentMultiaddrs as string[];
    expect(ownerStore.length).toBeGreaterThan(0);

    const memberDir = join(root, 'member');
    mkdirSync(memberDir, { recursive: true });
    const ownerRelay = listening.multiaddrs as string[];
    writeFileSync(
      join(memberDir, 'config.json'),
      JSON.stringify({
        nodeId: 'member',
        dataDir: 'data',
        torrentDir: 'torrents',
        database: 'node.db',
        archiveBackends: 'cid',
        content: { dir: 'content', peers: [ownerStore[0]] },
        messaging: { peers: ownerRelay, storePeers: ownerRelay },
        communities: [community],
        options,
        importRate: 'fast',
      }),
    );
    const member = node(join(memberDir, 'config.json'));

    // The owner: one content-addressed round of four archives, its index kept and dispatched.
    const dispatched = await ownerProc.waitFor(
      (l) => l.type === 'archive.indexCidDispatched',
      'owner dispatches the index cid',
      60_000,
    );
    expect(ownerProc.lines.find((l) => l.type === 'node.messagesSaved')).toMatchObject({ messages: COUNT });
    const round = ownerProc.lines.find((l) => l.type === 'archive.cidRoundCreated')!;
    const indexCid = round.indexCid as string;
    const archives = round.archives as CidArchive[];
    expect(archives).toHaveLength(4);
    expect(archives.reduce((n, a) => n + a.messages, 0)).toBe(COUNT);
    expect(dispatched).toMatchObject({ communityId: id, indexCid, signer: id });
    expect(ownerProc.lines).toContainEqual(
      expect.objectContaining({ type: 'archive.indexCidSeeded', communityId: id, indexCid }),
    );
    // §7 at the owner, as for a torrent round.
    expect(ownerProc.types().filter((t) => t.startsWith('community.'))).toEqual([
      'community.historyArchivesProtocolEnabled',
      'community.creatingHistoryArchives',
      'community.historyArchivesCreated',
      'community.historyArchivesSeeding',
    ]);
    // The torrent backend is not run: no torrent round, seeding or magnet link.
    const types = ownerProc.types();
    for (const t of ['archive.roundCreated', 'archive.torrentSeeded', 'archive.magnetlinkDispatched'])
      expect(types).not.toContain(t);

    // The member: the link taken as a content-addressed one, the index read, every archive
    // fetched from the owner's store and imported.
    await member.waitFor(
      (l) => l.type === 'community.downloadingHistoryArchivesFinished',
      'member finished',
      60_000,
    );
    const received = member.lines.filter((l) => l.type === 'archive.magnetlinkReceived');
    expect(received).toContainEqual(
      expect.objectContaining({ magnetUri: indexCid, kind: 'cid', accepted: true }),
    );
    const indexRead = member.lines.find((l) => l.type === 'archive.indexRead') as Line;
    expect(indexRead).toMatchObject({ infoHash: indexCid, kind: 'cid' });
    expect([...(indexRead.ids as string[])].sort()).toEqual(archives.map((a) => a.id).sort());
    // §7 order at the member, as for a torrent task.
    await member.waitFor((l) => l.type === 'archive.taskEnded', 'member task ended', 30_000);
    expect(
      member
        .types()
        .filter((t) => t.startsWith('community.') && t !== 'community.importingHistoryArchiveMessages'),
    ).toEqual([
      'community.historyArchivesProtocolEnabled',
      'community.downloadingHistoryArchivesStarted',
      'community.historyArchiveDownloaded',
      'community.historyArchiveDownloaded',
      'community.historyArchiveDownloaded',
      'community.historyArchiveDownloaded',
      'community.historyArchivesSeeding',
      'community.downloadingHistoryArchivesFinished',
    ]);
    expect(member.lines).toContainEqual(
      expect.objectContaining({ type: 'archive.indexCidSeeded', communityId: id, indexCid }),
    );
    expect(member.types()).not.toContain('archive.cidFetchFailed');
    const imported = () =>
      member.lines.filter((l) => l.type === 'archive.archiveImported').map((l) => l.id as string);
    for (let waited = 0; imported().length < 4; waited += 100) {
      if (waited > 30_000) throw new Error(`member imported ${imported().length} of 4 archives`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(imported().sort()).toEqual(archives.map((a) => a.id).sort());

    for (const p of [member, ownerProc]) {
      expect(await p.stop('SIGTERM', 10_000)).toBe(0);
      expect(p.lines.at(-1)?.type).toBe('node.stopped');
    }

    const db = new SqliteStorage(join(memberDir, 'node.db'));
    try {
      expect(db.countMessages(topics)).toBe(COUNT);
      expect(db.archives(id).map((a) => a.imported)).toEqual([true, true, true, true]);
    } finally {
      db.close();
    }
    // The member's store folder holds the index and every archive after the node stopped.
    const kept = new HeliaContentStore({ dir: join(memberDir, 'content') });
    await kept.start();
    try {
      const held = await kept.held();
      for (const cid of [indexCid, ...archives.map((a) => a.cid)]) expect(held).toContain(cid);
    } finally {
      await kept.stop();
    }
  }, 120_000);

  it('dual publish: an owner on both backends; a cid member and a torrent member each import everything', async () => {
    const key = generateCommunityKey(
      new Uint8Array(createHash('sha256').update('e2e dual community').digest()),
    );
    const id = communityIdOf(key);
    const chats = ['general'];
    const topics = chats.map((c) => chatTopic(c));
    const now = Math.floor(Date.now() / 1000);
    const start = now - 22 * DAY_S;
    const COUNT = 60;
    const dir = (name: string) => {
      const d = join(root, name);
      mkdirSync(d, { recursive: true });
      return d;
    };
    const config = (name: string, body: Record<string, unknown>) => {
      const file = join(dir(name), 'config.json');
      writeFileSync(
        file,
        JSON.stringify({
          nodeId: name,
          dataDir: 'data',
          torrentDir: 'torrents',
          database: 'node.db',
          options: { importDelayMs: 0, importFastChunksPerSecond: 1000 },
          ...body,
        }),
      );
      return file;
    };
    const feed = join(dir('dual-owner'), 'chat.jsonl');
    writeFileSync(
      feed,
      `${Array.from({ length: COUNT }, (_, i) =>
        chatLine('general', start + Math.floor((i * 21 * DAY_S) / COUNT), i, 4000),
      ).join('\n')}\n`,
    );
    const ownerProc = node(
      config('dual-owner', {
        archiveBackends: 'both',
        content: { dir: 'content' },
        messaging: { store: { retentionSeconds: 30 * DAY_S } },
        communities: [{ id, chats, privateKey: Buffer.from(key).toString('hex') }],
        waitForRelayPeers: 2,
      }),
      ['--messages', feed],
    );
    const listening = await ownerProc.waitFor((l) => l.type === 'node.listening', 'owner listening');
    const relay = listening.multiaddrs as string[];
    const common = {
      messaging: { peers: relay, storePeers: relay },
      communities: [{ id, chats }],
      importRate: 'fast',
    };
    const cidMember = node(
      config('dual-cid', {
        ...common,
        archiveBackends: 'cid',
        content: { dir: 'content', peers: [(listening.contentMultiaddrs as string[])[0]] },
      }),
    );
    const torrentMember = node(
      config('dual-torrent', { ...common, torrent: { peers: [`127.0.0.1:${listening.torrentPort}`] } }),
    );

    // Both links dispatched, each round with the same three archive ranges.
    await ownerProc.waitFor((l) => l.type === 'archive.indexCidDispatched', 'index cid dispatched', 60_000);
    await ownerProc.waitFor(
      (l) => l.type === 'archive.magnetlinkDispatched',
      'magnet link dispatched',
      60_000,
    );
    const cidRound = ownerProc.lines.find((l) => l.type === 'archive.cidRoundCreated')!;
    const torrentRound = ownerProc.lines.find((l) => l.type === 'archive.roundCreated')!;
    const ranges = (r: Line) =>
      (r.archives as { from: number; to: number; messages: number }[]).map((a) => [a.from, a.to, a.messages]);
    expect(ranges(cidRound)).toHaveLength(3);
    expect(ranges(cidRound)).toEqual(ranges(torrentRound));

    for (const [name, m, kind] of [
      ['dual-cid', cidMember, 'cid'],
      ['dual-torrent', torrentMember, undefined],
    ] as const) {
      await m.waitFor(
        (l) => l.type === 'community.downloadingHistoryArchivesFinished',
        `${name} finished`,
        60_000,
      );
      const read = m.lines.filter((l) => l.type === 'archive.indexRead');
      expect(read.map((l) => l.kind)).toEqual([kind]);
      const imported = () => m.lines.filter((l) => l.type === 'archive.archiveImported').length;
      for (let waited = 0; imported() < 3; waited += 100) {
        if (waited > 30_000) throw new Error(`${name} imported ${imported()} of 3 archives`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    // Each member acted on its own kind of link only.
    expect(cidMember.types().filter((t) => t.startsWith('archive.torrent'))).toEqual([]);
    expect(torrentMember.types()).not.toContain('archive.indexCidSeeded');

    for (const p of [cidMember, torrentMember, ownerProc]) expect(await p.stop('SIGTERM', 10_000)).toBe(0);
    for (const name of ['dual-cid', 'dual-torrent']) {
      const db = new SqliteStorage(join(root, name, 'node.db'));
      try {
        expect(db.countMessages(topics)).toBe(COUNT);
        expect(db.archives(id).map((a) => a.imported)).toEqual([true, true, true]);
      } finally {
        db.close();
      }
    }
  }, 120_000);
});
