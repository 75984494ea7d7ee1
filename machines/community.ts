// The per-community environment the machines share, and the protocol's effects on the
// ports (protocol.md §5–§6). The machines decide *when* (states, guards, delays); these
// functions do *what*, only through the node's ports. Async ones take the AbortSignal of
// the fromPromise actor that runs them: leaving the invoking state aborts the wait.

import { keccak_256 } from '@noble/hashes/sha3.js';
import {
  type ArchiveCodec,
  communityFolder,
  createArchiveRound,
  MissingKeyError,
  magnetFromTorrent,
  readArchiveMessages,
  readIndex,
  torrentPath,
} from '../archive/index.ts';
import { indexLayoutVerdict, torrentLayoutVerdict } from '../archive/index-layout.ts';
import type { NodeAdapters, TorrentDownload, TorrentMetadata } from '../ports/index.ts';
import { byteKey } from '../proto/byte-key.ts';
import { encodeMagnetlinkMessage } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import type { WakuMessage, WakuMessageArchiveIndexMetadata } from '../proto/types.ts';
import type { DownloadPolicy, ImportRate, MachineOptions } from './options.ts';
import type { SignalBus } from './signals.ts';

/** What the host tells the node about a community it belongs to. */
export interface CommunityConfig {
  /** Community id as `communityIdOf` returns it (the compressed public key in hex). */
  id: string;
  /** Chat ids of the community; their topics are the archived topics. */
  chats: string[];
  /** Joined (default true). */
  joined?: boolean;
  /** "History archive support enabled" of this community (default true). */
  archiveSupport?: boolean;
  /** Codec of an encrypted community (default plain). */
  codec?: ArchiveCodec;
}

export type Role = 'owner' | 'member';

/** Mutable per-community state of a running node (not persisted: storage holds that). */
export interface CommunityEnv {
  nodeId: string;
  adapters: NodeAdapters;
  options: MachineOptions;
  bus: SignalBus;
  config: CommunityConfig;
  role: Role;
  /** Waku v1 topics of the chats. */
  topics: Uint8Array[];
  /** Byte keys of `topics` (proto/byte-key.ts). */
  topicSet: Set<string>;
  pubsubTopic: string;
  /** Pubsub topic of the magnetlink channel. */
  magnetPubsubTopic: string;
  magnetContentTopic: string;
  magnetTopic: Uint8Array;
  /** Virtual ms the node started (the import delay counts from there). */
  nodeStartedAt: number;
  /** The node's current import rate (host switchable). */
  importRate: () => ImportRate;
  /** §5.5 lookup: does the node still hold this community? */
  lookup: (communityId: string) => boolean;
  /** Fail the node (the §5.5 bug switch); reaches the node even after this actor stopped. */
  fault: (error: string) => void;
  /** Info-hash this community has in the torrent client (seeded or being downloaded). */
  active?: string;
  /** Whether what `active` names is announced as seeding. */
  seeding: boolean;
  /** The download handle of the current task. */
  download?: { magnetUri: string; handle: TorrentDownload; meta?: TorrentMetadata };
  /** A download/import task is running (invariant 7 bookkeeping). */
  taskOpen: boolean;
  /** Archives skipped for this run because they cannot be decoded (quirk off). */
  skipped: Set<string>;
}

export function createCommunityEnv(args: {
  nodeId: string;
  adapters: NodeAdapters;
  options: MachineOptions;
  bus: SignalBus;
  config: CommunityConfig;
  nodeStartedAt: number;
  importRate: () => ImportRate;
  lookup: (communityId: string) => boolean;
  fault: (error: string) => void;
}): CommunityEnv {
  const { config } = args;
  const topics = config.chats.map((c) => chatTopic(c));
  const magnetTopic = chatTopic(magnetlinkChannelId(config.id));
  return {
    ...args,
    role: args.adapters.keys.communityPrivateKey(config.id) ? 'owner' : 'member',
    topics,
    topicSet: new Set(topics.map((t) => byteKey(t))),
    pubsubTopic: args.options.pubsubTopicOf(config.id),
    magnetPubsubTopic: (args.options.magnetlinkPubsubTopicOf ?? args.options.pubsubTopicOf)(config.id),
    magnetContentTopic: contentTopicOf(magnetTopic),
    magnetTopic,
    seeding: false,
    taskOpen: false,
    skipped: new Set(),
  };
}

