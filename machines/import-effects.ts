// A member's import effects (§6.3–§6.4): which archive is next, reading and decoding it
// from `data`, spec mode's canonical range, and handing messages to the app's storage.

import { MissingKeyError, readArchiveMessages, UnknownArchiveError } from '../archive/index.ts';
import { byteKey } from '../proto/byte-key.ts';
import type { WakuMessage } from '../proto/types.ts';
import type { CommunityEnv } from './community-env.ts';
import { folderOf, indexEntries } from './download-effects.ts';

export interface LoadedArchive {
  id: string;
  from: number;
  to: number;
  /** Messages whose topic is one of the community's chats (the others are skipped). */
  messages: WakuMessage[];
  /** Messages of the archive on no chat of the community. */
  skipped: number;
  /** Every message of the archive: the reference chunks them all, and skips per chunk. */
  total: number;
  /** Index in the archive of each of `messages`, when some were skipped. */
  positions?: Uint32Array;
}

export type NextArchive = { kind: 'none' } | { kind: 'notMember' } | { kind: 'archive'; id: string };

export function nextArchiveToImport(env: CommunityEnv): NextArchive {
  if (!env.isMember()) return { kind: 'notMember' };
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
  const loaded = loadedFrom(env, id, entry.metadata.from, entry.metadata.to, archive.messages);
  cache?.set(key, loaded);
  return loaded;
}

/** An archive's messages as the import takes them: those on the community's chats, in order. */
export function loadedFrom(
  env: CommunityEnv,
  id: string,
  from: number,
  to: number,
  all: WakuMessage[],
): LoadedArchive {
  const messages: WakuMessage[] = [];
  const kept: number[] = [];
  all.forEach((m, i) => {
    if (!env.topicSet.has(byteKey(m.topic))) return;
    messages.push(m);
    kept.push(i);
  });
  const total = all.length;
  return {
    id,
    from,
    to,
    messages,
    skipped: total - messages.length,
    total,
    ...(messages.length < total ? { positions: Uint32Array.from(kept) } : {}),
  };
}

/** Chunks of an archive's import: every message counts, the skipped ones too (§6.3). */
export function chunksOf(archive: LoadedArchive, chunkSize: number): number {
  return Math.ceil(archive.total / chunkSize);
}

/** How many of the archive's kept messages the first `chunks` chunks hold. */
export function messagesInChunks(archive: LoadedArchive, chunks: number, chunkSize: number): number {
  const end = chunks * chunkSize;
  if (end >= archive.total) return archive.messages.length;
  const p = archive.positions;
  if (!p) return end;
  let lo = 0;
  let hi = p.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((p[mid] as number) < end) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function isMissingKey(e: unknown): boolean {
  return e instanceof MissingKeyError;
}

/** Spec mode: the archive's range becomes canonical; earlier-imported archives of the same range are kept. */
export function replaceRange(env: CommunityEnv, archive: LoadedArchive): void | Promise<void> {
  const { storage } = env.adapters;
  storage.deleteMessagesInRange(env.topics, archive.from, archive.to);
  const earlier = storage
    .archives(env.config.id)
    .filter((a) => a.imported && a.from === archive.from && a.to === archive.to);
  const loads = earlier.map((a) => loadHeld(env, a.id));
  // The torrent backend alone reads synchronously, as before there were services.
  if (!loads.some((l) => l instanceof Promise)) {
    for (const l of loads) storage.saveMessages((l as LoadedArchive).messages);
    return;
  }
  return (async () => {
    for (const l of loads) storage.saveMessages((await l).messages);
  })();
}

/**
 * A downloaded archive from the service whose local index lists it, the torrent's asked last
 * (the index on disk throws for an archive it does not list either). Synchronous when every
 * service asked answers synchronously (the torrent backend alone).
 */
export function loadHeld(env: CommunityEnv, id: string): LoadedArchive | Promise<LoadedArchive> {
  // env.services lists the torrent first (node.machine.ts): asked from the end, it comes last.
  const services = env.services;
  const next = (i: number): LoadedArchive | Promise<LoadedArchive> => {
    const service = services[services.length - 1 - i];
    if (!service) throw new UnknownArchiveError(id);
    const found = service.load(env, id);
    if (found instanceof Promise) return found.then((f) => f ?? next(i + 1));
    return found ?? next(i + 1);
  };
  return next(0);
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

/** Reads and decodes an archive for import; spec mode first makes its range canonical (§9). */
export async function readArchive(env: CommunityEnv, id: string): Promise<LoadedArchive> {
  const held = loadHeld(env, id);
  const archive = held instanceof Promise ? await held : held;
  if (env.options.importMode === 'replace') {
    const replaced = replaceRange(env, archive);
    if (replaced instanceof Promise) await replaced;
  }
  return archive;
}
