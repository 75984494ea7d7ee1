// One archivist node on the real adapters: node:sqlite storage, BitTorrent over TCP, libp2p Waku
// relay (+ the store service when configured), a Helia content store for the content-addressed
// backend (when configured), the system clock and node:fs, handed to the machines through the
// embedding API. `archivist node --config <file>` runs this.

import { isAbsolute, resolve } from 'node:path';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { z } from 'zod';
import { BitTorrentClient, ListenError, parseMagnet } from '../adapters/real/bittorrent-client.ts';
import type { HeliaContentStore } from '../adapters/real/helia-content-store.ts';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { installationIdFor } from '../adapters/real/public-chat-wire.ts';
import { SqliteStorage } from '../adapters/real/sqlite-storage.ts';
import { SystemClock } from '../adapters/real/system-clock.ts';
import { REFERENCE_TRACKERS } from '../archive/index.ts';
import { type ArchiveNode, createArchiveNode } from '../machines/embed.ts';
import { HARDENED_OPTIONS, type MachineOptions, resolveOptions } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import type {
  FileSystem,
  KeyStore,
  Messaging,
  NodeAdapters,
  RelayMessage,
  TorrentClient,
  TorrentDownload,
} from '../ports/index.ts';
import { decodeMagnetlinkMessage, generateCommunityKey, publicKeyOf } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, fromHex, magnetlinkChannelId, toHex } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';
import {
  ARCHIVE_BACKENDS,
  archiveBackendsOf,
  ContentConfigSchema,
  contentIssues,
  contentStoreOptions,
} from './content-config.ts';

const hex = (len: number) =>
  z.string().regex(new RegExp(`^(0x)?[0-9a-fA-F]{${len}}$`), `expected ${len} hex digits`);