const nowSeconds = (env: CommunityEnv): number => Math.floor(env.adapters.clock.now() / 1000);

/** A node fault the reference would crash on (§5.5 bug); fails the node actor. */
export class NodeFault extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NodeFault';
  }
}

export class MalformedTorrent extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MalformedTorrent';
  }
}

function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
}

// ------------------------------------------------------------------ seeding (§5.2)

/** Stop seeding (or downloading) this community's torrent, if any. */
export async function unseed(env: CommunityEnv): Promise<void> {
  const h = env.active;
  if (h === undefined) return;
  const wasSeeding = env.seeding;
  env.active = undefined;
  env.seeding = false;
  env.download = undefined;
  await env.adapters.torrent.remove(h);
  if (wasSeeding) {
    env.bus.emit({ type: 'archive.torrentUnseeded', communityId: env.config.id, infoHash: h });
    env.bus.emit({ type: 'community.historyArchivesUnseeded', communityId: env.config.id });
  }
}

/** Seed the community's torrent file; signals seeding, which dispatches on a control node. */
export async function seedTorrentFile(env: CommunityEnv): Promise<boolean> {
  const { fs, torrent, torrentDir, dataDir } = env.adapters;
  const path = torrentPath(torrentDir, env.config.id);
  if (!fs.exists(path) || !torrent.running) return false;
  await unseed(env);
  const infoHash = await torrent.seed(fs.read(path), dataDir);
  env.active = infoHash;
  env.seeding = true;
  env.bus.emit({ type: 'archive.torrentSeeded', communityId: env.config.id, infoHash });
  await onSeeding(env);
  return true;
}

/** §5.5: forward the seeding signal; a control node then dispatches the magnetlink. */
export async function onSeeding(env: CommunityEnv): Promise<void> {
  env.bus.emit({ type: 'community.historyArchivesSeeding', communityId: env.config.id });
  if (!env.lookup(env.config.id)) {
    if (env.options.crashOnMissingCommunity) {
      const msg = `dispatch: community ${env.config.id} not found (reference dereferences it)`;
      // The node fails at once (its actors stop); the throw only ends this task's promise.
      env.fault(msg);
      throw new NodeFault(msg);
    }
    return;
  }
  const priv = env.adapters.keys.communityPrivateKey(env.config.id);
  if (!priv) return; // members never dispatch
  await dispatchMagnetlink(env, priv);
}

async function dispatchMagnetlink(env: CommunityEnv, priv: Uint8Array): Promise<void> {
  const { fs, clock, storage, messaging, torrentDir } = env.adapters;
  const path = torrentPath(torrentDir, env.config.id);
  if (!fs.exists(path)) return;
  const magnetUri = magnetFromTorrent(fs.read(path));
  // The reference uses the wall clock in ms; two dispatches within one virtual ms would tie,
  // so the clock is bumped past the last one to keep it strictly increasing (invariant 6).
  const last = storage.getArchiveState(env.config.id).magnetlinkClock ?? 0;
  const clockMs = Math.max(clock.now(), last + 1);
  const payload = encodeMagnetlinkMessage(priv, clockMs, magnetUri);
  const message = wrapRelayPayload(env.magnetTopic, payload, Math.floor(clockMs / 1000));
  storage.updateArchiveState(env.config.id, { magnetlinkClock: clockMs });
  env.bus.emit({
    type: 'archive.magnetlinkDispatched',
    communityId: env.config.id,
    clock: clockMs,
    magnetUri,
    signer: env.config.id,
  });
  await messaging.publish({
    pubsubTopic: env.magnetPubsubTopic,
    contentTopic: env.magnetContentTopic,
    message,
  });
}

