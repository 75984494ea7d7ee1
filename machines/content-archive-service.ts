// The content-addressed backend of the archive service (protocol.md §11, §11.1;
// docs/content-addressed.md): every archive uploaded on its own to the node's content store,
// an index mapping archive id -> {metadata, cid} uploaded last, and the index's cid announced
// as the archive link in the same type-43 message a magnet link travels in. "Seeding" is
// asking the local store node to keep the index; "unseeding" is dropping it. A member fetches
// the index by its cid, then each archive it lacks by the archive's cid, and imports from what
// its own store holds.
//
// Timers are the machines' (the 20 s index fetch, the one timer of the archive phase); every
// wait here takes the task's AbortSignal.

import {
  type CidIndex,
  cidEntriesByFrom,
  cidIndexesToUnseed,
  createCidRound,
  decodeStoredCidIndex,
  loadPreviousCidIndex,
  readCidArchive,
  verifyCidIndex,
} from '../archive/content-round.ts';
import { ArchiveFormatError } from '../archive/index.ts';
import { type ContentStore, InvalidContentId } from '../ports/index.ts';
import { magnetlinkChannelMessage } from '../proto/magnetlink-channel.ts';
import type { WakuMessage } from '../proto/types.ts';
import type { ArchiveService, MadeRound, PlannedArchive } from './archive-service.ts';
import { aborted, type CommunityEnv, MalformedTorrent } from './community-env.ts';
import { loadedFrom } from './import-effects.ts';
import { recordMagnetlinkClockInDescription } from './seeding.ts';

/** An entry of a content-addressed index, as the member's plan holds it. */
export interface PlannedCidArchive extends PlannedArchive {
  cid: string;
}

function storeOf(env: CommunityEnv): ContentStore {
  const store = env.adapters.content;
  if (!store)
    throw new Error(`node ${env.nodeId} runs the content-addressed backend without a content store`);
  return store;
}

/** The decoded index `cid`, from the community's one-entry cache or the local store. */
async function heldIndex(env: CommunityEnv, cid: string): Promise<CidIndex> {
  if (env.cidIndex?.cid === cid) return env.cidIndex.index;
  const index = decodeStoredCidIndex(await storeOf(env).readLocal(cid), env.config.codec, `index ${cid}`);
  env.cidIndex = { cid, index };
  return index;
}

function fetchFailed(env: CommunityEnv, cid: string, what: 'index' | 'archive', error: unknown): void {
  env.bus.emit({
    type: 'archive.cidFetchFailed',
    communityId: env.config.id,
    cid,
    what,
    error: String(error),
  });
}

