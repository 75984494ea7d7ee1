// The torrent backend of the archive service (§4–§6): rounds written into the community
// folder and its `.torrent`, seeded by the torrent client, announced as a magnet link;
// members add the magnet, read the `index` file and fetch each archive's piece range. The
// steps themselves live in archive-rounds.ts, seeding.ts, download-effects.ts and
// import-effects.ts; this file is the table of which step answers which call.

import type { WakuMessage } from '../proto/types.ts';
import { createTorrentRound } from './archive-rounds.ts';
import type { ArchiveService, MadeRound, PlannedArchive } from './archive-service.ts';
import type { CommunityEnv } from './community-env.ts';
import { fetchArchive, fetchIndex, fetchMetadata, type IndexEntry } from './download-effects.ts';
import { loadArchive } from './import-effects.ts';
import { dispatchMagnetlink, releaseTorrent, seedTorrentFile, unseed } from './seeding.ts';

export const torrentArchiveService: ArchiveService = {
  backend: 'torrent',
  running: (env) => env.adapters.torrent.running,

  beforeRound: (env) => unseed(env),
  create: (env: CommunityEnv, messages: WakuMessage[], start: number, end: number): MadeRound =>
    createTorrentRound(env, messages, start, end),
  seed: (env) => seedTorrentFile(env),
  dispatch: (env, key) => dispatchMagnetlink(env, key),

  open: async (env, link, signal) => {
    await fetchMetadata(env, link, signal);
  },
  loadIndex: (env, _link, signal) => fetchIndex(env, signal),
  fetchArchive: (env, archive: PlannedArchive, signal) => fetchArchive(env, archive as IndexEntry, signal),
  keep: async (env) => {
    if (!env.download) return;
    env.seeding = true;
    env.bus.emit({
      type: 'archive.torrentSeeded',
      communityId: env.config.id,
      infoHash: env.download.handle.infoHash,
    });
  },
  // Asked last: an archive the index on disk does not list is an error there.
  load: (env, id) => loadArchive(env, id),
  close: (env) => releaseTorrent(env),
};