/** A WakuMessage carrying `payload` on a v1 topic; its hash identifies it. */
export function wrapRelayPayload(topic: Uint8Array, payload: Uint8Array, timestampS: number): WakuMessage {
  const buf = new Uint8Array(topic.length + payload.length + 8);
  buf.set(topic, 0);
  buf.set(payload, topic.length);
  new DataView(buf.buffer).setFloat64(topic.length + payload.length, timestampS);
  return {
    sig: new Uint8Array(0),
    timestamp: timestampS,
    topic,
    payload,
    padding: new Uint8Array(0),
    hash: keccak_256(buf),
    thirdPartyId: '',
  };
}

// ------------------------------------------------------------------ control node (§5)

/** §5.1 partition start: last archive end date, else the oldest stored message. */
export function partitionStart(env: CommunityEnv): number | undefined {
  const st = env.adapters.storage.getArchiveState(env.config.id);
  return st.lastArchiveEndDate ?? env.adapters.storage.oldestMessageTimestamp(env.topics);
}

/** createAndSeed (§5.2) over [start, end) in Unix seconds. */
export async function createAndSeed(env: CommunityEnv, start: number, end: number): Promise<void> {
  const { fs, storage, dataDir, torrentDir, keys, clock } = env.adapters;
  const id = env.config.id;
  await unseed(env);
  env.bus.emit({ type: 'community.creatingHistoryArchives', communityId: id });
  const messages = storage.messagesInRange(env.topics, start, end);
  const priv = keys.communityPrivateKey(id);
  const round = createArchiveRound(fs, {
    dataDir,
    torrentDir,
    communityId: id,
    topics: env.topics,
    messages,
    start,
    end,
    options: {
      pieceLength: env.options.pieceLength,
      archiveInterval: Math.floor(env.options.archiveIntervalMs / 1000),
      maxArchiveChunk: env.options.maxArchiveChunk,
      extraPaddingPiece: env.options.extraPaddingPiece,
    },
    ...(env.config.codec ? { codec: env.config.codec } : {}),
    ...(priv ? { createdBy: id } : {}),
    creationDate: Math.floor(clock.now() / 1000),
  });
  if (round.archives.length > 0) {
    env.bus.emit({ type: 'community.historyArchivesCreated', communityId: id, from: start, to: end });
  } else {
    env.bus.emit({ type: 'community.noHistoryArchivesCreated', communityId: id, from: start, to: end });
  }
  storage.updateArchiveState(id, { lastArchiveEndDate: end });
  env.bus.emit({
    type: 'archive.roundCreated',
    communityId: id,
    start,
    end,
    archives: round.archives.map((a) => ({ ...a })),
    dropped: round.dropped,
    ...(round.infoHash ? { infoHash: round.infoHash } : {}),
    ...(round.magnet ? { magnet: round.magnet } : {}),
  });
  await seedTorrentFile(env);
}

export type StartupPlan =
  | { kind: 'periodic' }
  | { kind: 'wait'; last: number; at: number }
  | { kind: 'now'; start: number; end: number };

/** §5.4 steps 1–4 up to the decision; the machine carries the plan out. */
export async function ownerStartup(env: CommunityEnv, signal?: AbortSignal): Promise<StartupPlan> {
  const { storage, messaging } = env.adapters;
  const id = env.config.id;
  await seedTorrentFile(env);
  aborted(signal);
  if (env.config.chats.length === 0) return { kind: 'periodic' };
  const now = nowSeconds(env);
  const newest = storage.newestMessageTimestamp(env.topics);
  const from = newest ?? now - Math.floor(env.options.storeLookbackMs / 1000);
  try {
    const found = await messaging.queryStore({
      pubsubTopic: env.pubsubTopic,
      contentTopics: env.topics.map((t) => contentTopicOf(t)),
      from,
      to: now + 1,
    });
    aborted(signal);
    const saved = storage.saveMessages(
      found.map((r) => r.message).filter((m) => env.topicSet.has(byteKey(m.topic))),
    );
    env.bus.emit({ type: 'archive.storeQueried', communityId: id, from, to: now + 1, saved, ok: true });
  } catch {
    aborted(signal);
    env.bus.emit({ type: 'archive.storeQueried', communityId: id, from, to: now + 1, saved: 0, ok: false });
  }
  const last = partitionStart(env);
  const t = nowSeconds(env);
  const interval = Math.floor(env.options.archiveIntervalMs / 1000);
  if (last === undefined) return { kind: 'periodic' };
  if (t - last < interval) return { kind: 'wait', last, at: last + interval };
  return { kind: 'now', start: last, end: t };
}

