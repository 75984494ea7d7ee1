// Sessions and torrents: the swarm's state. A node (SwarmNode) has one session per torrent
// it is in; a torrent keeps the bitsets of its sessions packed side by side (see
// sim/swarm/bits.ts), the verified piece bytes, and how widespread each block is.

import type { TorrentMetadata, TorrentProgress } from '../../ports/torrent.ts';
import type { SimEvent } from '../kernel.ts';
import type { Prng } from '../prng.ts';
import type { ChunkedFileSystem } from './files.ts';
import type { Transfer } from './transfers.ts';

export class TorrentRemoved extends Error {
  constructor(infoHash: string) {
    super(`torrent ${infoHash} was removed`);
    this.name = 'TorrentRemoved';
  }
}

export interface Meta {
  name: string;
  pieceLength: number;
  pieceCount: number;
  totalLength: number;
  pieceHashes: Uint8Array;
  infoLength: number;
  files: { path: string; length: number; offset: number }[];
}

// Field order matters a little: V8 lays fields out in declaration order, and the hot
// loops read the first ones (fewer cache lines per peer looked at).
export class SwarmNode {
  /** upList.length and downList.length, as plain fields for the hot loops. */
  upN = 0;
  downN = 0;
  reachable = true;
  group = 0;
  upBps: number;
  downBps: number;
  /** Of the transfers holding slots, how many are sending bytes (they share the bandwidth). */
  sendingUp = 0;
  sendingDown = 0;
  /** Transfers holding an upload / download slot (requested or sending). */
  readonly upList: Transfer[] = [];
  readonly downList: Transfer[] = [];
  /** The uploading session of each entry of downList (a compact copy for pairBusy). */
  readonly downFrom: Session[] = [];
  readonly id: string;
  readonly sessions: Session[] = [];
  bytesUp = 0;
  bytesDown = 0;
  corruptNext = 0;
  badPieces = 0;
  fs: ChunkedFileSystem;
  readonly rng: Prng;
  constructor(id: string, upBps: number, downBps: number, fs: ChunkedFileSystem, rng: Prng) {
    this.id = id;
    this.upBps = upBps;
    this.downBps = downBps;
    this.fs = fs;
    this.rng = rng;
  }
}

/** Both ends online, not crashed, on the same side of any partition. */
export function linked(a: SwarmNode, b: SwarmNode): boolean {
  return a.reachable && b.reachable && a.group === b.group;
}

export class Torrent {
  readonly infoHash: string;
  readonly short: string;
  meta: Meta | undefined;
  /**
   * Bytes of each piece (references into some seeder's buffers), stored only after their
   * SHA-1 matched; `verified[p]` says so, so a delivery of these very (immutable) bytes
   * passes verification without hashing them again.
   */
  pieces: (Uint8Array | undefined)[] = [];
  verified = new Uint8Array(0);
  /**
   * Bitsets of every session with metadata, packed side by side (`words` 32-bit words per
   * session) so the piece picker reads plain array slots: pieces held, and pieces wanted,
   * not held and not in flight.
   */
  words = 0;
  haveAll = new Uint32Array(0);
  needAll = new Uint32Array(0);
  /** wanted and not held (in flight or not) */
  missAll = new Uint32Array(0);
  readonly freeRows: number[] = [];
  rows = 0;
  readonly sessions: Session[] = [];
  /**
   * Byte ranges of buffers whose whole pieces are known to verify, by buffer: bytes
   * [from, to) of the torrent are bytes [from + delta, to + delta) of the buffer. A node
   * whose files hold these very bytes (members' files are references to them) holds those
   * pieces without a look at each one (see scanFiles).
   */
  readonly sources = new Map<ArrayBufferLike, VerifiedRange[]>();
  /**
   * Copies of the pieces of each block (piecesPerTransfer pieces) gained so far by any
   * session: how widespread a block is. Runs over rare blocks are short (see runLimit).
   */
  copies = new Uint32Array(0);
  /** Pieces of each block wanted and not held, summed over sessions: the block's demand. */
  wanting = new Int32Array(0);
  /**
   * stretchEnd[p]: the first piece after p whose bytes do not follow p's in the same
   * buffer (so pieces [p, stretchEnd[p]) are one slice of one buffer); made when files are
   * written, dropped when `pieces` changes.
   */
  stretchEnd: Int32Array | undefined;
  constructor(infoHash: string) {
    this.infoHash = infoHash;
    this.short = infoHash.slice(0, 8);
  }
}

export interface VerifiedRange {
  delta: number;
  from: number;
  to: number;
}

export interface Waiter {
  first: number;
  end: number;
  remaining: number;
  resolve: () => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export interface PendingWant {
  range: (m: TorrentMetadata) => [number, number];
  resolve: () => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export interface MetaWaiter {
  resolve: (m: TorrentMetadata) => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

export class Session {
  /**
   * Word offset of this session's rows in the torrent's packed bitsets (see Torrent.haveAll);
   * -1 before the metadata.
   */
  base = -1;
  readonly node: SwarmNode;
  readonly torrent: Torrent;
  /** Wanted pieces not held (some may be in flight). */
  missingCount = 0;
  inflightCount = 0;
  rot: number;
  rrDown = 0;
  rrUp = 0;
  readonly peers: Session[] = [];
  haveCount = 0;
  active = true;
  hasMeta = false;
  readonly parentDir: string;
  metaEv: SimEvent | undefined;
  wanted = new Uint8Array(0);
  wantedCount = 0;
  /**
   * Words [wantLo, wantHi) of the bitsets hold every wanted piece: the piece picker scans
   * only those (a member wants one archive of a torrent that grows every round).
   */
  wantLo = 0;
  wantHi = 0;
  waiters: Waiter[] = [];
  metaWaiters: MetaWaiter[] = [];
  pendingWants: PendingWant[] = [];
  readonly progress = new Set<(p: TorrentProgress) => void>();
  announceEv: SimEvent | undefined;
  announceDelay: number;
  progressMark = 0;
  lastMark = -1;
  constructor(node: SwarmNode, torrent: Torrent, parentDir: string, rot: number, announceDelay: number) {
    this.node = node;
    this.torrent = torrent;
    this.parentDir = parentDir;
    this.rot = rot;
    this.announceDelay = announceDelay;
  }
  get infoHash(): string {
    return this.torrent.infoHash;
  }
}
