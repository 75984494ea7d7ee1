// TorrentClient port over webtorrent 3, TCP only.
//
// Discovery is off (no DHT, trackers, LSD, UPnP/NAT-PMP, uTP): peers are given directly,
// as `x.pe=host:port` in the magnet, through `peers` in the options, or with addPeer().
// The listening socket is bound to `host` (127.0.0.1 by default).
//
// Seeding adds the `.torrent` built by the archive module with `path = parentDir`, so the
// info-hash is the archive's own (webtorrent's own torrent creation orders and filters files
// its own way). Downloads start with nothing selected and fetch exactly the pieces asked.
//
// Peer bytes: bencode is checked before webtorrent's decoders see it (bencode-guard.ts), and
// a `have` past the last piece closes the connection (peer-wire-guard.ts).
//
// Untrusted input: the info dictionary received from a peer is checked before any file is
// opened (webtorrent creates files lazily, after the 'metadata' event): the folder name must
// be one plain path component equal to the magnet's `dn` when given, and every file path must
// stay inside that folder; otherwise the torrent is dropped and metadata() rejects with a
// TorrentRefused error.

import { statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import WebTorrent, { type Torrent } from 'webtorrent';
import { decodeBencode } from '../../archive/bencode.ts';
import {
  type Magnet,
  magnetLink,
  parseMagnet as parseArchiveMagnet,
  parseTorrentFile,
  TorrentFormatError,
} from '../../archive/index.ts';
import type { Unsubscribe } from '../../ports/messaging.ts';
import type {
  TorrentClient,
  TorrentDownload,
  TorrentFileEntry,
  TorrentMetadata,
  TorrentProgress,
  TransferStats,
} from '../../ports/torrent.ts';
import { guardPeerWireBencode } from './bencode-guard.ts';
import { guardWire } from './peer-wire-guard.ts';

export interface WebTorrentClientOptions {
  /** TCP port to listen on; 0 (default) picks a free one. */
  port?: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Peers (`host:port`) added to every torrent this client adds or seeds. */
  peers?: string[];
  /** Most connections per client (webtorrent's maxConns); default 55. */
  maxConns?: number;
  /** Download / upload rate limits in bytes per second (default: none). */
  downloadLimit?: number;
  uploadLimit?: number;
}

/** A torrent or magnet refused for what it says (untrusted input), with a clear reason. */
export class TorrentRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorrentRefused';
  }
}

export class TorrentRemoved extends Error {
  constructor(infoHash: string) {
    super(`torrent ${infoHash} was removed or the client stopped`);
    this.name = 'TorrentRemoved';
  }
}

export interface ParsedMagnet {
  infoHash: string;
  name?: string;
  peers: string[];
}

/**
 * The project's one magnet parser (archive/magnet.ts) with the client's error type: throws
 * TorrentRefused when the link is malformed or ambiguous.
 */
export function parseMagnet(uri: string): ParsedMagnet {
  let magnet: Magnet;
  try {
    magnet = parseArchiveMagnet(uri);
  } catch (err) {
    if (err instanceof TorrentFormatError) throw new TorrentRefused(err.message);
    throw err;
  }
  const { infoHash, name, peers } = magnet;
  return name !== undefined ? { infoHash, name, peers } : { infoHash, peers };
}

const SAFE_COMPONENT = /^[^/\\\0]+$/;

function isSafeComponent(c: string): boolean {
  return SAFE_COMPONENT.test(c) && c !== '.' && c !== '..';
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder('utf-8', { fatal: false }).decode(v);
  return undefined;
}

/**
 * Checks a raw (bencode-decoded) info dictionary: a folder torrent whose name is one plain
 * path component and whose file paths stay inside it. Returns the folder name.
 */