// ------------------------------------------------------------------ member download (§6.2)

export function folderOf(env: CommunityEnv): string {
  return communityFolder(env.adapters.dataDir, env.config.id);
}

/** Step 1: stop seeding, add the magnet, wait for the metadata. */
export async function fetchMetadata(
  env: CommunityEnv,
  magnetUri: string,
  signal: AbortSignal,
): Promise<TorrentMetadata> {
  const { torrent, dataDir } = env.adapters;
  if (env.download?.magnetUri !== magnetUri) {
    await unseed(env);
    aborted(signal);
    const handle = torrent.add(magnetUri, dataDir);
    env.active = handle.infoHash;
    env.download = { magnetUri, handle };
  }
  const d = env.download as NonNullable<CommunityEnv['download']>;
  const meta = await d.handle.metadata(signal);
  // The torrent's folder name is where its files land (`<dataDir>/<name>`): a link signed by
  // this community that points at another community's torrent must not write there.
  if (meta.name !== env.config.id) {
    await env.adapters.torrent.remove(d.handle.infoHash);
    env.download = undefined;
    env.active = undefined;
    throw new MalformedTorrent(`torrent folder "${meta.name}" is not community ${env.config.id}: refused`);
  }
  d.meta = meta;
  return meta;
}

export interface IndexEntry extends WakuMessageArchiveIndexMetadata {
  id: string;
}

/** Steps 2–3: the `index` file, downloaded completely and decoded; entries by ascending `from`. */
export async function fetchIndex(env: CommunityEnv, signal: AbortSignal): Promise<IndexEntry[]> {
  const d = env.download;
  if (!d?.meta) throw new Error('fetchIndex before metadata');
  if (!d.meta.files.some((f) => f.path === 'index')) {
    throw new MalformedTorrent(`torrent ${d.handle.infoHash} has no index file`);
  }
  const files = env.options.validateIndex ? torrentLayoutVerdict(d.meta) : undefined;
  if (files !== undefined) throw new MalformedTorrent(`torrent ${d.handle.infoHash}: ${files}`);
  await d.handle.downloadFile('index', signal);
  aborted(signal);
  const entries = indexEntries(env);
  const layout = env.options.validateIndex ? indexLayoutVerdict(entries, d.meta) : undefined;
  if (layout !== undefined) throw new MalformedTorrent(`torrent ${d.handle.infoHash}: ${layout}`);
  env.bus.emit({
    type: 'archive.indexRead',
    communityId: env.config.id,
    infoHash: d.handle.infoHash,
    ids: entries.map((e) => e.id),
  });
  return entries;
}