/** Why `text` is not a multiaddr libp2p can dial (a bad peer id included), or undefined. */
function multiaddrProblem(text: string): string | undefined {
  try {
    for (const c of multiaddr(text).getComponents())
      if (c.name === 'p2p' && c.value) peerIdFromString(c.value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const peerAddress = z.string().superRefine((text, ctx) => {
  const problem = multiaddrProblem(text);
  if (problem)
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(text)} is not a multiaddr like /ip4/127.0.0.1/tcp/60000/p2p/12D3Koo… (${problem})`,
    });
});

export const RealNodeConfigSchema = z
  .object({
    nodeId: z.string().min(1).default('node'),
    /**
     * The node's identity private key (the reference's account key): signs what this node
     * sends on Waku and is the `created by` of its torrents. Absent = a new random identity
     * at every start.
     */
    nodeKey: hex(64).optional(),
    /** Device id sent with every message; default derived from the identity's public key. */
    installationId: z.string().min(1).optional(),
    /** Folder of community folders; relative paths are relative to the config file. */
    dataDir: z.string().min(1),
    torrentDir: z.string().min(1),
    database: z.string().min(1),
    torrent: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(0),
        peers: z.array(z.string().regex(/^[^\s:/]+:\d{1,5}$/, 'expected host:port')).default([]),
        downloadLimit: z.number().int().positive().optional(),
        /** Trackers written into the torrents' announce-list (default: the reference's two); [] = none. */
        announceList: z.array(z.string().min(1)).default([...REFERENCE_TRACKERS]),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 0, peers: [], announceList: [...REFERENCE_TRACKERS] }),
    messaging: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(0),
        /** Also listen for relay peers on websockets (js-waku dials only websockets); 0 = any free port. */
        websocketPort: z.number().int().min(0).max(65535).optional(),
        peers: z.array(peerAddress).default([]),
        storePeers: z.array(peerAddress).default([]),
        /** Run archivist's store service on this node, for the communities' pubsub topics. */
        store: z.object({ retentionSeconds: z.number().positive() }).strict().optional(),
        /** History sync on subscribe (seconds back), from `storePeers`. */
        historySeconds: z.number().int().positive().optional(),
        /** Also take magnetlinks in archivist's earlier bare version-0 form (default true). */
        acceptBareMagnetlinks: z.boolean().default(true),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 0, peers: [], storePeers: [], acceptBareMagnetlinks: true }),
    communities: z
      .array(
        z
          .object({
            id: hex(66),
            chats: z.array(z.string()).default([]),
            /** The community's secp256k1 private key: this node is its control node. */
            privateKey: hex(64).optional(),
            joined: z.boolean().optional(),
            archiveSupport: z.boolean().optional(),
          })
          .strict(),
      )
      .default([]),
    /**
     * Patch over the machines' options (protocol.md §2 constants, §9 switches), applied over
     * HARDENED_OPTIONS (`boundMagnetlinkClock: false` / `validateIndex: false` = the reference).
     */
    options: z.record(z.string(), z.union([z.number(), z.boolean(), z.string()])).default({}),
    importRate: z.enum(['slow', 'fast']).optional(),
    /** Before starting the machines, wait until this many peers relay every community topic. */
    waitForRelayPeers: z.number().int().min(0).default(0),
    /**
     * The distribution backends the machines run (protocol.md §11): the torrent (default),
     * the content-addressed one ('cid', needs `content`), or both (owner: dual publish;
     * member: auto). Overrides an `archiveBackends` in `options`.
     */
    archiveBackends: z.enum(ARCHIVE_BACKENDS).optional(),
    /** The node's content store (host/content-config.ts); required unless archiveBackends is torrent. */
    content: ContentConfigSchema.optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    for (const issue of contentIssues(config)) ctx.addIssue({ code: 'custom', ...issue });
  });

export type RealNodeConfig = z.infer<typeof RealNodeConfigSchema>;

/**
 * A config that parses but cannot run as given: a port in use, an address not on this
 * machine, a peer that cannot be reached. `field` is the config field to change.
 */
export class RealNodeConfigError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'RealNodeConfigError';
    this.field = field;
  }
}

const LISTEN_CODES: Record<string, string> = {
  EADDRINUSE: 'is in use by another process',
  EADDRNOTAVAIL: 'is not an address of this machine',
  EACCES: 'needs privileges this process does not have',
};

/**
 * A listen failure as the config field to change, or undefined when `err` is another
 * failure. libp2p reports only a message naming the failing address and the errno code.
 */
function listenProblem(
  err: unknown,
  fields: { host: string; port: string; wsPort?: string },
  address: (ws: boolean) => string,
): RealNodeConfigError | undefined {
  const code =
    err instanceof ListenError
      ? err.code
      : /\b(EADDRINUSE|EADDRNOTAVAIL|EACCES)\b/.exec(String((err as Error | undefined)?.message ?? ''))?.[1];
  if (!code || !LISTEN_CODES[code]) return undefined;
  const ws = fields.wsPort !== undefined && /\/ws\b[^\n]*E[A-Z]+/.test(String((err as Error).message));
  const field = code === 'EADDRNOTAVAIL' ? fields.host : ws ? fields.wsPort! : fields.port;
  return new RealNodeConfigError(
    field,
    `cannot listen on ${address(ws)}: it ${LISTEN_CODES[code]} (${code})`,
  );
}

export interface RealNodeInfo {
  nodeId: string;
  /** The node's identity public key, uncompressed, 0x-hex (the `created by` of its torrents). */
  identity: string;
  /**
   * null when the torrent client could not start (its port in use, …): the node runs on
   * without it; also null when the node runs the content-addressed backend alone.
   */
  torrentPort: number | null;
  multiaddrs: string[];
  /** Addresses of the node's content store (with its peer id), for other stores' `content.peers`; [] without one. */
  contentMultiaddrs: string[];
}

export interface RealNode {
  readonly node: ArchiveNode;
  readonly adapters: NodeAdapters;
  readonly info: RealNodeInfo;
  /** Stops the machines (tasks, torrent client), then the content store, messaging and storage. */
  stop(): Promise<void>;
}

function strip0x(h: string): string {
  return h.startsWith('0x') || h.startsWith('0X') ? h.slice(2) : h;
}

/** Community ids are written as proto/signing's communityIdOf writes them; only the case is normalised. */
function normaliseId(id: string): string {
  return id.toLowerCase();
}

/**
 * Host-side guard: which community announced which torrent. The node watches its
 * communities' magnetlink channels; a link that decodes and is signed by the channel's
 * community records "info-hash -> community". When the machines then add that magnet, the
 * torrent client is told the community, and a torrent whose folder is another community's
 * is refused (a link signed by one community pointing at another community's torrent).
 */
export class AnnouncedTorrents {
  readonly #byInfoHash = new Map<string, string>();
  readonly #channels = new Map<string, string>();

  constructor(communityIds: string[]) {
    for (const id of communityIds) this.#channels.set(contentTopicOf(chatTopic(magnetlinkChannelId(id))), id);
  }

  observe(msg: RelayMessage): void {
    const community = this.#channels.get(msg.contentTopic);
    if (!community) return;
    try {
      const link = decodeMagnetlinkMessage(msg.message.payload);
      if (link.signer !== community) return;
      this.#byInfoHash.set(parseMagnet(link.magnetUri).infoHash, community);
    } catch {
      // Undecodable or unsigned: the machines ignore it too.
    }
  }

  communityOf(magnetUri: string): string | undefined {
    try {
      return this.#byInfoHash.get(parseMagnet(magnetUri).infoHash);
    } catch {
      return undefined;
    }
  }
}

function guardedMessaging(inner: Messaging, announced: AnnouncedTorrents): Messaging {
  return {
    publish: (msg) => inner.publish(msg),
    whenStoreAvailable: (signal) => inner.whenStoreAvailable(signal),
    queryStore: async (q) => {
      const found = await inner.queryStore(q);
      for (const msg of found) announced.observe(msg);
      return found;
    },
    subscribe: (pubsubTopic, contentTopics, handler) =>
      inner.subscribe(pubsubTopic, contentTopics, (msg) => {
        announced.observe(msg);
        handler(msg);
      }),
  };
}

function guardedTorrent(inner: BitTorrentClient, announced: AnnouncedTorrents): TorrentClient {
  return {
    get running() {
      return inner.running;
    },
    start: () => inner.start(),
    stop: () => inner.stop(),
    seed: (torrentFile, parentDir) => inner.seed(torrentFile, parentDir),
    add: (magnetUri, parentDir): TorrentDownload => {
      const community = announced.communityOf(magnetUri);
      return inner.add(magnetUri, parentDir, community ? { community } : {});
    },
    remove: (infoHash) => inner.remove(infoHash),
    active: () => inner.active(),
    stats: () => inner.stats(),
  };
}

export interface StartRealNodeArgs {
  config: RealNodeConfig;
  /** Folder relative paths of the config are resolved against. */
  baseDir: string;
  fs: FileSystem;
  onSignal: (signal: NodeSignal) => void;
  /** Called once the transports listen, before the machines start. */
  onListening?: (info: RealNodeInfo) => void;
  /** A problem the node runs on with (e.g. its torrent port in use), as one line naming the field. */
  onWarning?: (message: string) => void;
  /** Chat messages saved to storage before the machines start (an owner's history to archive). */
  preload?: WakuMessage[];
  signal?: AbortSignal;
}

export async function startRealNode(args: StartRealNodeArgs): Promise<RealNode> {
  const { config, baseDir, fs } = args;
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const announceList = config.torrent.announceList;
  const archiveBackends = archiveBackendsOf(config);
  const options: MachineOptions = resolveOptions({
    ...HARDENED_OPTIONS,
    ...(config.options as Partial<MachineOptions>),
    ...(announceList.length > 0 ? { torrentTrackers: announceList } : {}),
    archiveBackends,
  });
  const identityKey = config.nodeKey ? fromHex(config.nodeKey) : generateCommunityKey();
  const identity = { privateKey: identityKey, publicKey: publicKeyOf(identityKey) };
  const installationId = config.installationId ?? installationIdFor(identityKey);
  const communities = config.communities.map((c) => ({ ...c, id: normaliseId(c.id) }));
  const magnetTopicOf = options.magnetlinkPubsubTopicOf ?? options.pubsubTopicOf;
  const pubsubTopics = [
    ...new Set(communities.flatMap((c) => [options.pubsubTopicOf(c.id), magnetTopicOf(c.id)])),
  ].sort();
  const clock = new SystemClock();

  const dataDir = at(config.dataDir);
  const torrentDir = at(config.torrentDir);
  // The database first: a file that cannot be used (StorageFileError) stops the node before
  // anything is created or written.
  const storage = new SqliteStorage(at(config.database));
  fs.mkdirp(dataDir);
  fs.mkdirp(torrentDir);
  const torrent = new BitTorrentClient({
    host: config.torrent.host,
    port: config.torrent.port,
    peers: config.torrent.peers,
    ...(config.torrent.downloadLimit ? { downloadLimit: config.torrent.downloadLimit } : {}),
  });
  const m = config.messaging;
  const messaging = new Libp2pMessaging({
    host: m.host,
    port: m.port,
    // Dialled below, one by one, so that a peer that cannot be reached is named.
    peers: [],
    storePeers: m.storePeers,
    ...(m.websocketPort !== undefined ? { websocketPort: m.websocketPort } : {}),
    clock,
    ...(m.store
      ? { store: { clock, retentionSeconds: m.store.retentionSeconds }, storeTopics: pubsubTopics }
      : {}),
    ...(m.historySeconds ? { historyOnSubscribeSeconds: m.historySeconds } : {}),
    // The magnetlink channels speak the reference's public-message envelope (protocol.md §12).
    publicChats: {
      identity: { privateKey: identityKey, installationId },
      chats: communities.map((c) => magnetlinkChannelId(c.id)),
      acceptBare: m.acceptBareMagnetlinks,
    },
  });
  // Helia (and the libp2p HTTP stack under it) loads only for a node that runs a store: a
  // torrent-only node starts as fast as before.
  const content: HeliaContentStore | undefined = config.content
    ? new (await import('../adapters/real/helia-content-store.ts')).HeliaContentStore(
        contentStoreOptions(config.content, baseDir),
      )
    : undefined;
  const keys: KeyStore = {
    communityPrivateKey: (id) => {
      const c = communities.find((x) => x.id === normaliseId(id));
      return c?.privateKey ? Uint8Array.from(Buffer.from(strip0x(c.privateKey), 'hex')) : undefined;
    },
    nodeIdentity: () => ({ privateKey: identity.privateKey.slice(), publicKey: identity.publicKey.slice() }),
  };
  const announced = new AnnouncedTorrents(communities.map((c) => c.id));
  const adapters: NodeAdapters = {
    clock,
    fs,
    storage,
    messaging: guardedMessaging(messaging, announced),
    torrent: guardedTorrent(torrent, announced),
    ...(content ? { content } : {}),
    keys,
    descriptions: storage,
    dataDir,
    torrentDir,
  };

  const closeAll = async () => {
    await torrent.stop();
    await content?.stop();
    await messaging.stop();
    clock.clearAll();
    storage.close();
  };
  try {
    await messaging.start().catch((err: unknown) => {
      throw (
        listenProblem(
          err,
          { host: 'messaging.host', port: 'messaging.port', wsPort: 'messaging.websocketPort' },
          (ws) => (ws ? `${m.host}:${m.websocketPort} (websockets)` : `${m.host}:${m.port}`),
        ) ?? err
      );
    });
    for (const [i, peer] of m.peers.entries()) {
      await messaging.connect(peer, args.signal).catch((err: unknown) => {
        if (args.signal?.aborted) throw err;
        throw new RealNodeConfigError(
          `messaging.peers[${i}]`,
          `cannot reach ${peer}: ${(err as Error).message}`,
        );
      });
    }
    // The content store, like the relay, is the node's own: one that cannot listen, or whose
    // folder cannot be used, stops the node with the field to change. The machines start and
    // stop it too (protocol enabled/disabled); it is started here so its addresses are known
    // before the first signal, and it is stopped with the node.
    if (content) {
      const c = config.content!;
      await content.start().catch((err: unknown) => {
        throw (
          listenProblem(err, { host: 'content.host', port: 'content.port' }, () => `${c.host}:${c.port}`) ??
          new RealNodeConfigError('content.dir', `cannot use ${at(c.dir)}: ${firstLine(err)}`)
        );
      });
    }
    // The machines start and stop the torrent client themselves (protocol enabled); it is
    // started here too so its port is known before the first signal. A client that cannot
    // start (its port in use) does not stop the node (the reference app runs on with the
    // feature off): the machines try again, report `archive.torrentClientFailed` and run on
    // with the archive protocol disabled; the host is told which field to change.
    // With the content-addressed backend alone the torrent client is not used and not started.
    let torrentPort: number | null = null;
    try {
      if (archiveBackends !== 'cid') {
        await torrent.start();
        torrentPort = torrent.port;
      }
    } catch (err) {
      const problem = listenProblem(
        err,
        { host: 'torrent.host', port: 'torrent.port' },
        () => `${config.torrent.host}:${config.torrent.port}`,
      );
      args.onWarning?.(problem?.message ?? `torrent client: ${String(err)}`);
    }
    const info: RealNodeInfo = {
      nodeId: config.nodeId,
      identity: toHex(identity.publicKey),
      torrentPort,
      multiaddrs: messaging.multiaddrs(),
      contentMultiaddrs: content?.multiaddrs() ?? [],
    };
    args.onListening?.(info);
    for (const t of pubsubTopics) {
      if (config.waitForRelayPeers > 0)
        await messaging.waitForRelayPeers(t, config.waitForRelayPeers, args.signal);
    }
    if (args.preload && args.preload.length > 0) storage.saveMessages(args.preload);
    const node = createArchiveNode({
      adapters,
      options,
      nodeId: config.nodeId,
      communities: communities.map((c) => ({
        id: c.id,
        chats: c.chats,
        ...(c.joined !== undefined ? { joined: c.joined } : {}),
        ...(c.archiveSupport !== undefined ? { archiveSupport: c.archiveSupport } : {}),
      })),
      ...(config.importRate ? { importRate: config.importRate } : {}),
      onSignal: args.onSignal,
    });
    return {
      node,
      adapters,
      info,
      stop: async () => {
        await node.stop();
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** The first line of an error's message (libp2p's and the blockstores' carry stack-like detail). */
function firstLine(err: unknown): string {
  return String((err as Error | undefined)?.message ?? err).split('\n')[0]!;
}

/** `['messaging', 'peers', 0]` -> `messaging.peers[0]`. */
function fieldOf(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path)
    out += typeof key === 'number' ? `[${key}]` : out === '' ? String(key) : `.${String(key)}`;
  return out || '(top level)';
}

/** Parses a config object; `error` has one line per problem, each naming its field. */
export function parseRealNodeConfig(
  raw: unknown,
): { ok: true; config: RealNodeConfig } | { ok: false; error: string } {
  const r = RealNodeConfigSchema.safeParse(raw);
  if (r.success) return { ok: true, config: r.data };
  const lines = r.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => `${fieldOf([...issue.path, k])}: unknown field`)
      : [`${fieldOf(issue.path)}: ${issue.message}`],
  );
  return { ok: false, error: lines.join('\n') };
}
