// One archivist node on the real adapters: node:sqlite storage, webtorrent, libp2p Waku
// relay (+ the store service when configured), the system clock and node:fs, handed to the
// machines through the embedding API. `archivist node --config <file>` runs this.

import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { SqliteStorage } from '../adapters/real/sqlite-storage.ts';
import { SystemClock } from '../adapters/real/system-clock.ts';
import { parseMagnet, WebTorrentClient } from '../adapters/real/webtorrent-client.ts';
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
import { decodeMagnetlinkMessage } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';

const hex = (len: number) =>
  z.string().regex(new RegExp(`^(0x)?[0-9a-fA-F]{${len}}$`), `expected ${len} hex digits`);

export const RealNodeConfigSchema = z
  .object({
    nodeId: z.string().min(1).default('node'),
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
      })
      .strict()
      .default({ host: '127.0.0.1', port: 0, peers: [] }),
    messaging: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(0),
        /** Also listen for relay peers on websockets (js-waku dials only websockets); 0 = any free port. */
        websocketPort: z.number().int().min(0).max(65535).optional(),
        peers: z.array(z.string()).default([]),
        storePeers: z.array(z.string()).default([]),
        /** Run archivist's store service on this node, for the communities' pubsub topics. */
        store: z.object({ retentionSeconds: z.number().positive() }).strict().optional(),
        /** History sync on subscribe (seconds back), from `storePeers`. */
        historySeconds: z.number().int().positive().optional(),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 0, peers: [], storePeers: [] }),
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
  })
  .strict();

export type RealNodeConfig = z.infer<typeof RealNodeConfigSchema>;

export interface RealNodeInfo {
  nodeId: string;
  torrentPort: number;
  multiaddrs: string[];
}

export interface RealNode {
  readonly node: ArchiveNode;
  readonly adapters: NodeAdapters;
  readonly info: RealNodeInfo;
  /** Stops the machines (tasks, torrent client), then messaging and storage. */
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

function guardedTorrent(inner: WebTorrentClient, announced: AnnouncedTorrents): TorrentClient {
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
  signal?: AbortSignal;
}

export async function startRealNode(args: StartRealNodeArgs): Promise<RealNode> {
  const { config, baseDir, fs } = args;
  const at = (p: string) => (isAbsolute(p) ? p : resolve(baseDir, p));
  const options: MachineOptions = resolveOptions({
    ...HARDENED_OPTIONS,
    ...(config.options as Partial<MachineOptions>),
  });
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
  const torrent = new WebTorrentClient({
    host: config.torrent.host,
    port: config.torrent.port,
    peers: config.torrent.peers,
    ...(config.torrent.downloadLimit ? { downloadLimit: config.torrent.downloadLimit } : {}),
  });
  const m = config.messaging;
  const messaging = new Libp2pMessaging({
    host: m.host,
    port: m.port,
    peers: m.peers,
    storePeers: m.storePeers,
    ...(m.websocketPort !== undefined ? { websocketPort: m.websocketPort } : {}),
    clock,
    ...(m.store
      ? { store: { clock, retentionSeconds: m.store.retentionSeconds }, storeTopics: pubsubTopics }
      : {}),
    ...(m.historySeconds ? { historyOnSubscribeSeconds: m.historySeconds } : {}),
  });
  const keys: KeyStore = {
    communityPrivateKey: (id) => {
      const c = communities.find((x) => x.id === normaliseId(id));
      return c?.privateKey ? Uint8Array.from(Buffer.from(strip0x(c.privateKey), 'hex')) : undefined;
    },
  };
  const announced = new AnnouncedTorrents(communities.map((c) => c.id));
  const adapters: NodeAdapters = {
    clock,
    fs,
    storage,
    messaging: guardedMessaging(messaging, announced),
    torrent: guardedTorrent(torrent, announced),
    keys,
    dataDir,
    torrentDir,
  };

  const closeAll = async () => {
    await torrent.stop();
    await messaging.stop();
    clock.clearAll();
    storage.close();
  };
  try {
    await messaging.start();
    // The machines start and stop the torrent client themselves (protocol enabled); it is
    // started here too so its port is known before the first signal.
    await torrent.start();
    const info: RealNodeInfo = {
      nodeId: config.nodeId,
      torrentPort: torrent.port,
      multiaddrs: messaging.multiaddrs(),
    };
    args.onListening?.(info);
    for (const t of pubsubTopics) {
      if (config.waitForRelayPeers > 0)
        await messaging.waitForRelayPeers(t, config.waitForRelayPeers, args.signal);
    }
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

/** Parses a config object; errors name the field. */
export function parseRealNodeConfig(
  raw: unknown,
): { ok: true; config: RealNodeConfig } | { ok: false; error: string } {
  const r = RealNodeConfigSchema.safeParse(raw);
  if (r.success) return { ok: true, config: r.data };
  const issue = r.error.issues[0]!;
  const where = issue.path.length > 0 ? issue.path.join('.') : '(top level)';
  return { ok: false, error: `${where}: ${issue.message}` };
}