/** The index on disk, ascending `from` then id. */
export function indexEntries(env: CommunityEnv): IndexEntry[] {
  const index = readIndex(env.adapters.fs, folderOf(env), env.config.codec);
  const out: IndexEntry[] = [];
  for (const [id, meta] of index.archives) out.push({ id, ...meta });
  out.sort((a, b) => a.metadata.from - b.metadata.from || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

/** Step 4 and the §9 policy: which archives to fetch; [] = "no new archives". */
export function planDownload(env: CommunityEnv, entries: IndexEntry[]): IndexEntry[] {
  const known = env.adapters.storage.archives(env.config.id);
  if (env.options.countCompareNoNewArchives && known.length === entries.length) return [];
  const knownIds = new Set(known.map((a) => a.id));
  const missing = entries.filter((e) => !knownIds.has(e.id));
  return applyPolicy(env.options.downloadPolicy, missing, entries);
}

function applyPolicy(policy: DownloadPolicy, missing: IndexEntry[], all: IndexEntry[]): IndexEntry[] {
  if (policy === 'all') return missing;
  if (policy === 'latest') {
    const newest = all[all.length - 1];
    if (!newest) return [];
    const latestFrom = newest.metadata.from;
    return missing.filter((e) => e.metadata.from === latestFrom);
  }
  return missing.filter((e) => e.metadata.to > policy.from && e.metadata.from < policy.to);
}

/** Step 5 for one archive: its piece range, then record it as downloaded. */
export async function fetchArchive(env: CommunityEnv, entry: IndexEntry, signal: AbortSignal): Promise<void> {
  const d = env.download;
  if (!d?.meta) throw new Error('fetchArchive before metadata');
  const P = d.meta.pieceLength;
  const first = Math.floor(entry.offset / P);
  const end = Math.ceil((entry.offset + entry.size) / P);
  await d.handle.downloadPieces(first, end, signal);
  aborted(signal);
  env.adapters.storage.markArchiveDownloaded(env.config.id, {
    id: entry.id,
    from: entry.metadata.from,
    to: entry.metadata.to,
  });
  env.bus.emit({
    type: 'community.historyArchiveDownloaded',
    communityId: env.config.id,
    from: entry.metadata.from,
    to: entry.metadata.to,
  });
}

/** Step 6: a member keeps seeding what it has (and never dispatches). */
export async function memberSeeding(env: CommunityEnv): Promise<void> {
  if (env.download) {
    env.seeding = true;
    env.bus.emit({
      type: 'archive.torrentSeeded',
      communityId: env.config.id,
      infoHash: env.download.handle.infoHash,
    });
  }
  await onSeeding(env);
}

// ------------------------------------------------------------------ member import (§6.3)

export interface LoadedArchive {
  id: string;
  from: number;
  to: number;
  /** Messages whose topic is one of the community's chats (the others are skipped). */
  messages: WakuMessage[];
  /** Messages of the archive on no chat of the community. */
  skipped: number;
}

export type NextArchive = { kind: 'none' } | { kind: 'notMember' } | { kind: 'archive'; id: string };

export function nextArchiveToImport(env: CommunityEnv): NextArchive {
  if (env.config.joined === false || !env.lookup(env.config.id)) return { kind: 'notMember' };
  for (const a of env.adapters.storage.archives(env.config.id)) {
    if (!a.imported && !env.skipped.has(a.id)) return { kind: 'archive', id: a.id };
  }
  return { kind: 'none' };
}

/** Read and decode one downloaded archive (throws MissingKeyError when the key is missing). */
export function loadArchive(env: CommunityEnv, id: string): LoadedArchive {
  const folder = folderOf(env);
  const entry = indexEntries(env).find((e) => e.id === id);
  if (!entry) throw new Error(`archive ${id} is not in the index on disk`);
  const cache = env.options.archiveCache;
  const key = `${env.config.id}/${id}/${entry.offset}/${entry.size}`;
  const hit = cache?.get(key) as LoadedArchive | undefined;
  if (hit) return hit;
  const archive = readArchiveMessages(env.adapters.fs, folder, entry, env.config.codec);
  const messages = archive.messages.filter((m) => env.topicSet.has(byteKey(m.topic)));
  const loaded = {
    id,
    from: entry.metadata.from,
    to: entry.metadata.to,
    messages,
    skipped: archive.messages.length - messages.length,
  };
  cache?.set(key, loaded);
  return loaded;
}

export function isMissingKey(e: unknown): boolean {
  return e instanceof MissingKeyError;
}

/** Spec mode: the archive's range becomes canonical; earlier-imported archives of the same range are kept. */
export function replaceRange(env: CommunityEnv, archive: LoadedArchive): void {
  const { storage } = env.adapters;
  storage.deleteMessagesInRange(env.topics, archive.from, archive.to);
  for (const a of storage.archives(env.config.id)) {
    if (!a.imported || a.from !== archive.from || a.to !== archive.to) continue;
    storage.saveMessages(loadArchive(env, a.id).messages);
  }
}

/** Hand messages [from, to) of an archive (its chat messages) to the app; returns how many. */
export function importMessages(env: CommunityEnv, messages: WakuMessage[], from: number, to: number): number {
  if (to <= from) return 0;
  // Messages with a third-party id take the app's "imported messages" path; both paths end
  // in the node's message storage here.
  env.adapters.storage.saveMessages(
    from === 0 && to === messages.length ? messages : messages.slice(from, to),
  );
  return to - from;
}