export const contentArchiveService: ArchiveService = {
  backend: 'cid',
  running: (env) => env.adapters.content?.running ?? false,

  // --- control node

  // Nothing to stop first: the previous index must stay held for its entries to be kept.
  beforeRound: () => undefined,

  async create(env: CommunityEnv, messages: WakuMessage[], start: number, end: number): Promise<MadeRound> {
    const store = storeOf(env);
    const { storage } = env.adapters;
    const id = env.config.id;
    const last = storage.getArchiveState(id).indexCid;
    const codec = env.config.codec;
    const previous = await loadPreviousCidIndex(store, last, codec);
    const round = await createCidRound(store, {
      topics: env.topics,
      messages,
      start,
      end,
      previous,
      options: {
        archiveInterval: Math.floor(env.options.archiveIntervalMs / 1000),
        maxArchiveChunk: env.options.maxArchiveChunk,
      },
      ...(codec ? { codec } : {}),
    });
    if (round.indexCid !== undefined) {
      storage.updateArchiveState(id, { indexCid: round.indexCid });
      env.cidIndex = { cid: round.indexCid, index: round.index };
      for (const old of cidIndexesToUnseed(last, round.indexCid, env.options.cidInvertedUnseed)) {
        await store.drop(old);
        env.bus.emit({ type: 'archive.indexCidUnseeded', communityId: id, indexCid: old });
      }
    }
    return {
      archives: round.archives.length,
      observation: {
        type: 'archive.cidRoundCreated',
        communityId: id,
        start,
        end,
        archives: round.archives.map((a) => ({ ...a })),
        dropped: round.dropped,
        ...(round.indexCid !== undefined ? { indexCid: round.indexCid } : {}),
      },
    };
  },

  async seed(env) {
    const cid = env.adapters.storage.getArchiveState(env.config.id).indexCid;
    const store = env.adapters.content;
    if (cid === undefined || !store?.running) return false;
    await store.keep(cid);
    env.bus.emit({ type: 'archive.indexCidSeeded', communityId: env.config.id, indexCid: cid });
    return true;
  },

  async dispatch(env, key) {
    const { clock, storage, messaging } = env.adapters;
    const id = env.config.id;
    const st = storage.getArchiveState(id);
    const cid = st.indexCid;
    if (cid === undefined) return;
    // Its own clock beside the magnetlink's (both strictly increasing, invariant 6).
    const clockMs = Math.max(clock.now(), (st.indexCidClock ?? 0) + 1);
    const { contentTopic, message } = magnetlinkChannelMessage(env.magnetTopic, key, clockMs, cid);
    storage.updateArchiveState(id, { indexCidClock: clockMs });
    env.bus.emit({
      type: 'archive.indexCidDispatched',
      communityId: id,
      clock: clockMs,
      indexCid: cid,
      signer: id,
    });
    await messaging.publish({ pubsubTopic: env.magnetPubsubTopic, contentTopic, message });
    recordMagnetlinkClockInDescription(env.adapters, id, Math.max(clockMs, st.magnetlinkClock ?? 0));
  },

  // --- member

  // No metadata step: the link is the index's own id.
  open: () => Promise.resolve(),

  async loadIndex(env, link, signal): Promise<PlannedCidArchive[]> {
    let bytes: Uint8Array;
    try {
      bytes = await storeOf(env).fetch(link, { signal });
    } catch (error) {
      if (!signal.aborted) fetchFailed(env, link, 'index', error);
      if (error instanceof InvalidContentId) throw new MalformedTorrent(`index link ${error.message}`);
      throw error;
    }
    aborted(signal);
    let index: CidIndex;
    try {
      index = decodeStoredCidIndex(bytes, env.config.codec, `index ${link}`);
    } catch (error) {
      if (error instanceof ArchiveFormatError) throw new MalformedTorrent(`index ${link}: ${error.message}`);
      throw error;
    }
    // Real nodes check every entry's id and range (§10 invariant 3 for this backend); the
    // reference trusts the index.
    const problems = env.options.validateIndex ? verifyCidIndex(index) : [];
    if (problems.length > 0) throw new MalformedTorrent(`index ${link}: ${problems.join('; ')}`);
    // The store keeps what it fetched: this is the index the member now imports from.
    env.adapters.storage.updateArchiveState(env.config.id, { indexCid: link });
    env.cidIndex = { cid: link, index };
    const entries = cidEntriesByFrom(index);
    env.bus.emit({
      type: 'archive.indexRead',
      communityId: env.config.id,
      infoHash: link,
      ids: entries.map(([id]) => id),
      kind: 'cid',
    });
    return entries.map(([id, e]) => ({ id, metadata: e.metadata, cid: e.cid }));
  },

  async fetchArchive(env, archive, signal) {
    const { cid } = archive as PlannedCidArchive;
    try {
      await storeOf(env).fetch(cid, { signal });
    } catch (error) {
      if (!signal.aborted) fetchFailed(env, cid, 'archive', error);
      throw error;
    }
    aborted(signal);
    env.adapters.storage.markArchiveDownloaded(env.config.id, {
      id: archive.id,
      from: archive.metadata.from,
      to: archive.metadata.to,
    });
    env.bus.emit({
      type: 'community.historyArchiveDownloaded',
      communityId: env.config.id,
      from: archive.metadata.from,
      to: archive.metadata.to,
    });
  },

  async keep(env, link) {
    const store = storeOf(env);
    const id = env.config.id;
    const last = env.adapters.storage.getArchiveState(id).lastSeenIndexCid;
    await store.keep(link);
    env.bus.emit({ type: 'archive.indexCidSeeded', communityId: id, indexCid: link });
    for (const old of cidIndexesToUnseed(last, link, env.options.cidInvertedUnseed)) {
      await store.drop(old);
      env.bus.emit({ type: 'archive.indexCidUnseeded', communityId: id, indexCid: old });
    }
  },

  async load(env, id) {
    const cid = env.adapters.storage.getArchiveState(env.config.id).indexCid;
    if (cid === undefined) return undefined;
    const index = await heldIndex(env, cid);
    const entry = index.archives.get(id);
    if (!entry) return undefined;
    const archive = await readCidArchive(storeOf(env), index, id, env.config.codec);
    return loadedFrom(env, id, entry.metadata.from, entry.metadata.to, archive.messages);
  },

  // The store node keeps serving what it holds; the next round or task decides what to drop.
  close: () => undefined,
};
