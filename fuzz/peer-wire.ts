// The peer-wire campaign: a hostile TCP peer (test/fixtures/hostile-peer.ts) sends fuzzed
// sessions — handshakes, every BEP 3 message, BEP 9 metadata, BEP 10 extended messages —
// to two running processes: `archivist seed` (a seeder) and `archivist node` (a member whose
// download of the torrent waits for metadata while the sessions come in). Every
// `probeEvery` sessions a right handshake must be answered within `probeMs` (a frozen peer
// wire does not answer); a target that exits, or prints an error, counts as an untyped
// error. After the sessions both must still work: a verified download from the seeder; the
// member, sent a newer link naming the seeder, downloads and imports every archive, then
// serves a verified download itself; both exit 0 on SIGTERM.

import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { createArchiveRound, magnetLink } from '../archive/index.ts';
import { relayMessageOf } from '../proto/magnetlink-channel.ts';
import { communityIdOf, encodeMagnetlinkMessage, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import {
  type Line,
  NodeProcess,
  run,
  type SeederLine,
  startSeeder,
  stopped,
} from '../test/fixtures/archivist-process.ts';
import {
  answersHandshake,
  describeSession,
  hostileSession,
  sendSession,
} from '../test/fixtures/hostile-peer.ts';
import { type CampaignResult, inputs } from './campaign.ts';

const DAY_S = 86_400;

export interface PeerWireWorld {
  root: string;
  communityId: string;
  folder: string;
  archives: number;
  seeder: { child: ChildProcess; line: SeederLine; stderr: () => string };
  member: NodeProcess;
  memberTorrentPort: number;
  publisher: Libp2pMessaging;
  /** Sends a magnetlink signed by the community to the member, over relay. */
  dispatch: (magnetUri: string) => Promise<void>;
  close: () => Promise<void>;
}

/** An owner's folder, its seeder, a member node whose download of that torrent is waiting for metadata. */
export async function startPeerWireWorld(): Promise<PeerWireWorld> {
  const root = mkdtempSync(join(tmpdir(), 'archivist-peer-wire-'));
  const key = generateCommunityKey(new Uint8Array(32).fill(77));
  const communityId = communityIdOf(key);
  const topic = chatTopic('general');
  const now = Math.floor(Date.now() / 1000);
  const messages = Array.from({ length: 40 }, (_, i) => ({
    sig: Uint8Array.of(i),
    timestamp: now - 20 * DAY_S + i * 40_000,
    topic,
    payload: new Uint8Array(6000).fill(i),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill(i + 1),
    thirdPartyId: '',
  }));
  const round = createArchiveRound(new NodeFileSystem(), {
    dataDir: join(root, 'owner'),
    torrentDir: join(root, 'torrents'),
    communityId,
    topics: [topic],
    messages,
    start: messages[0]!.timestamp,
    end: now,
  });
  const folder = join(root, 'owner', communityId);
  const seeder = await startSeeder([folder]);
  let seederErr = '';
  seeder.child.stderr?.on('data', (c: Buffer) => {
    seederErr += c.toString();
  });

  const publisher = new Libp2pMessaging();
  await publisher.start();
  const memberDir = join(root, 'member');
  mkdirSync(memberDir, { recursive: true });
  writeFileSync(
    join(memberDir, 'config.json'),
    JSON.stringify({
      nodeId: 'fuzzed-member',
      dataDir: 'data',
      torrentDir: 'torrents',
      database: 'node.db',
      messaging: { peers: publisher.multiaddrs() },
      communities: [{ id: communityId, chats: ['general'] }],
      // The first link's metadata wait lasts the whole campaign.
      options: { importDelayMs: 0, metadataTimeoutMs: 3_600_000, magnetlinkHistoryOnStart: false },
      importRate: 'fast',
    }),
  );
  const member = new NodeProcess(join(memberDir, 'config.json'));
  const listening = await member.waitFor((l) => l.type === 'node.listening', 'member listening');
  await member.waitFor((l) => l.type === 'node.started', 'member started');
  const pubsubTopic = `/waku/2/${communityId}`;
  await publisher.waitForRelayPeers(pubsubTopic, 1, AbortSignal.timeout(15_000));
  await new Promise((r) => setTimeout(r, 300));
  const channel = chatTopic(magnetlinkChannelId(communityId));
  let clock = Date.now();
  const dispatch = async (magnetUri: string): Promise<void> => {
    clock += 1000;
    const payload = encodeMagnetlinkMessage(key, clock, magnetUri);
    await publisher.publish({
      pubsubTopic,
      contentTopic: contentTopicOf(channel),
      message: relayMessageOf(channel, payload, Math.floor(clock / 1000)),
    });
  };
  return {
    root,
    communityId,
    folder,
    archives: round.archives.length,
    seeder: { ...seeder, stderr: () => seederErr },
    member,
    memberTorrentPort: listening.torrentPort as number,
    publisher,
    dispatch,
    close: async () => {
      if (member.running) await member.stop('SIGKILL');
      if (seeder.child.exitCode === null) seeder.child.kill('SIGKILL');
      await publisher.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

export interface PeerWireOptions {
  seed: number;
  /** Sessions per target. */
  sessions: number;
  /** Sessions in flight at once. */
  concurrency?: number;
  probeEvery?: number;
  probeMs?: number;
  budgetMs?: number;
}

interface Target {
  name: string;
  port: number;
  alive: () => boolean;
  errors: () => string;
}

/** Fuzzed sessions against one target; hangs are failed probes, untyped errors a dead or erring process. */
async function fuzzTarget(
  target: Target,
  infoHash: string,
  o: PeerWireOptions,
  seedOffset: number,
): Promise<CampaignResult> {
  const concurrency = o.concurrency ?? 8;
  const probeEvery = o.probeEvery ?? 50;
  const started = performance.now();
  const result: CampaignResult = {
    name: `peer wire: ${target.name}`,
    inputs: 0,
    refused: 0,
    untyped: [],
    hangs: [],
    slowest: { index: -1, input: '', ms: 0 },
    seconds: 0,
  };
  const source = inputs(hostileSession(infoHash), o.seed + seedOffset, 0, o.sessions);
  let next = 0;
  let stop = false;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (stop || (o.budgetMs !== undefined && performance.now() - started > o.budgetMs)) return;
      const item = source.next();
      if (item.done) return;
      const index = next++;
      await sendSession(target.port, item.value);
      result.inputs++;
      if (!target.alive()) {
        result.untyped.push({
          index,
          input: describeSession(item.value),
          error: `${target.name} exited: ${target.errors().slice(0, 1000)}`,
        });
        stop = true;
        return;
      }
      if (index % probeEvery !== probeEvery - 1) continue;
      // The session's own time is mostly this side's waiting; what counts is how long the
      // target takes to answer a right handshake after it ("slowest" of this campaign).
      const t0 = performance.now();
      const answered = await answersHandshake(target.port, infoHash, o.probeMs ?? 3000);
      const ms = performance.now() - t0;
      if (ms > result.slowest.ms)
        result.slowest = {
          index,
          input: `handshake answered after session ${describeSession(item.value)}`,
          ms,
        };
      if (!answered) {
        result.hangs.push({
          index,
          input: describeSession(item.value),
          error: `no handshake answer within ${o.probeMs ?? 3000} ms`,
        });
        stop = true;
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (!stop && !(await answersHandshake(target.port, infoHash, o.probeMs ?? 3000))) {
    result.hangs.push({
      index: result.inputs - 1,
      input: '(after the last session)',
      error: 'no handshake answer',
    });
  }
  const errors = target.errors();
  if (errors.trim() !== '' && result.untyped.length === 0) {
    result.untyped.push({ index: -1, input: '(stderr)', error: errors.slice(0, 300) });
  }
  result.seconds = (performance.now() - started) / 1000;
  return result;
}

export interface PeerWireOutcome {
  results: CampaignResult[];
  /** What still worked after the sessions; each false is a failure of the campaign. */
  after: {
    seederServes: boolean;
    memberDownloadsAndImports: boolean;
    memberServes: boolean;
    seederExitsOnSigterm: boolean;
    memberExitsOnSigterm: boolean;
  };
  detail: string[];
}

/** The whole campaign on a fresh world; the world is closed at the end. */
export async function runPeerWireCampaign(o: PeerWireOptions): Promise<PeerWireOutcome> {
  const w = await startPeerWireWorld();
  const detail: string[] = [];
  try {
    const { infoHash } = w.seeder.line;
    const seeder: Target = {
      name: 'archivist seed',
      port: w.seeder.line.port,
      alive: () => w.seeder.child.exitCode === null && w.seeder.child.signalCode === null,
      errors: w.seeder.stderr,
    };
    const member: Target = {
      name: 'archivist node (member, downloading)',
      port: w.memberTorrentPort,
      alive: () => w.member.running,
      errors: () => w.member.stderr,
    };
    const half = o.budgetMs === undefined ? undefined : o.budgetMs / 2;
    const seederResult = await fuzzTarget(seeder, infoHash, { ...o, ...(half ? { budgetMs: half } : {}) }, 0);

    // The member's first task: the torrent, with no peer; it waits for metadata all along.
    await w.dispatch(magnetLink(infoHash, w.communityId));
    await w.member.waitFor((l) => l.type === 'archive.taskStarted', 'the member task');
    const memberResult = await fuzzTarget(
      member,
      infoHash,
      { ...o, ...(half ? { budgetMs: half } : {}) },
      1_000_000,
    );

    const after: PeerWireOutcome['after'] = {
      seederServes: false,
      memberDownloadsAndImports: false,
      memberServes: false,
      seederExitsOnSigterm: false,
      memberExitsOnSigterm: false,
    };
    const data = readFileSync(join(w.folder, 'data'));
    const fetchFrom = async (port: number, what: string): Promise<boolean> => {
      const out = join(w.root, `fetch-${port}`);
      const r = await run(
        [
          'fetch',
          w.seeder.line.magnet.replace(/&x\.pe=[^&]*/, ''),
          '--out',
          out,
          '--peer',
          `127.0.0.1:${port}`,
          '--timeout',
          '20',
        ],
        30_000,
      );
      const ok = r.code === 0 && Buffer.compare(readFileSync(join(out, w.communityId, 'data')), data) === 0;
      if (!ok) detail.push(`${what}: exit ${r.code}: ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 300)}`);
      return ok;
    };
    after.seederServes = seeder.alive() && (await fetchFrom(seeder.port, 'download from the seeder'));
    if (member.alive()) {
      const from = w.member.lines.length;
      await w.dispatch(magnetLink(infoHash, w.communityId, [], [`127.0.0.1:${seeder.port}`]));
      try {
        await w.member.waitFor(
          (l) =>
            w.member.lines.indexOf(l) >= from && l.type === 'community.downloadingHistoryArchivesFinished',
          'the member finishing its download',
          30_000,
        );
        const imported = w.member.lines.filter((l: Line) => l.type === 'archive.archiveImported').length;
        after.memberDownloadsAndImports = imported === w.archives;
        if (!after.memberDownloadsAndImports)
          detail.push(`member imported ${imported} of ${w.archives} archives`);
      } catch (error) {
        detail.push(String(error).slice(0, 500));
      }
      after.memberServes = await fetchFrom(member.port, 'download from the member');
    }
    after.seederExitsOnSigterm =
      seeder.alive() && (await stopped(w.seeder.child, 'SIGTERM', 5000).catch(() => null)) === 0;
    after.memberExitsOnSigterm = member.alive() && (await w.member.stop('SIGTERM', 5000)) === 0;
    return { results: [seederResult, memberResult], after, detail };
  } finally {
    await w.close();
  }
}