export function checkInfoDictionary(info: unknown, expectedName?: string): string {
  if (typeof info !== 'object' || info === null) throw new TorrentRefused('torrent has no info dictionary');
  const dict = info as Record<string, unknown>;
  const names = [text(dict.name), text(dict['name.utf-8'])].filter((n) => n !== undefined);
  if (names.length === 0) throw new TorrentRefused('torrent info dictionary has no name');
  for (const n of names) {
    if (!isSafeComponent(n))
      throw new TorrentRefused(`torrent folder name ${JSON.stringify(n)} is not a plain folder name`);
  }
  const name = text(dict['name.utf-8']) ?? text(dict.name)!;
  if (expectedName !== undefined && names.some((n) => n !== expectedName)) {
    throw new TorrentRefused(
      `torrent folder name ${JSON.stringify(name)} does not match the expected ${JSON.stringify(expectedName)} (magnet for another torrent?)`,
    );
  }
  if (!Array.isArray(dict.files))
    throw new TorrentRefused(`torrent ${name} is a single-file torrent, not a community folder`);
  for (const f of dict.files as unknown[]) {
    const file = (f ?? {}) as Record<string, unknown>;
    for (const key of ['path', 'path.utf-8']) {
      const p = file[key];
      if (p === undefined) continue;
      if (!Array.isArray(p) || p.length === 0)
        throw new TorrentRefused(`torrent ${name}: a file has an empty ${key}`);
      const parts = p.map(text);
      if (parts.some((c) => c === undefined || !isSafeComponent(c))) {
        throw new TorrentRefused(
          `torrent ${name}: file path ${JSON.stringify(parts.join('/'))} leaves the community folder`,
        );
      }
    }
    if (file.path === undefined && file['path.utf-8'] === undefined) {
      throw new TorrentRefused(`torrent ${name}: a file has no path`);
    }
  }
  return name;
}

interface Waiter {
  first: number;
  end: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

interface Entry {
  torrent: Torrent;
  infoHash: string;
  expectedName?: string;
  meta?: TorrentMetadata;
  failure?: Error;
  metaWaiters: { resolve: (m: TorrentMetadata) => void; reject: (e: unknown) => void }[];
  waiters: Set<Waiter>;
  wanted?: Uint8Array;
  progress: Set<(p: TorrentProgress) => void>;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new DOMException('aborted', 'AbortError');
}

// Before any peer connects: webtorrent's wire decodes what peers send with bencode, whose
// decoder loops for ever on a negative string length (see archive/bencode.ts).
await guardPeerWireBencode();

const WT_OPTIONS = {
  dht: false,
  tracker: false,
  lsd: false,
  natUpnp: false,
  natPmp: false,
  utp: false,
  webSeeds: false,
} as const;

export class WebTorrentClient implements TorrentClient {
  readonly #options: WebTorrentClientOptions;
  #client: WebTorrent | undefined;
  #starting: Promise<void> | undefined;
  readonly #entries = new Map<string, Entry>();
  #bytesDown = 0;
  #bytesUp = 0;
  /** Errors webtorrent reported outside any call (kept for diagnostics, never thrown). */
  readonly warnings: string[] = [];

  constructor(options: WebTorrentClientOptions = {}) {
    this.#options = options;
  }

  get running(): boolean {
    return this.#client !== undefined && !this.#client.destroyed;
  }

  /** The TCP port peers reach this client on (after start()). */
  get port(): number {
    const a = this.#client?.address();
    if (!a) throw new Error('torrent client is not listening');
    return a.port;
  }

  get host(): string {
    return this.#options.host ?? '127.0.0.1';
  }

  async start(): Promise<void> {
    if (this.running) return;
    if (this.#starting) return this.#starting;
    this.#starting = this.#start().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.#options;
    const client = new WebTorrent({
      ...WT_OPTIONS,
      ...(o.maxConns ? { maxConns: o.maxConns } : {}),
      ...(o.downloadLimit ? { downloadLimit: o.downloadLimit } : {}),
      ...(o.uploadLimit ? { uploadLimit: o.uploadLimit } : {}),
    });
    // webtorrent binds every interface; rebind its server to the chosen host and port before
    // it reports 'listening'.
    const server = client._connPool?.tcpServer;
    if (!server) throw new Error('webtorrent has no TCP server (not running under Node?)');
    server.close();
    server.listen(this.#options.port ?? 0, this.host);
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => {
        client.off('listening', onListening);
        reject(
          new Error(
            `torrent client cannot listen on ${this.host}:${this.#options.port ?? 0}: ${err.message}`,
          ),
        );
      };
      const onListening = () => {
        client.off('error', onError);
        resolve();
      };
      client.once('error', onError);
      client.once('listening', onListening);
    }).catch(async (err) => {
      await new Promise<void>((r) => client.destroy(() => r()));
      throw err;
    });
    client.on('error', (err: Error) => this.warnings.push(String(err?.message ?? err)));
    client.on('download', (n: number) => {
      this.#bytesDown += n;
    });
    client.on('upload', (n: number) => {
      this.#bytesUp += n;
    });
    this.#client = client;
  }

