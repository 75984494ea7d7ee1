// The control node's effects (§5.1, §5.4): where the next partition starts, creating a
// round of archives over a range, and the start-up catch-up that decides when the first
// round is due.

import { createArchiveRound } from '../archive/index.ts';
import type { NodeAdapters } from '../ports/index.ts';
import { byteKey } from '../proto/byte-key.ts';
import { contentTopicOf, toHex } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';
import type { ArchiveBackend, MadeRound } from './archive-service.ts';
import { aborted, type CommunityEnv, nowSeconds } from './community-env.ts';

/** §5.1 partition start: last archive end date, else the oldest stored message. */
export function partitionStart(env: CommunityEnv): number | undefined {
  const st = env.adapters.storage.getArchiveState(env.config.id);
  return st.lastArchiveEndDate ?? env.adapters.storage.oldestMessageTimestamp(env.topics);
}

/**
 * The "create" of createAndSeed (§5.2) over [start, end) in Unix seconds, with every service
 * the node runs: what goes before (the torrent's unseed), then §5.1 (§11.1) once per
 * backend over the same messages. The machine seeds and announces next.
 */
export async function createRound(env: CommunityEnv, start: number, end: number): Promise<void> {
  const { storage } = env.adapters;
  const id = env.config.id;
  for (const service of env.services) {
    const before = service.beforeRound(env);
    if (before instanceof Promise) await before;
  }
  env.bus.emit({ type: 'community.creatingHistoryArchives', communityId: id });
  const messages = storage.messagesInRange(env.topics, start, end);
  const made: MadeRound[] = [];
  const failed: { backend: ArchiveBackend; error: unknown }[] = [];
  for (const service of env.services) {
    try {
      // A synchronous backend (the torrent's) stays synchronous: no turn of the event loop
      // between reading the messages and signalling the round.
      const round = service.create(env, messages, start, end);
      made.push(round instanceof Promise ? await round : round);
    } catch (error) {
      failed.push({ backend: service.backend, error });
    }
  }
  // Dual publish: a backend that could not make its round (its store is down) misses this
  // one; the other's round stands, and the range is not archived a second time. Only when
  // every backend failed does the round fail (the next interval tries the range again).
  if (made.length === 0 && failed[0]) throw failed[0].error;
  for (const f of failed)
    env.bus.emit({
      type: 'archive.roundFailed',
      communityId: id,
      backend: f.backend,
      error: String(f.error),
    });
  if (made.some((m) => m.archives > 0)) {
    env.bus.emit({ type: 'community.historyArchivesCreated', communityId: id, from: start, to: end });
  } else {
    env.bus.emit({ type: 'community.noHistoryArchivesCreated', communityId: id, from: start, to: end });
  }
  storage.updateArchiveState(id, { lastArchiveEndDate: end });
  for (const m of made) env.bus.emit(m.observation);
}

/** §5.1 into the community folder and its `.torrent` (the torrent backend's round). */
export function createTorrentRound(
  env: CommunityEnv,
  messages: WakuMessage[],
  start: number,
  end: number,
): MadeRound {
  const { fs, dataDir, torrentDir, keys, clock } = env.adapters;
  const id = env.config.id;
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
    ...(priv ? { createdBy: torrentCreatedBy(keys) } : {}),
    ...(env.options.torrentTrackers ? { trackers: [...env.options.torrentTrackers] } : {}),
    creationDate: Math.floor(clock.now() / 1000),
  });
  return {
    archives: round.archives.length,
    observation: {
      type: 'archive.roundCreated',
      communityId: id,
      start,
      end,
      archives: round.archives.map((a) => ({ ...a })),
      dropped: round.dropped,
      ...(round.infoHash ? { infoHash: round.infoHash } : {}),
      ...(round.magnet ? { magnet: round.magnet } : {}),
    },
  };
}

/** `created by` of the torrents this node writes: its identity key, uncompressed, in 0x-hex (§12). */
export function torrentCreatedBy(keys: NodeAdapters['keys']): string {
  return toHex(keys.nodeIdentity().publicKey);
}

export type StartupPlan =
  | { kind: 'periodic' }
  /** The store query failed: no periodic task for this community (reference quirk). */
  | { kind: 'noTask' }
  | { kind: 'wait'; last: number; at: number }
  | { kind: 'now'; start: number; end: number };

/**
 * §5.4 steps 2–4 up to the decision (step 1, seeding an existing torrent, is the machine's
 * state before): the store catch-up and when the first round is due. The reference goes on
 * to the next community when the store query fails, starting no periodic task for this one
 * (`storeFailureStopsArchiving`, docs/reference-behaviour.md §2).
 */
export async function catchUp(env: CommunityEnv, signal?: AbortSignal): Promise<StartupPlan> {
  const { storage, messaging } = env.adapters;
  const id = env.config.id;
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
    if (env.options.storeFailureStopsArchiving) return { kind: 'noTask' };
  }
  const last = partitionStart(env);
  const t = nowSeconds(env);
  const interval = Math.floor(env.options.archiveIntervalMs / 1000);
  if (last === undefined) return { kind: 'periodic' };
  if (t - last < interval) return { kind: 'wait', last, at: last + interval };
  return { kind: 'now', start: last, end: t };
}
