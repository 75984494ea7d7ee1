// A member's download effects (§6.2): the torrent's metadata, the `index` file, which
// archives to fetch (the count-compare quirk and the §9 download policy), one archive's
// piece range, and the seeding that follows. Each wait takes the AbortSignal of its call.

import { communityFolder, readIndex } from '../archive/index.ts';
import { indexLayoutVerdict, torrentLayoutVerdict } from '../archive/index-layout.ts';
import type { TorrentMetadata } from '../ports/index.ts';
import type { WakuMessageArchiveIndexMetadata } from '../proto/types.ts';
import type { ArchiveService, PlannedArchive } from './archive-service.ts';
import { aborted, type CommunityEnv, MalformedTorrent } from './community-env.ts';
import type { DownloadPolicy } from './options.ts';
import { announceSeeding, unseed } from './seeding.ts';

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
  // Real nodes check the torrent's files and the index against §10 invariant 3 before
  // fetching a single archive (`validateIndex`; the reference trusts them).
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

export interface DownloadPlan {
  /** Archives to fetch, ascending `from`. */
  archives: PlannedArchive[];
  /** Step 4's "no new archives": nothing is fetched and nothing is signalled. */
  nothingNew: boolean;
}

/**
 * Step 4 and the §9 policy: which archives to fetch. The reference's only early stop is the
 * count comparison; past it, an empty list still signals started and seeding
 * (`signalEmptyDownload`, docs/reference-behaviour.md §3).
 */
export function planDownload(env: CommunityEnv, entries: PlannedArchive[]): DownloadPlan {
  const known = env.adapters.storage.archives(env.config.id);
  const byCount = env.options.countCompareNoNewArchives;
  const knownIds = new Set(known.map((a) => a.id));
  // A member taking links of both backends holds some archives under the other backend's
  // ids (the two index the same partitions differently): an archive of a range it already
  // holds is not fetched again, and the count compare counts the index's entries it holds
  // that way (its own count would compare archives of two different indexes).
  const knownRanges =
    env.options.archiveBackends === 'both' ? new Set(known.map((a) => `${a.from}-${a.to}`)) : undefined;
  const held = (e: PlannedArchive): boolean =>
    knownIds.has(e.id) || (knownRanges?.has(`${e.metadata.from}-${e.metadata.to}`) ?? false);
  const knownCount = knownRanges ? entries.filter(held).length : known.length;
  if (byCount && knownCount === entries.length) return { archives: [], nothingNew: true };
  const missing = entries.filter((e) => !held(e));
  const archives = applyPolicy(env.options.downloadPolicy, missing, entries);
  return { archives, nothingNew: archives.length === 0 && !(byCount && env.options.signalEmptyDownload) };
}

function applyPolicy(
  policy: DownloadPolicy,
  missing: PlannedArchive[],
  all: PlannedArchive[],
): PlannedArchive[] {
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

/** Step 6: a member keeps serving what it has (and never dispatches). */
export async function memberSeeding(env: CommunityEnv, service: ArchiveService, link: string): Promise<void> {
  const kept = service.keep(env, link);
  if (kept instanceof Promise) await kept;
  await announceSeeding(env);
}