  async stop(): Promise<void> {
    const client = this.#client;
    if (!client) return;
    this.#client = undefined;
    for (const entry of this.#entries.values()) this.#fail(entry, new TorrentRemoved(entry.infoHash));
    this.#entries.clear();
    await new Promise<void>((resolve) => client.destroy(() => resolve()));
  }

  #requireClient(): WebTorrent {
    if (!this.#client || this.#client.destroyed) throw new Error('torrent client is not running');
    return this.#client;
  }

  async seed(torrentFile: Uint8Array, parentDir: string): Promise<string> {
    const client = this.#requireClient();
    // The same check as for a torrent from the network, then the archive module's parser.
    let top: unknown;
    try {
      top = decodeBencode(torrentFile);
    } catch (err) {
      throw new TorrentRefused(`not a torrent file: ${(err as Error).message}`);
    }
    checkInfoDictionary((top as { info?: unknown } | null)?.info);
    try {
      parseTorrentFile(torrentFile);
    } catch (err) {
      throw new TorrentRefused((err as Error).message);
    }
    const torrent = client.add(torrentFile, { path: parentDir });
    const entry = this.#track(torrent);
    await this.#waitInfoHash(torrent);
    const existing = this.#entries.get(torrent.infoHash);
    if (existing && existing !== entry) {
      // Already active (seeding or downloading): webtorrent drops the duplicate itself.
      await this.#whenReady(existing);
      return existing.infoHash;
    }
    entry.infoHash = torrent.infoHash;
    this.#entries.set(entry.infoHash, entry);
    const meta = await this.#whenReady(entry);
    if (!torrent.done) {
      let have = 0;
      for (let i = 0; i < meta.pieceCount; i++) if (torrent.bitfield.get(i)) have++;
      await this.remove(entry.infoHash);
      throw new TorrentRefused(
        `cannot seed ${meta.name}: the files in ${parentDir}/${meta.name} match ${have} of ${meta.pieceCount} pieces of the torrent`,
      );
    }
    return entry.infoHash;
  }

  /**
   * `options.community`: the community this magnet was announced for. The torrent's folder
   * name must be that id (a link signed by one community pointing at another community's
   * torrent is refused), checked against `dn` at once and against the info dictionary.
   */
  add(magnetUri: string, parentDir: string, options: { community?: string } = {}): TorrentDownload {
    const client = this.#requireClient();
    const magnet = parseMagnet(magnetUri);
    const expected = options.community ?? magnet.name;
    if (options.community !== undefined && magnet.name !== undefined && magnet.name !== options.community) {
      throw new TorrentRefused(
        `magnet names the torrent ${JSON.stringify(magnet.name)}, not community ${JSON.stringify(options.community)}`,
      );
    }
    let entry = this.#entries.get(magnet.infoHash);
    if (entry && options.community !== undefined && entry.meta && entry.meta.name !== options.community) {
      throw new TorrentRefused(
        `torrent ${magnet.infoHash} holds community ${JSON.stringify(entry.meta.name)}, not ${JSON.stringify(options.community)}`,
      );
    }
    if (!entry) {
      // Hand webtorrent a clean magnet: the peers are added by us, nothing else is used.
      const clean = magnetLink(magnet.infoHash, '');
      const torrent = client.add(clean, { path: parentDir, deselect: true });
      entry = this.#track(torrent, expected, true);
      entry.infoHash = magnet.infoHash;
      this.#entries.set(magnet.infoHash, entry);
      const peers = [...magnet.peers, ...(this.#options.peers ?? [])];
      const addPeers = () => {
        for (const p of peers) torrent.addPeer(p);
      };
      if (torrent.infoHash) addPeers();
      else torrent.once('infoHash', addPeers);
    }
    return this.#handle(entry);
  }

  /** Adds a peer (`host:port`) to an active torrent; false when the torrent is unknown. */
  addPeer(infoHash: string, peer: string): boolean {
    const entry = this.#entries.get(infoHash);
    if (!entry) return false;
    const t = entry.torrent;
    if (t.infoHash) return t.addPeer(peer);
    t.once('infoHash', () => t.addPeer(peer));
    return true;
  }

  /** Number of connected peers of a torrent (0 when unknown). */
  peerCount(infoHash: string): number {
    return this.#entries.get(infoHash)?.torrent.numPeers ?? 0;
  }

  async remove(infoHash: string): Promise<void> {
    const entry = this.#entries.get(infoHash);
    if (!entry) return;
    this.#entries.delete(infoHash);
    this.#fail(entry, new TorrentRemoved(infoHash));
    if (!entry.torrent.destroyed) {
      await new Promise<void>((resolve) => entry.torrent.destroy({ destroyStore: false }, () => resolve()));
    }
  }

  active(): string[] {
    return [...this.#entries.keys()].sort();
  }

  stats(): TransferStats {
    return { bytesDown: this.#bytesDown, bytesUp: this.#bytesUp };
  }

  // --- internals ---

  #track(torrent: Torrent, expectedName?: string, download = false): Entry {
    const entry: Entry = {
      torrent,
      infoHash: torrent.infoHash ?? '',
      metaWaiters: [],
      waiters: new Set(),
      progress: new Set(),
      ...(expectedName !== undefined ? { expectedName } : {}),
    };
    torrent.on('error', (err: Error) => this.#fail(entry, err));
    // Registered before webtorrent's own 'wire' listeners that count pieces (they come with
    // the metadata), and effective for every message the wire parses after its handshake.
    torrent.on('wire', (wire: Parameters<typeof guardWire>[0]) => guardWire(wire, torrent));
    torrent.on('warning', () => {});
    torrent.on('metadata', () => {
      try {
        checkInfoDictionary(torrent.info, entry.expectedName);
      } catch (err) {
        // Drop it before webtorrent opens any file (it would right after this event).
        this.#entries.delete(entry.infoHash);
        this.#fail(entry, err as Error);
        torrent.destroy({ destroyStore: false });
        return;
      }
      if (download) trimToTorrent(torrent);
    });
    torrent.on('ready', () => {
      if (entry.failure) return;
      entry.meta = metadataOf(torrent);
      entry.wanted = new Uint8Array(entry.meta.pieceCount);
      for (const w of entry.metaWaiters.splice(0)) w.resolve(entry.meta);
      this.#check(entry);
    });
    torrent.on('verified', () => {
      this.#check(entry);
      if (entry.progress.size > 0) {
        const p = this.#progressOf(entry);
        for (const l of entry.progress) l(p);
      }
    });
    torrent.on('close', () => this.#fail(entry, new TorrentRemoved(entry.infoHash)));
    return entry;
  }

  #waitInfoHash(torrent: Torrent): Promise<void> {
    if (torrent.infoHash) return Promise.resolve();
    return new Promise((resolve, reject) => {
      torrent.once('infoHash', () => resolve());
      torrent.once('error', reject);
    });
  }

  #whenReady(entry: Entry, signal?: AbortSignal): Promise<TorrentMetadata> {
    if (entry.failure) return Promise.reject(entry.failure);
    if (entry.meta) return Promise.resolve(entry.meta);
    if (signal?.aborted) return Promise.reject(abortError(signal));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (m: TorrentMetadata) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(m);
        },
        reject: (e: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        },
      };
      const onAbort = () => {
        const i = entry.metaWaiters.indexOf(waiter);
        if (i >= 0) entry.metaWaiters.splice(i, 1);
        reject(abortError(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      entry.metaWaiters.push(waiter);
    });
  }

  #fail(entry: Entry, err: Error): void {
    if (!entry.failure) entry.failure = err;
    for (const w of entry.metaWaiters.splice(0)) w.reject(entry.failure);
    for (const w of entry.waiters) w.reject(entry.failure);
    entry.waiters.clear();
  }

  #has(entry: Entry, first: number, end: number): boolean {
    for (let i = first; i < end; i++) if (!entry.torrent.bitfield.get(i)) return false;
    return true;
  }

  #check(entry: Entry): void {
    for (const w of [...entry.waiters]) {
      if (this.#has(entry, w.first, w.end)) {
        entry.waiters.delete(w);
        w.resolve();
      }
    }
  }

