// End to end on real backends, as separate processes on 127.0.0.1: an owner and two members
// run `archivist node --config`. The owner archives the history it holds, seeds it and
// dispatches the magnetlink over Waku relay; the members receive it, download over
// BitTorrent and import. One member is SIGKILLed in the middle of its download and
// restarted: it resumes, ends with every message, and imports no archive twice.
import type { ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStorage } from '../adapters/real/sqlite-storage.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';
import { type Line, NodeProcess } from './fixtures/archivist-process.ts';

const DAY_S = 86_400;
const root = mkdtempSync(join(tmpdir(), 'archivist-e2e-'));
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});

/** A node process the file's cleanup kills if a test leaves it running. */
function node(configPath: string): NodeProcess {
  const p = new NodeProcess(configPath);
  children.add(p.child);
  return p;
}

function message(topic: Uint8Array, ts: number, i: number, size: number): WakuMessage {
  const payload = new Uint8Array(size);
  for (let o = 0; o < size; o += 32)
    payload.set(
      createHash('sha256')
        .update(`${i}/${o}`)
        .digest()
        .subarray(0, Math.min(32, size - o)),
      o,
    );
  return {
    sig: new Uint8Array(createHash('sha256').update(`sig${i}`).digest()),
    timestamp: ts,
    topic,
    payload,
    padding: new Uint8Array(0),
    hash: new Uint8Array(createHash('sha256').update(`hash${i}`).digest()),
    thirdPartyId: '',
  };
}

describe('archivist node: owner and two members as separate processes', () => {
  it('archives, dispatches over relay, downloads over BitTorrent, imports; a killed member resumes', async () => {
    const key = generateCommunityKey(new Uint8Array(createHash('sha256').update('e2e community').digest()));
    const id = communityIdOf(key);
    const chats = ['general', 'random'];
    const topics = chats.map((c) => chatTopic(c));
    const now = Math.floor(Date.now() / 1000);
    const start = now - 29 * DAY_S;
    // 4 weeks of history at the owner: 4 archives of ~400 KB.
    const owner = join(root, 'owner');
    mkdirSync(owner, { recursive: true });
    const ownerDb = new SqliteStorage(join(owner, 'node.db'));
    const msgs: WakuMessage[] = [];
    for (let i = 0; i < 160; i++)
      msgs.push(message(topics[i % 2]!, start + Math.floor((i * 28 * DAY_S) / 160), i, 10_000));
    ownerDb.saveMessages(msgs);
    ownerDb.close();

    const options = { importDelayMs: 0, importFastChunksPerSecond: 1000, metadataTimeoutMs: 20_000 };
    const community = { id, chats };
    writeFileSync(
      join(owner, 'config.json'),
      JSON.stringify({
        nodeId: 'owner',
        dataDir: 'data',
        torrentDir: 'torrents',
        database: 'node.db',
        messaging: { store: { retentionSeconds: 30 * DAY_S } },
        communities: [{ ...community, privateKey: Buffer.from(key).toString('hex') }],
        options,
        waitForRelayPeers: 2,
      }),
    );
    const ownerProc = node(join(owner, 'config.json'));
    const listening = await ownerProc.waitFor((l) => l.type === 'node.listening', 'owner listening');
    const ownerAddrs = listening.multiaddrs as string[];
    const torrentPeer = `127.0.0.1:${listening.torrentPort}`;

    const memberConfig = (name: string, extra: Record<string, unknown> = {}) => {
      const dir = join(root, name);
      mkdirSync(dir, { recursive: true });
      const path = join(dir, 'config.json');
      writeFileSync(
        path,
        JSON.stringify({
          nodeId: name,
          dataDir: 'data',
          torrentDir: 'torrents',
          database: 'node.db',
          torrent: { peers: [torrentPeer], ...extra },
          messaging: { peers: ownerAddrs, storePeers: ownerAddrs },
          communities: [community],
          options,
          importRate: 'fast',
        }),
      );
      return path;
    };
    const m1Slow = memberConfig('m1', { downloadLimit: 300_000 });
    const m2 = node(memberConfig('m2'));
    let m1 = node(m1Slow);

    // The owner creates its round once both members relay, seeds and dispatches.
    await ownerProc.waitFor((l) => l.type === 'archive.magnetlinkDispatched', 'owner dispatch', 30_000);
    expect(ownerProc.types().filter((t) => t.startsWith('community.'))).toEqual([
      'community.historyArchivesProtocolEnabled',
      'community.creatingHistoryArchives',
      'community.historyArchivesCreated',
      'community.historyArchivesSeeding',
    ]);
    const round = ownerProc.lines.find((l) => l.type === 'archive.roundCreated')!;
    const archiveIds = (round.archives as { id: string }[]).map((a) => a.id);
    expect(archiveIds.length).toBe(4);

    // m1 dies after its first archive; m2 goes through.
    await m1.waitFor((l) => l.type === 'community.historyArchiveDownloaded', 'm1 first archive', 20_000);
    m1.child.kill('SIGKILL');
    await new Promise((r) => m1.child.once('exit', r));
    const firstLife = m1.lines;
    expect(firstLife.some((l) => l.type === 'archive.archiveImported')).toBe(false);

    await m2.waitFor((l) => l.type === 'community.downloadingHistoryArchivesFinished', 'm2 finished', 30_000);
    // §7 order at a member.
    const order = m2
      .types()
      .filter((t) => t.startsWith('community.') && t !== 'community.importingHistoryArchiveMessages');
    expect(order).toEqual([
      'community.historyArchivesProtocolEnabled',
      'community.downloadingHistoryArchivesStarted',
      'community.historyArchiveDownloaded',
      'community.historyArchiveDownloaded',
      'community.historyArchiveDownloaded',
      'community.historyArchiveDownloaded',
      'community.historyArchivesSeeding',
      'community.downloadingHistoryArchivesFinished',
    ]);

    // m1 restarts (no rate limit now) and resumes.
    m1 = node(memberConfig('m1'));
    await m1.waitFor(
      (l) => l.type === 'community.downloadingHistoryArchivesFinished',
      'm1 finished after restart',
      30_000,
    );
    await m1.waitFor(
      () =>
        m1.lines.filter((l) => l.type === 'archive.archiveImported').length +
          firstLife.filter((l) => l.type === 'archive.archiveImported').length >=
        4,
      'm1 imports',
      20_000,
    );

    for (const p of [m1, m2, ownerProc]) expect(await p.stop()).toBe(0);

    // The restarted member learnt the link from the store (it was down when it was relayed).
    const relearnt = m1.lines.filter((l) => l.type === 'archive.magnetlinkReceived');
    expect(relearnt.length).toBeGreaterThanOrEqual(1);
    expect(relearnt.every((l) => l.accepted === true)).toBe(true);
    const imported = (lines: Line[]) =>
      lines.filter((l) => l.type === 'archive.archiveImported').map((l) => l.id as string);
    expect([...imported(firstLife), ...imported(m1.lines)].sort()).toEqual([...archiveIds].sort());
    expect(imported(m2.lines).sort()).toEqual([...archiveIds].sort());
    for (const name of ['m1', 'm2']) {
      const db = new SqliteStorage(join(root, name, 'node.db'));
      expect(db.countMessages(topics)).toBe(msgs.length);
      expect(db.archives(id).map((a) => a.imported)).toEqual([true, true, true, true]);
      db.close();
    }
  });
});
