// The archive service: what the machines ask of one distribution backend (the reference's
// `ArchiveServiceBackend`, docs/content-addressed.md §1.2). The machines decide when (the
// periodic round, the §6.1 guards, every timer and retry, the quirk switches); a service
// does the backend's part of each step through the node's ports: the torrent one through
// `TorrentClient` and the community folder (machines/torrent-archive-service.ts), the
// content-addressed one through `ContentStore` (machines/content-archive-service.ts).
//
// A node runs the services its `archiveBackends` option enables. An owner makes every round
// with each of them and dispatches one link per service (dual publish); a member runs each
// task with the service of the link's kind and imports an archive through the service whose
// index lists it.

import type { WakuMessage } from '../proto/types.ts';
import type { CommunityEnv } from './community-env.ts';
import type { LoadedArchive } from './import-effects.ts';
import type { SignalInput } from './signals.ts';

export type ArchiveBackend = 'torrent' | 'cid';

/** What `archiveBackends` enables: one backend, or both (owner: dual publish; member: auto). */
export type ArchiveBackends = ArchiveBackend | 'both';

/** One entry of an index, as the member's plan holds it. */
export interface PlannedArchive {
  id: string;
  metadata: { from: number; to: number };
}

/** A round one service made: how many archives, and the observation that describes it. */
export interface MadeRound {
  archives: number;
  observation: SignalInput;
}

export interface ArchiveService {
  readonly backend: ArchiveBackend;
  /** Its client or store node runs (links of its kind are ignored otherwise, §6.1). */
  running(env: CommunityEnv): boolean;

  // --- control node (§5, §11.1)
  /** What goes before a round's creation (torrent: unseed, §5.2). */
  beforeRound(env: CommunityEnv): void | Promise<void>;
  /** The round's archives over [start, end), Unix seconds, from the stored messages of the range. */
  create(
    env: CommunityEnv,
    messages: WakuMessage[],
    start: number,
    end: number,
  ): MadeRound | Promise<MadeRound>;
  /** Seed what the last round made; whether something is seeded now. */
  seed(env: CommunityEnv): Promise<boolean>;
  /** Send the signed link of what is seeded on the magnetlink channel (§5.5). */
  dispatch(env: CommunityEnv, communityKey: Uint8Array): Promise<void>;

  // --- member (§6, §11.1)
  /** §6.2 step 1: whatever comes before the index (torrent: stop seeding, add, metadata). */
  open(env: CommunityEnv, link: string, signal: AbortSignal): Promise<void>;
  /** Steps 2–3: the link's index, ascending `from`; MalformedTorrent when it cannot be used. */
  loadIndex(env: CommunityEnv, link: string, signal: AbortSignal): Promise<PlannedArchive[]>;
  /** Step 5 for one archive: fetched, held locally, recorded and signalled. */
  fetchArchive(env: CommunityEnv, archive: PlannedArchive, signal: AbortSignal): Promise<void>;
  /** Step 6: keep serving what the task fetched. */
  keep(env: CommunityEnv, link: string): void | Promise<void>;
  /**
   * §6.3: a downloaded archive, decoded, when this service's local index lists it (else
   * undefined). The torrent's is synchronous, and asked last: it throws for an archive the
   * index on disk does not list.
   */
  load(env: CommunityEnv, id: string): LoadedArchive | undefined | Promise<LoadedArchive | undefined>;
  /** The actor is gone (leave, protocol disabled): stop serving the community. */
  close(env: CommunityEnv): void;
}
