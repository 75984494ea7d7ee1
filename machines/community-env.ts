// The per-community environment the machines share: what the host said about the community,
// the node's ports and options, the topics it lives on, and the little running state that
// is not persisted (which torrent is active, whether a task is open). Storage holds the rest.

import type { CidIndex } from '../archive/content-round.ts';
import type { ArchiveCodec } from '../archive/index.ts';
import type { NodeAdapters, TorrentDownload, TorrentMetadata } from '../ports/index.ts';
import { byteKey } from '../proto/byte-key.ts';
import { magnetlinkTopicOf } from '../proto/magnetlink-channel.ts';
import { chatTopic, contentTopicOf } from '../proto/topics.ts';
import type { ArchiveBackend, ArchiveService } from './archive-service.ts';
import { type EffectSlot, newEffectSlot } from './effects.ts';
import type { ImportLimiter } from './import-limiter.ts';
import type { MachineOptions } from './options.ts';
import type { SignalBus } from './signals.ts';

/** What the host tells the node about a community it belongs to. */
export interface CommunityConfig {
  /** Community id as `communityIdOf` returns it (the compressed public key in hex). */
  id: string;
  /** Chat ids of the community; their topics are the archived topics. */
  chats: string[];
  /** Joined (default true). */
  joined?: boolean;
  /**
   * The community's member list still includes this node (default true). A node removed from
   * it (kicked, banned) while it has the community joined has `joined` true and `member`
   * false: its import stops (§6.3), and with archives left to import its start fails
   * (docs/reference-behaviour.md §4).
   */
  member?: boolean;
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
  /** The node's import rate limiter, shared by every community of the node (§6.3). */
  importLimiter: ImportLimiter;
  /** Wait for a store node before the start-up (the node's own start, docs/reference-behaviour.md §2). */
  awaitStore: boolean;
  /** §5.5 lookup: does the node still hold this community? */
  lookup: (communityId: string) => boolean;
  /** §6.3 membership check: joined, and on the community's member list (node's current view). */
  isMember: () => boolean;
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
  /** The port call the community's actor waits on (machines/effects.ts). */
  effects: EffectSlot;
  /** The distribution backends the node runs (machines/archive-service.ts), torrent first. */
  services: readonly ArchiveService[];
  /** Backend of the running task's link (a link of the other kind does not cancel it). */
  taskBackend?: ArchiveBackend;
  /** The last content-addressed index decoded, by its cid (import reads each archive through it). */
  cidIndex?: { cid: string; index: CidIndex };
}

export function createCommunityEnv(args: {
  nodeId: string;
  adapters: NodeAdapters;
  options: MachineOptions;
  bus: SignalBus;
  config: CommunityConfig;
  nodeStartedAt: number;
  importLimiter: ImportLimiter;
  awaitStore: boolean;
  lookup: (communityId: string) => boolean;
  isMember: () => boolean;
  fault: (error: string) => void;
  services: readonly ArchiveService[];
}): CommunityEnv {
  const { config } = args;
  const topics = config.chats.map((c) => chatTopic(c));
  const magnetTopic = magnetlinkTopicOf(config.id);
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
    effects: newEffectSlot(),
  };
}

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

/** Throws an AbortError once `signal` is aborted (a wait was given up while it ran). */
export function aborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new DOMException('aborted', 'AbortError');
}

export const nowSeconds = (env: CommunityEnv): number => Math.floor(env.adapters.clock.now() / 1000);