  /** As the simulated swarm reports it: pieces held in all, pieces asked for. */
  #progressOf(entry: Entry): TorrentProgress {
    let have = 0;
    let wanted = 0;
    const w = entry.wanted ?? new Uint8Array(0);
    for (let i = 0; i < w.length; i++) {
      if (entry.torrent.bitfield.get(i)) have++;
      if (w[i]) wanted++;
    }
    return { infoHash: entry.infoHash, piecesHave: have, piecesWanted: wanted };
  }

  /** After a cancel: want only what the remaining waiters need. */
  #rewant(entry: Entry): void {
    if (!entry.wanted) return;
    entry.wanted.fill(0);
    for (const w of entry.waiters) entry.wanted.fill(1, w.first, w.end);
  }

  async #fetch(entry: Entry, first: number, end: number, signal?: AbortSignal): Promise<void> {
    const meta = await this.#whenReady(entry, signal);
    if (
      !Number.isInteger(first) ||
      !Number.isInteger(end) ||
      first < 0 ||
      end > meta.pieceCount ||
      first > end
    ) {
      throw new RangeError(
        `pieces [${first}, ${end}) are outside torrent ${meta.name} (${meta.pieceCount} pieces)`,
      );
    }
    signal?.throwIfAborted();
    if (entry.failure) throw entry.failure;
    if (first === end) return;
    entry.wanted!.fill(1, first, end);
    if (this.#has(entry, first, end)) return;
    const torrent = entry.torrent;
    torrent.select(first, end - 1, 1);
    try {
      await new Promise<void>((resolve, reject) => {
        const waiter: Waiter = { first, end, resolve, reject };
        const onAbort = () => {
          entry.waiters.delete(waiter);
          this.#rewant(entry);
          reject(abortError(signal!));
        };
        waiter.resolve = () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        };
        waiter.reject = (e) => {
          signal?.removeEventListener('abort', onAbort);
          reject(e);
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        entry.waiters.add(waiter);
        this.#check(entry);
      });
    } catch (err) {
      // Cancelled or failed: stop fetching this range. webtorrent's deselect cuts the range
      // out of every selection, so the ranges other waiters still need are selected again.
      if (!torrent.destroyed) {
        torrent.deselect(first, end - 1);
        for (const w of entry.waiters) torrent.select(w.first, w.end - 1, 1);
      }
      throw err;
    }
  }

  #handle(entry: Entry): TorrentDownload {
    return {
      infoHash: entry.infoHash,
      metadata: (signal) => this.#whenReady(entry, signal),
      downloadFile: async (path, signal) => {
        const meta = await this.#whenReady(entry, signal);
        const file = meta.files.find((f) => f.path === path);
        if (!file) throw new TorrentRefused(`torrent ${meta.name} has no file named ${path}`);
        if (file.length === 0) return;
        const first = Math.floor(file.offset / meta.pieceLength);
        const end = Math.floor((file.offset + file.length - 1) / meta.pieceLength) + 1;
        await this.#fetch(entry, first, end, signal);
      },
      downloadPieces: (first, end, signal) => this.#fetch(entry, first, end, signal),
      onProgress: (listener): Unsubscribe => {
        entry.progress.add(listener);
        return () => {
          entry.progress.delete(listener);
        };
      },
    };
  }
}

/**
 * Cuts each file of a download that an earlier torrent of the same folder left longer than
 * this torrent says (an `index` that shrank, another owner's `data`): webtorrent writes into
 * existing files without truncating, and readers of the folder (the index decoder) read whole
 * files. Runs in the 'metadata' event, before webtorrent opens any file; the paths are the
 * ones checkInfoDictionary has just let through.
 */
function trimToTorrent(torrent: Torrent): void {
  for (const f of torrent.files) {
    const path = join(torrent.path, f.path);
    try {
      if (statSync(path).size > f.length) truncateSync(path, f.length);
    } catch {
      // absent: webtorrent creates it
    }
  }
}

function metadataOf(torrent: Torrent): TorrentMetadata {
  const prefix = `${torrent.name}/`;
  const files: TorrentFileEntry[] = torrent.files.map((f) => ({
    path: f.path.startsWith(prefix) ? f.path.slice(prefix.length) : f.path,
    length: f.length,
    offset: f.offset,
  }));
  return {
    infoHash: torrent.infoHash,
    name: torrent.name,
    pieceLength: torrent.pieceLength,
    pieceCount: torrent.pieces.length,
    files,
  };
}
