// Sessions and torrents: the swarm's state. A node (SwarmNode) has one session per torrent
// it is in; a torrent keeps the bitsets of its sessions packed side by side (see
// sim/swarm/bits.ts), the verified piece bytes, and how widespread each block is.

import type { TorrentMetadata, TorrentProgress } from '../../ports/torrent.ts';
import type { SimEvent } from '../kernel.ts';
import type { Prng } from '../prng.ts';
import type { ChunkedFileSystem } from './files.ts';
import type { IntLists, NodeTable, SessionTable } from './tables.ts';

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

/**
 * A node of the swarm. Its hot fields (slot counts, reachability, rates, slot lists) live
 * in the swarm's NodeTable at `ix` (sim/swarm/tables.ts).
 */
export class SwarmNode {
  readonly id: string;
  readonly ix: number;
  readonly #nt: NodeTable;
  readonly sessions: Session[] = [];
  badPieces = 0;
  fs: ChunkedFileSystem;
  readonly rng: Prng;
  /** A one-way latency from this node to another (SimNetwork.latencyFrom). */
  readonly latencyTo: (to: string) => number;
  constructor(
    nt: NodeTable,
    id: string,
    upBps: number,
    downBps: number,
    fs: ChunkedFileSystem,
    rng: Prng,
    latencyTo: (to: string) => number,
  ) {
    this.#nt = nt;
    this.latencyTo = latencyTo;
    this.ix = nt.add();
    this.id = id;
    this.upBps = upBps;
    this.downBps = downBps;
    this.fs = fs;
    this.rng = rng;
  }
  get reachable(): boolean {
    return this.#nt.reach[this.ix] === 1;
  }
  set reachable(v: boolean) {
    this.#nt.reach[this.ix] = v ? 1 : 0;
  }
  get group(): number {
    return this.#nt.group[this.ix]!;
  }
  set group(v: number) {
    this.#nt.group[this.ix] = v;
  }
  get upBps(): number {
    return this.#nt.upBps[this.ix]!;
  }
  set upBps(v: number) {
    this.#nt.upBps[this.ix] = v;
  }
  get downBps(): number {
    return this.#nt.downBps[this.ix]!;
  }
  set downBps(v: number) {
    this.#nt.downBps[this.ix] = v;
  }
  /** The next pieces this node uploads arrive corrupted (a fault). */
  get corruptNext(): number {
    return this.#nt.corruptNext[this.ix]!;
  }
  set corruptNext(v: number) {
    this.#nt.corruptNext[this.ix] = v;
  }
  get bytesUp(): number {
    return this.#nt.bytesUp[this.ix]!;
  }
  set bytesUp(v: number) {
    this.#nt.bytesUp[this.ix] = v;
  }
  get bytesDown(): number {
    return this.#nt.bytesDown[this.ix]!;
  }
  set bytesDown(v: number) {
    this.#nt.bytesDown[this.ix] = v;
  }
  /** Transfers holding an upload / download slot. */
  get upN(): number {
    return this.#nt.upN[this.ix]!;
  }
  get downN(): number {
    return this.#nt.downN[this.ix]!;
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
  /**
   * One bit per word of a row, `sumWords` words per row: the word of haveAll is not zero
   * (exact), the word of needAll may not be zero (a superset, cleared when a scan finds
   * the word empty). The picker looks only at words both say may hold something.
   */
  sumWords = 0;
  haveSum = new Uint32Array(0);
  needSum = new Uint32Array(0);
  /** Bumped whenever a bit of a needAll row is set (a pick that found nothing may find something now). */
  needEpoch = 0;
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

/**
 * A node's membership in one torrent. Its hot fields (bitset rows, counts, the picker's
 * rotation, round-robin positions) live in the swarm's SessionTable at `sid`.
 */
export class Session {
  readonly sid: number;
  readonly #st: SessionTable;
  readonly node: SwarmNode;
  readonly torrent: Torrent;
  /** Connected sessions (their numbers are in SwarmCore.peerLists, side by side, for the hot loops). */
  readonly peers: Session[] = [];
  readonly parentDir: string;
  metaEv: SimEvent | undefined;
  wanted = new Uint8Array(0);
  wantedCount = 0;
  waiters: Waiter[] = [];
  metaWaiters: MetaWaiter[] = [];
  pendingWants: PendingWant[] = [];
  readonly progress = new Set<(p: TorrentProgress) => void>();
  announceEv: SimEvent | undefined;
  announceDelay: number;
  lastMark = -1;
  constructor(
    st: SessionTable,
    node: SwarmNode,
    torrent: Torrent,
    parentDir: string,
    rot: number,
    announceDelay: number,
  ) {
    this.#st = st;
    this.sid = st.add(node.ix);
    this.node = node;
    this.torrent = torrent;
    this.parentDir = parentDir;
    this.rot = rot;
    this.announceDelay = announceDelay;
  }
  get infoHash(): string {
    return this.torrent.infoHash;
  }
  /** Call `listener` whenever the session gains pieces; returns the way to stop. */
  listen(listener: (p: TorrentProgress) => void): () => void {
    this.progress.add(listener);
    this.#st.watched[this.sid] = 1;
    return () => {
      this.progress.delete(listener);
      if (this.progress.size === 0) this.#st.watched[this.sid] = 0;
    };
  }
  get hasMeta(): boolean {
    return this.#st.hasMeta[this.sid] === 1;
  }
  set hasMeta(v: boolean) {
    this.#st.hasMeta[this.sid] = v ? 1 : 0;
  }
  /** False once the session left its torrent. */
  get active(): boolean {
    return this.#st.active[this.sid] === 1;
  }
  set active(v: boolean) {
    this.#st.active[this.sid] = v ? 1 : 0;
  }
  /** Bumped whenever the session gains pieces (see announce). */
  get progressMark(): number {
    return this.#st.mark[this.sid]!;
  }
  set progressMark(v: number) {
    this.#st.mark[this.sid] = v;
  }
  /** Word offset of this session's rows in the torrent's packed bitsets (Torrent.haveAll); -1 before the metadata. */
  get base(): number {
    return this.#st.base[this.sid]!;
  }
  set base(v: number) {
    this.#st.base[this.sid] = v;
  }
  /** Word offset of its rows in Torrent.haveSum / needSum; -1 before the metadata. */
  get sumBase(): number {
    return this.#st.sumBase[this.sid]!;
  }
  set sumBase(v: number) {
    this.#st.sumBase[this.sid] = v;
  }
  /** Wanted pieces not held (some may be in flight). */
  get missingCount(): number {
    return this.#st.missing[this.sid]!;
  }
  set missingCount(v: number) {
    this.#st.missing[this.sid] = v;
  }
  get inflightCount(): number {
    return this.#st.inflight[this.sid]!;
  }
  set inflightCount(v: number) {
    this.#st.inflight[this.sid] = v;
  }
  get haveCount(): number {
    return this.#st.have[this.sid]!;
  }
  set haveCount(v: number) {
    this.#st.have[this.sid] = v;
  }
  get rot(): number {
    return this.#st.rot[this.sid]!;
  }
  set rot(v: number) {
    this.#st.rot[this.sid] = v;
  }
  get rrDown(): number {
    return this.#st.rrDown[this.sid]!;
  }
  set rrDown(v: number) {
    this.#st.rrDown[this.sid] = v;
  }
  /**
   * Words [wantLo, wantHi) of the bitsets hold every wanted piece: the piece picker scans
   * only those (a member wants one archive of a torrent that grows every round).
   */
  get wantLo(): number {
    return this.#st.wantLo[this.sid]!;
  }
  set wantLo(v: number) {
    this.#st.wantLo[this.sid] = v;
  }
  get wantHi(): number {
    return this.#st.wantHi[this.sid]!;
  }
  set wantHi(v: number) {
    this.#st.wantHi[this.sid] = v;
  }
}

/** Connect two sessions (each becomes the other's last peer). */
export function addPeers(lists: IntLists, a: Session, b: Session): void {
  a.peers.push(b);
  lists.push(a.sid, b.sid);
  b.peers.push(a);
  lists.push(b.sid, a.sid);
}

/** s is no longer a peer of p. */
export function removePeer(lists: IntLists, p: Session, s: Session): void {
  const i = p.peers.indexOf(s);
  if (i >= 0) {
    p.peers.splice(i, 1);
    lists.remove(p.sid, s.sid);
  }
}
