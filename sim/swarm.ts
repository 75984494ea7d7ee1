// The swarm model: BitTorrent-like distribution at piece level.
//
// - A session is one node's membership in one torrent. Sessions connect to a few random
//   other sessions of the same torrent (as a tracker would hand out), learn the info
//   dictionary (metadata) from a connected peer that has it, and exchange pieces only with
//   connected peers that hold them.
// - Transfers carry runs: one transfer moves up to `piecesPerTransfer` consecutive pieces
//   (within one block of that many) the uploader holds and the downloader wants, lacks and
//   is not already fetching (as a pipelined BitTorrent connection would request them back
//   to back). It costs two kernel events (request arrival, completion) whatever its
//   length, which is what makes a swarm of thousands affordable. Pieces still count one by
//   one: bitfields, SHA-1 checks, corruption and waiters are per piece, and a transfer cut
//   short keeps the pieces whose bytes had fully arrived by then (bytes done = integral of
//   the rate). A run's pieces are shared once it completes, so runs over blocks that other
//   sessions want and few hold are kept short (see #runLimit): early spread, which decides
//   a swarm's finish time, stays close to the per-piece model.
// - Bandwidth: each node has an upload and a download rate (bytes/s) and a number of
//   upload and download slots. A transfer runs at
//   min(upload rate / uploads running, download rate / downloads running), recomputed for
//   the transfers of both ends whenever one of them starts or ends (a transfer's completion
//   event moves only when its rate actually changed); a transfer first waits one link
//   latency (the request).
// - Piece choice: the downloader scans, from a rotating word and bit, "pieces the uploader
//   holds" & "pieces I still want, lack and do not fetch" for the first such piece and
//   extends the run from there (an approximation of random piece selection; no
//   rarest-first).
// - Verification: every received piece is checked against the SHA-1 of the torrent. Piece
//   bytes are shared by reference (buffers are treated as immutable), so the SHA-1 of a
//   given buffer range is computed once and remembered; a corrupted piece arrives as a
//   modified copy whose SHA-1 is computed for real, fails, and that piece alone is fetched
//   again (the rest of its run is kept).
// - Files: downloaded pieces are written into the node's FileSystem at
//   `<parentDir>/<name>/<path>` as references to the buffers the seeder seeded (missing
//   ranges read as zeros), when a requested range completes. Pieces already present in
//   those files with the right hash count as held when the metadata arrives.
// - Offline or crashed nodes neither serve nor fetch; transfers across a cut are aborted.

import { createHash } from 'node:crypto';
import type { FileSystem } from '../ports/filesystem.ts';
import type { TorrentMetadata, TorrentProgress } from '../ports/torrent.ts';
import type { Kernel, SimEvent } from './kernel.ts';
import type { SimNetwork } from './network.ts';
import { Prng } from './prng.ts';
import { type ParsedTorrent, parseTorrentFile } from './torrent-file.ts';
import type { Trace } from './trace.ts';

/** A FileSystem that may keep buffers by reference (the in-memory one does). */
export interface ChunkedFileSystem extends FileSystem {
  writeChunks?(path: string, chunks: Uint8Array[]): void;
  chunks?(path: string): Uint8Array[];
}

export interface SwarmOptions {
  /** Concurrent transfers (runs of pieces) a node uploads. */
  uploadSlots: number;
  /** Concurrent transfers (runs of pieces) a node downloads. */
  downloadSlots: number;
  /** Concurrent transfers between one uploader and one downloader. */
  pipeline: number;
  /**
   * Most consecutive pieces one transfer carries (1 = a transfer per piece). Larger runs
   * mean fewer kernel events per byte; a piece becomes shareable when its run completes.
   */
  piecesPerTransfer: number;
  /**
   * Fidelity of contested swarms: while other sessions want a block, a run over it may
   * have one piece per `rareCopies` copies per piece the block has (rare blocks travel
   * piece by piece, as in the per-piece model, so they spread as early). 0 = runs are as
   * long as allowed at once: fewest events, but a flash crowd finishes later (a run's
   * pieces are shared only when it completes).
   */
  rareCopies: number;
  /** Peers a session tries to keep per torrent. */
  peersPerTorrent: number;
  /** Connections a session accepts from joining peers (re-announcing starving peers may exceed it). */
  maxConnections: number;
  /** First re-announce interval; doubles while a session makes no progress, up to maxAnnounceMs. */
  announceMs: number;
  maxAnnounceMs: number;
  /** Record every run of pieces delivered or cut short in the trace (off for big benchmarks). */
  tracePieces: boolean;
}

export const DEFAULT_SWARM: SwarmOptions = {
  uploadSlots: 4,
  downloadSlots: 8,
  pipeline: 2,
  piecesPerTransfer: 16,
  rareCopies: 8,
  peersPerTorrent: 20,
  maxConnections: 40,
  announceMs: 30_000,
  maxAnnounceMs: 30 * 60_000,
  tracePieces: true,
};

/** Default bandwidths (bytes/s): a residential line, 20 Mbit/s up, 100 Mbit/s down. */
export const DEFAULT_UPLOAD_BPS = 2_500_000;
export const DEFAULT_DOWNLOAD_BPS = 12_500_000;

export class TorrentRemoved extends Error {
  constructor(infoHash: string) {
    super(`torrent ${infoHash} was removed`);
    this.name = 'TorrentRemoved';
  }
}

interface Meta {
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
class SwarmNode {
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
  /** The uploading session of each entry of downList (a compact copy for #pairBusy). */
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

class Torrent {
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
   * pieces without a look at each one (see #scanFiles).
   */
  readonly sources = new Map<ArrayBufferLike, VerifiedRange[]>();
  /**
   * Copies of the pieces of each block (piecesPerTransfer pieces) gained so far by any
   * session: how widespread a block is. Runs over rare blocks are short (see #runLimit).
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

interface VerifiedRange {
  delta: number;
  from: number;
  to: number;
}

interface Waiter {
  first: number;
  end: number;
  remaining: number;
  resolve: () => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface PendingWant {
  range: (m: TorrentMetadata) => [number, number];
  resolve: () => void;
  reject: (e: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

interface MetaWaiter {
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

class Transfer {
  /** false while the request travels to the uploader */
  sending = false;
  /** from.node and to.node, kept here so hot loops do not chase two pointers. */
  readonly upNode: SwarmNode;
  readonly downNode: SwarmNode;
  /** Fair shares of the two ends when last computed (bytes/s). */
  upShare = 0;
  downShare = 0;
  rate = 0;
  last = 0;
  remaining: number;
  ev: SimEvent | undefined;
  readonly swarm: Swarm;
  readonly from: Session;
  readonly to: Session;
  /** The run of pieces [first, end); all but the torrent's last piece are pieceLength long. */
  readonly first: number;
  readonly end: number;
  readonly size: number;
  upIdx = -1;
  downIdx = -1;
  /** Pieces [first, first + corrupt) arrive corrupted. */
  corrupt = 0;
  /** Pieces [first, arrived) were already taken in (an abort's kept pieces); the rest is in flight. */
  arrived: number;
  constructor(swarm: Swarm, from: Session, to: Session, first: number, end: number, size: number) {
    this.swarm = swarm;
    this.from = from;
    this.to = to;
    this.upNode = from.node;
    this.downNode = to.node;
    this.first = first;
    this.end = end;
    this.arrived = first;
    this.size = size;
    this.remaining = size;
  }
}

const ZERO = new Uint8Array(1 << 20);

/** Peers a busy node looks at per fill (see #fillDown). */
const PROBES = 4;

/** SHA-1 of buffer ranges already hashed, keyed by the buffer's identity. */
const hashMemo = new WeakMap<ArrayBufferLike, Map<number, Uint8Array>>();

function sha1(bytes: Uint8Array): Uint8Array {
  const key =
    bytes.length < 4194304 && bytes.byteOffset < 2 ** 31 ? bytes.byteOffset * 4194304 + bytes.length : -1;
  if (key >= 0) {
    const m = hashMemo.get(bytes.buffer);
    const hit = m?.get(key);
    if (hit) return hit;
  }
  const h = new Uint8Array(createHash('sha1').update(bytes).digest());
  if (key >= 0) {
    let m = hashMemo.get(bytes.buffer);
    if (!m) {
      m = new Map();
      hashMemo.set(bytes.buffer, m);
    }
    m.set(key, h);
  }
  return h;
}

function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

function sameHash(h: Uint8Array, all: Uint8Array, piece: number): boolean {
  const o = piece * 20;
  for (let i = 0; i < 20; i++) if (h[i] !== all[o + i]) return false;
  return true;
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === length) return parts[0]!;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A usable rate in bytes/s: anything not a positive finite number means 0 (none). */
function bandwidth(bps: number): number {
  return Number.isFinite(bps) && bps > 0 ? bps : 0;
}

function onTransferDone(t: Transfer): void {
  t.swarm.transferDone(t);
}

function onRequestArrive(t: Transfer): void {
  t.swarm.requestArrived(t);
}

function onMetaArrive(a: { swarm: Swarm; s: Session; src: Session }): void {
  a.swarm.metaArrive(a.s, a.src);
}

export class Swarm {
  readonly #kernel: Kernel;
  readonly #trace: Trace;
  readonly #net: SimNetwork;
  readonly #seed: number;
  readonly opts: SwarmOptions;
  readonly #nodes = new Map<string, SwarmNode>();
  readonly #nodeList: SwarmNode[] = [];
  readonly #torrents = new Map<string, Torrent>();
  /** Set by the world: called whenever a promise of this swarm settles. */
  onSettle: () => void = () => {};

  constructor(kernel: Kernel, trace: Trace, net: SimNetwork, seed: number, opts: Partial<SwarmOptions> = {}) {
    this.#kernel = kernel;
    this.#trace = trace;
    this.#net = net;
    this.#seed = seed;
    this.opts = { ...DEFAULT_SWARM, ...opts };
    const k = this.opts.piecesPerTransfer;
    if (!Number.isSafeInteger(k) || k < 1) {
      throw new RangeError(`swarm: piecesPerTransfer must be a whole number >= 1, got ${k}`);
    }
    const rc = this.opts.rareCopies;
    if (!Number.isFinite(rc) || rc < 0) {
      throw new RangeError(`swarm: rareCopies must be a number >= 0, got ${rc}`);
    }
    net.onChange((id) => this.#connectivityChanged(id));
  }

  // ---------------- nodes and knobs ----------------

  addNode(
    id: string,
    fs: ChunkedFileSystem,
    upBps = DEFAULT_UPLOAD_BPS,
    downBps = DEFAULT_DOWNLOAD_BPS,
  ): void {
    if (this.#nodes.has(id)) throw new Error(`swarm: node ${id} already exists`);
    const n = new SwarmNode(
      id,
      bandwidth(upBps),
      bandwidth(downBps),
      fs,
      Prng.stream(this.#seed, `swarm:${id}`),
    );
    n.reachable = this.#net.isOnline(id);
    n.group = this.#net.groupOf(id);
    this.#nodes.set(id, n);
    this.#nodeList.push(n);
  }

  #node(id: string): SwarmNode {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`swarm: unknown node ${id}`);
    return n;
  }

  /** The next `count` pieces this node uploads arrive corrupted (fails SHA-1 at the receiver). */
  corruptNextPiece(nodeId: string, count = 1): void {
    this.#node(nodeId).corruptNext += count;
    this.#trace.record('swarm.fault.corrupt', { node: nodeId, count });
  }

  /** Change a node's bandwidth (bytes/s; 0 = does not upload / download); running transfers adapt at once. */
  setBandwidth(nodeId: string, upBps: number, downBps: number): void {
    const n = this.#node(nodeId);
    n.upBps = bandwidth(upBps);
    n.downBps = bandwidth(downBps);
    this.#trace.record('swarm.bandwidth', { node: nodeId, up: n.upBps, down: n.downBps });
    const affected = new Set<SwarmNode>([n]);
    if (n.upBps === 0) for (const t of n.upList.slice()) this.#abort(t, affected);
    if (n.downBps === 0) for (const t of n.downList.slice()) this.#abort(t, affected);
    const now = this.#kernel.now();
    const up = n.sendingUp > 0 ? n.upBps / n.sendingUp : 0;
    const down = n.sendingDown > 0 ? n.downBps / n.sendingDown : 0;
    for (const t of n.upList) {
      if (!t.sending) continue;
      t.upShare = up;
      this.#update(t, now);
    }
    for (const t of n.downList) {
      if (!t.sending) continue;
      t.downShare = down;
      this.#update(t, now);
    }
    for (const x of affected) this.#refill(x);
  }

  stats(nodeId: string): { bytesUp: number; bytesDown: number; badPieces: number } {
    const n = this.#node(nodeId);
    return { bytesUp: n.bytesUp, bytesDown: n.bytesDown, badPieces: n.badPieces };
  }

  /** Sessions of a node (join order). */
  sessionsOf(nodeId: string): Session[] {
    return this.#node(nodeId).sessions.slice();
  }

  session(nodeId: string, infoHash: string): Session | undefined {
    return this.#node(nodeId).sessions.find((s) => s.torrent.infoHash === infoHash);
  }

  /** Pieces a node holds of a torrent, as a copy (tests, reports). */
  piecesHeld(nodeId: string, infoHash: string): Uint8Array | undefined {
    const s = this.session(nodeId, infoHash);
    if (!s || s.base < 0) return undefined;
    const n = s.torrent.meta!.pieceCount;
    const out = new Uint8Array(n);
    for (let p = 0; p < n; p++) out[p] = this.#has(s, p) ? 1 : 0;
    return out;
  }

  /** Number of transfers running across the world. */
  activeTransfers(): number {
    let n = 0;
    for (const node of this.#nodeList) n += node.upList.length;
    return n;
  }

  // ---------------- joining and leaving ----------------

  #torrent(infoHash: string): Torrent {
    let t = this.#torrents.get(infoHash);
    if (!t) {
      t = new Torrent(infoHash);
      this.#torrents.set(infoHash, t);
    }
    return t;
  }

  /** Join a torrent by info-hash (magnet); returns the existing session when already in. */
  join(nodeId: string, infoHash: string, parentDir: string): Session {
    const node = this.#node(nodeId);
    const existing = node.sessions.find((s) => s.torrent.infoHash === infoHash);
    if (existing) return existing;
    const torrent = this.#torrent(infoHash);
    const s = new Session(node, torrent, parentDir, node.rng.nextUint32(), this.opts.announceMs);
    node.sessions.push(s);
    this.#trace.record('swarm.join', { node: nodeId, ih: torrent.short });
    this.#connect(s, this.opts.peersPerTorrent, true);
    torrent.sessions.push(s);
    this.#tryMeta(s);
    this.#armAnnounce(s);
    return s;
  }

  /**
   * Seed a torrent from files at `<parentDir>/<name>/`. Pieces whose bytes match the
   * torrent's hashes are held; the others are not served. Returns the info-hash.
   */
  seed(nodeId: string, torrentFile: Uint8Array, parentDir: string): string {
    const parsed: ParsedTorrent = parseTorrentFile(torrentFile);
    const node = this.#node(nodeId);
    const torrent = this.#torrent(parsed.infoHash);
    if (!torrent.meta) this.#setMeta(torrent, parsed);
    const s = this.join(nodeId, parsed.infoHash, parentDir);
    if (!s.hasMeta) {
      if (s.metaEv) {
        this.#kernel.cancel(s.metaEv);
        s.metaEv = undefined;
      }
      this.#gotMeta(s);
    } else {
      this.#scanFiles(s);
    }
    this.#trace.record('swarm.seed', { node: node.id, ih: torrent.short, have: s.haveCount });
    this.#fillUp(node);
    return parsed.infoHash;
  }

  /** Leave a torrent. Pending waits reject with TorrentRemoved unless `abandon` (crash). */
  leave(nodeId: string, infoHash: string, abandon = false): void {
    const node = this.#node(nodeId);
    const s = node.sessions.find((x) => x.torrent.infoHash === infoHash);
    if (!s) return;
    this.#drop(s, abandon);
  }

  /** Leave every torrent of a node. */
  leaveAll(nodeId: string, abandon = false): void {
    const node = this.#node(nodeId);
    for (const s of node.sessions.slice()) this.#drop(s, abandon);
  }

  #drop(s: Session, abandon: boolean): void {
    const node = s.node;
    s.active = false;
    this.#trace.record('swarm.leave', { node: node.id, ih: s.torrent.short });
    if (s.metaEv) this.#kernel.cancel(s.metaEv);
    if (s.announceEv) this.#kernel.cancel(s.announceEv);
    s.metaEv = undefined;
    s.announceEv = undefined;
    const affected = new Set<SwarmNode>();
    for (const t of node.upList.slice()) if (t.from === s) this.#abort(t, affected);
    for (const t of node.downList.slice()) if (t.to === s) this.#abort(t, affected);
    for (const p of s.peers) {
      const i = p.peers.indexOf(s);
      if (i >= 0) p.peers.splice(i, 1);
      this.#armAnnounce(p);
    }
    s.peers.length = 0;
    if (s.base >= 0) {
      const t = s.torrent;
      t.haveAll.fill(0, s.base, s.base + t.words);
      t.needAll.fill(0, s.base, s.base + t.words);
      this.#forgetMissing(s);
      t.missAll.fill(0, s.base, s.base + t.words);
      t.freeRows.push(s.base);
      s.base = -1;
      s.hasMeta = false;
    }
    const ts = s.torrent.sessions;
    const i = ts.indexOf(s);
    if (i >= 0) ts.splice(i, 1);
    // Nobody left in the torrent: forget it (its bitsets grow with every session it had);
    // a later join starts afresh and learns the metadata from whoever seeds it again.
    if (ts.length === 0 && this.#torrents.get(s.torrent.infoHash) === s.torrent) {
      this.#torrents.delete(s.torrent.infoHash);
    }
    const j = node.sessions.indexOf(s);
    if (j >= 0) node.sessions.splice(j, 1);
    const waiters = s.waiters;
    const metaWaiters = s.metaWaiters;
    const pending = s.pendingWants;
    s.waiters = [];
    s.metaWaiters = [];
    s.pendingWants = [];
    if (!abandon && waiters.length + metaWaiters.length + pending.length > 0) {
      // made only when someone waits: an Error's stack trace is not free
      const err = new TorrentRemoved(s.torrent.infoHash);
      for (const w of pending) {
        w.signal?.removeEventListener('abort', w.onAbort!);
        w.reject(err);
      }
      for (const w of waiters) {
        w.signal?.removeEventListener('abort', w.onAbort!);
        w.reject(err);
      }
      for (const w of metaWaiters) {
        w.signal?.removeEventListener('abort', w.onAbort!);
        w.reject(err);
      }
      this.onSettle();
    }
    for (const n of affected) this.#refill(n);
  }

  #connect(s: Session, want: number, respectCap: boolean): number {
    const others = s.torrent.sessions;
    const cap = this.opts.maxConnections;
    let made = 0;
    const consider = (o: Session): void => {
      if (o === s || !o.active || o.node === s.node) return;
      if (respectCap && o.peers.length >= cap) return;
      if (s.peers.includes(o)) return;
      s.peers.push(o);
      o.peers.push(s);
      made++;
    };
    if (others.length <= want * 2) {
      // Small swarm: consider everyone, in a random order.
      const order = s.node.rng.shuffle(others.slice());
      for (const o of order) {
        if (made >= want) break;
        consider(o);
      }
    } else {
      for (let tries = 0; tries < want * 3 && made < want; tries++) consider(s.node.rng.pick(others));
    }
    if (made > 0 && this.opts.tracePieces) {
      this.#trace.record('swarm.connect', { node: s.node.id, ih: s.torrent.short, peers: s.peers.length });
    }
    return made;
  }

  // ---------------- metadata ----------------

  #setMeta(torrent: Torrent, p: ParsedTorrent): void {
    const total = p.files.reduce((a, f) => a + f.length, 0);
    torrent.meta = {
      name: p.name,
      pieceLength: p.pieceLength,
      pieceCount: p.pieceHashes.length / 20,
      totalLength: total,
      pieceHashes: p.pieceHashes,
      infoLength: p.infoLength,
      files: p.files.map((f) => ({ ...f })),
    };
    torrent.pieces = new Array(p.pieceHashes.length / 20).fill(undefined);
    torrent.verified = new Uint8Array(p.pieceHashes.length / 20);
    const blocks = Math.ceil(p.pieceHashes.length / 20 / this.opts.piecesPerTransfer);
    torrent.copies = new Uint32Array(blocks);
    torrent.wanting = new Int32Array(blocks);
  }

  static metadataOf(torrent: { infoHash: string; meta: Meta | undefined }): TorrentMetadata {
    const m = torrent.meta!;
    return {
      infoHash: torrent.infoHash,
      name: m.name,
      pieceLength: m.pieceLength,
      pieceCount: m.pieceCount,
      files: m.files.map((f) => ({ ...f })),
    };
  }

  /** A row (word offset) in the torrent's packed bitsets, zeroed. */
  #allocRow(t: Torrent): number {
    const words = (t.meta!.pieceCount + 31) >>> 5;
    if (t.words === 0) t.words = words;
    const free = t.freeRows.pop();
    if (free !== undefined) return free;
    const row = t.rows++;
    if ((row + 1) * words > t.haveAll.length) {
      const cap = Math.max(16, t.rows * 2) * words;
      const h = new Uint32Array(cap);
      h.set(t.haveAll);
      t.haveAll = h;
      const n = new Uint32Array(cap);
      n.set(t.needAll);
      t.needAll = n;
      const m = new Uint32Array(cap);
      m.set(t.missAll);
      t.missAll = m;
    }
    return row * words;
  }

  #tryMeta(s: Session): void {
    if (s.hasMeta || s.metaEv || !s.active || !s.node.reachable) return;
    const meta = s.torrent.meta;
    if (!meta) return;
    const n = s.peers.length;
    for (let k = 0; k < n; k++) {
      const p = s.peers[(s.rrDown + k) % n]!;
      if (!p.hasMeta || !this.#linked(s.node, p.node) || !(p.node.upBps > 0)) continue;
      const lat = this.#net.sampleLatency(s.node.id, p.node.id);
      const rate = Math.min(p.node.upBps, s.node.downBps);
      const at = this.#kernel.now() + 2 * lat + Math.ceil((meta.infoLength * 1000) / rate);
      s.metaEv = this.#kernel.schedule(at, 'swarm.meta', onMetaArrive, { swarm: this, s, src: p });
      return;
    }
  }

  /** @internal */
  metaArrive(s: Session, src: Session): void {
    s.metaEv = undefined;
    if (!s.active || s.hasMeta) return;
    if (!src.active || !this.#linked(s.node, src.node)) {
      this.#tryMeta(s);
      return;
    }
    const len = s.torrent.meta!.infoLength;
    src.node.bytesUp += len;
    s.node.bytesDown += len;
    this.#trace.record('swarm.meta', { node: s.node.id, ih: s.torrent.short, from: src.node.id });
    this.#gotMeta(s);
    this.#fillDown(s.node);
    this.#fillUp(s.node);
  }

  #gotMeta(s: Session): void {
    const m = s.torrent.meta!;
    const n = m.pieceCount;
    s.hasMeta = true;
    s.base = this.#allocRow(s.torrent);
    s.wanted = new Uint8Array(n);
    this.#scanFiles(s);
    const waiters = s.metaWaiters;
    s.metaWaiters = [];
    if (waiters.length > 0) {
      const md = Swarm.metadataOf(s.torrent);
      for (const w of waiters) {
        w.signal?.removeEventListener('abort', w.onAbort!);
        w.resolve(md);
      }
      this.onSettle();
    }
    // Wants made before the metadata take effect now, synchronously.
    const pending = s.pendingWants;
    s.pendingWants = [];
    for (const w of pending) {
      w.signal?.removeEventListener('abort', w.onAbort!);
      this.#applyWant(s, w.range, w.signal).then(w.resolve, w.reject);
    }
    for (const p of s.peers) this.#tryMeta(p);
  }

  /**
   * Fetch the piece range `range(metadata)` gives, as soon as the metadata is known
   * (at once when it is). Resolves once all those pieces are held and written.
   */
  wantWhenKnown(
    s: Session,
    range: (m: TorrentMetadata) => [number, number],
    signal?: AbortSignal,
  ): Promise<void> {
    if (!s.active) return Promise.reject(new TorrentRemoved(s.torrent.infoHash));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (s.hasMeta) return this.#applyWant(s, range, signal);
    return new Promise((resolve, reject) => {
      const w: PendingWant = { range, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = s.pendingWants.indexOf(w);
          if (i >= 0) s.pendingWants.splice(i, 1);
          reject(signal.reason);
          this.onSettle();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      s.pendingWants.push(w);
    });
  }

  #applyWant(
    s: Session,
    range: (m: TorrentMetadata) => [number, number],
    signal?: AbortSignal,
  ): Promise<void> {
    let r: [number, number];
    try {
      r = range(Swarm.metadataOf(s.torrent));
    } catch (e) {
      this.onSettle();
      return Promise.reject(e);
    }
    return this.want(s, r[0], r[1], signal);
  }

  /** Mark as held the pieces already in the node's files with the right hash. */
  #scanFiles(s: Session): void {
    const m = s.torrent.meta!;
    const fs = s.node.fs;
    const dir = `${s.parentDir}/${m.name}`;
    // The local bytes in torrent order, as (torrent offset, chunk) segments; a missing file
    // or a short one leaves a gap. Pieces are looked up with a cursor that only moves
    // forward, and stretches of known verified bytes are taken whole, so a scan costs about
    // one step per chunk (members rescan a folder that grows every round).
    const segAt: number[] = [];
    const segBytes: Uint8Array[] = [];
    for (const f of m.files) {
      const path = `${dir}/${f.path}`;
      if (!fs.exists(path)) continue;
      let at = f.offset;
      const fend = f.offset + f.length;
      for (const c of fs.chunks ? fs.chunks(path) : [fs.read(path)]) {
        if (at >= fend) break;
        const len = Math.min(c.length, fend - at);
        if (len === 0) continue;
        segAt.push(at);
        segBytes.push(len === c.length ? c : c.subarray(0, len));
        at += len;
      }
    }
    if (segAt.length === 0) return;
    const P = m.pieceLength;
    const torrent = s.torrent;
    let found = 0;
    let k = -1;
    // pieces [fastFirst, fastEnd) of segment k are known verified bytes
    let fastFirst = 0;
    let fastEnd = 0;
    // a run of pieces of segment k verified one by one, to remember as a source
    let runFirst = -1;
    let runEnd = -1;
    const remember = (): void => {
      if (runFirst >= 0 && runEnd > runFirst) {
        this.#addSource(torrent, segBytes[k]!, segAt[k]!, runFirst * P, Math.min(runEnd * P, m.totalLength));
      }
      runFirst = -1;
    };
    for (let p = 0; p < m.pieceCount; p++) {
      const start = p * P;
      const len = Math.min(P, m.totalLength - start);
      if (k < 0 || segAt[k]! + segBytes[k]!.length <= start) {
        remember();
        while (++k < segAt.length && segAt[k]! + segBytes[k]!.length <= start) {}
        if (k === segAt.length) break;
        [fastFirst, fastEnd] = this.#knownPieces(torrent, segBytes[k]!, segAt[k]!);
      }
      if (segAt[k]! > start) continue;
      if (p >= fastFirst && p < fastEnd) {
        found += this.#gainRange(s, p, fastEnd);
        p = fastEnd - 1;
        continue;
      }
      if (this.#has(s, p)) continue;
      const seg = segBytes[k]!;
      const o = start - segAt[k]!;
      let bytes: Uint8Array | undefined;
      let ok: boolean;
      const known = torrent.pieces[p];
      const inside = o + len <= seg.length;
      if (inside) {
        if (
          known !== undefined &&
          torrent.verified[p] === 1 &&
          known.buffer === seg.buffer &&
          known.byteOffset === seg.byteOffset + o &&
          known.length === len
        ) {
          // the very bytes already verified for this piece (buffers are immutable)
          ok = true;
        } else {
          bytes = seg.subarray(o, o + len);
          ok = sameHash(sha1(bytes), m.pieceHashes, p);
        }
      } else {
        bytes = this.#spanningPiece(segAt, segBytes, k, start, len);
        ok = bytes !== undefined && sameHash(sha1(bytes), m.pieceHashes, p);
      }
      if (inside && ok) {
        if (runFirst >= 0 && runEnd !== p) remember();
        if (runFirst < 0) runFirst = p;
        runEnd = p + 1;
      } else {
        remember();
      }
      if (!ok) continue;
      if (!known && bytes) {
        torrent.pieces[p] = bytes;
        torrent.stretchEnd = undefined;
        torrent.verified[p] = 1;
      }
      this.#gainBits(s, p);
      s.progressMark++;
      found++;
    }
    if (k < segAt.length) remember();
    if (found > 0) this.#trace.record('swarm.reuse', { node: s.node.id, ih: s.torrent.short, pieces: found });
  }

  #addSource(torrent: Torrent, seg: Uint8Array, segAt: number, from: number, to: number): void {
    let list = torrent.sources.get(seg.buffer);
    if (!list) {
      list = [];
      torrent.sources.set(seg.buffer, list);
    }
    const delta = seg.byteOffset - segAt;
    for (const r of list) if (r.delta === delta && r.from <= from && r.to >= to) return;
    list.push({ delta, from, to });
  }

  /** Pieces [first, end) lying whole in this segment whose bytes are a known verified range. */
  #knownPieces(torrent: Torrent, seg: Uint8Array, segAt: number): [number, number] {
    const list = torrent.sources.get(seg.buffer);
    if (!list) return [0, 0];
    const m = torrent.meta!;
    const P = m.pieceLength;
    const delta = seg.byteOffset - segAt;
    const segEnd = segAt + seg.length;
    let best: [number, number] = [0, 0];
    for (const r of list) {
      if (r.delta !== delta) continue;
      const lo = Math.max(r.from, segAt);
      const hi = Math.min(r.to, segEnd);
      if (hi <= lo) continue;
      const first = Math.ceil(lo / P);
      const end = hi === m.totalLength ? m.pieceCount : Math.floor(hi / P);
      if (end - first > best[1] - best[0]) best = [first, end];
    }
    return best;
  }

  /** Add `sign` per piece of bitset word w set in `bits` to its block's count. */
  #perBlock(counts: Uint32Array | Int32Array, w: number, bits: number, sign: number): void {
    const K = this.opts.piecesPerTransfer;
    if (K >= 32 && K % 32 === 0) {
      counts[((w << 5) / K) | 0]! += sign * popcount(bits);
      return;
    }
    if (32 % K === 0) {
      // blocks split the word evenly
      const mask = K === 32 ? -1 : (1 << K) - 1;
      for (let b = 0; b < 32; b += K) {
        const part = (bits >>> b) & mask;
        if (part !== 0) counts[((w << 5) + b) / K]! += sign * popcount(part);
      }
      return;
    }
    for (let x = bits; x !== 0; x &= x - 1) counts[(((w << 5) + 31 - Math.clz32(x & -x)) / K) | 0]! += sign;
  }

  /** Take a session's missing pieces out of the blocks' demand (before its bitsets are cleared). */
  #forgetMissing(s: Session): void {
    const t = s.torrent;
    const miss = t.missAll;
    for (let w = 0; w < t.words; w++) {
      const x = miss[s.base + w]!;
      if (x !== 0) this.#perBlock(t.wanting, w, x, -1);
    }
  }

  /**
   * Longest run starting at piece p for `down`. A run's pieces are shareable only once it
   * completes, so in a contested swarm runs must not hold pieces back: while other
   * sessions want a block that few hold, its pieces travel alone, as in the per-piece
   * model, so that they spread as early as they would there (early spread decides a
   * swarm's finish time); runs grow by one piece per rareCopies copies per piece the block
   * has, up to piecesPerTransfer. Rare blocks are few transfers next to the thousands of
   * copies of a common one. When nobody else wants the block, a run is as fast as the
   * pieces one by one and is as long as allowed.
   */
  #runLimit(down: Session, p: number): number {
    const t = down.torrent;
    const K = this.opts.piecesPerTransfer;
    const rare = this.opts.rareCopies;
    if (rare === 0 || K === 1) return K;
    const b = (p / K) | 0;
    const first = b * K;
    const len = Math.min(K, t.meta!.pieceCount - first);
    // down's own demand for the block
    let own = 0;
    const miss = t.missAll;
    for (let q = first; q < first + len; ) {
      const w = q >>> 5;
      const hiBit = Math.min(first + len - (w << 5), 32);
      const loBit = q & 31;
      const mask = (hiBit === 32 ? -1 : (1 << hiBit) - 1) & ~((1 << loBit) - 1);
      own += popcount(miss[down.base + w]! & mask);
      q = (w + 1) << 5;
    }
    if (t.wanting[b]! <= own) return K;
    const perPiece = t.copies[b]! / len;
    // What down still lacks is spread over its download slots, as a client pipelining
    // requests to several peers would: its last pieces come from several peers at once.
    const spread = Math.ceil((down.missingCount - down.inflightCount) / this.opts.downloadSlots);
    return Math.max(1, Math.min(K, Math.floor(perPiece / rare), spread));
  }

  /** Session s holds pieces [first, end) (found in its files): bitsets a word at a time. */
  #gainRange(s: Session, first: number, end: number): number {
    const t = s.torrent;
    const have = t.haveAll;
    const need = t.needAll;
    const miss = t.missAll;
    let gained = 0;
    for (let q = first; q < end; ) {
      const w = q >>> 5;
      const hiBit = Math.min(end - (w << 5), 32);
      const loBit = q & 31;
      const mask = (hiBit === 32 ? -1 : (1 << hiBit) - 1) & ~((1 << loBit) - 1);
      const i = s.base + w;
      const fresh = mask & ~have[i]!;
      if (fresh !== 0) {
        const n = popcount(fresh);
        this.#perBlock(t.copies, w, fresh, 1);
        gained += n;
        s.haveCount += n;
        const wasMissing = fresh & miss[i]!;
        if (wasMissing !== 0) {
          s.missingCount -= popcount(wasMissing);
          this.#perBlock(t.wanting, w, wasMissing, -1);
        }
        have[i]! |= fresh;
        need[i]! &= ~fresh;
        miss[i]! &= ~fresh;
      }
      q = (w + 1) << 5;
    }
    if (gained > 0) s.progressMark++;
    return gained;
  }

  /** Bytes [start, start + len) across segments k, k+1, ... (contiguous), or undefined at a gap. */
  #spanningPiece(
    segAt: number[],
    segBytes: Uint8Array[],
    k: number,
    start: number,
    len: number,
  ): Uint8Array | undefined {
    const parts: Uint8Array[] = [];
    const end = start + len;
    let pos = start;
    for (let i = k; i < segAt.length && pos < end; i++) {
      const at = segAt[i]!;
      if (at > pos) return undefined;
      const seg = segBytes[i]!;
      const a = pos - at;
      const b = Math.min(seg.length, end - at);
      if (b <= a) continue;
      parts.push(seg.subarray(a, b));
      pos = at + b;
    }
    return pos < end ? undefined : concat(parts, len);
  }

  metadata(s: Session, signal?: AbortSignal): Promise<TorrentMetadata> {
    if (!s.active) return Promise.reject(new TorrentRemoved(s.torrent.infoHash));
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (s.hasMeta) return Promise.resolve(Swarm.metadataOf(s.torrent));
    return new Promise((resolve, reject) => {
      const w: MetaWaiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = s.metaWaiters.indexOf(w);
          if (i >= 0) s.metaWaiters.splice(i, 1);
          reject(signal.reason);
          this.onSettle();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      s.metaWaiters.push(w);
    });
  }

  // ---------------- wanting pieces ----------------

  /** Fetch pieces [first, end); resolves once all are held and written to the files. */
  want(s: Session, first: number, end: number, signal?: AbortSignal): Promise<void> {
    if (!s.active) return Promise.reject(new TorrentRemoved(s.torrent.infoHash));
    if (!s.hasMeta) return Promise.reject(new Error('swarm.want: metadata not known yet'));
    if (signal?.aborted) return Promise.reject(signal.reason);
    const n = s.torrent.meta!.pieceCount;
    first = Math.max(0, Math.min(n, Math.floor(first)));
    end = Math.max(first, Math.min(n, Math.floor(end)));
    let remaining = 0;
    if (end > first) {
      if (s.wantHi === 0) s.wantLo = first >>> 5;
      else s.wantLo = Math.min(s.wantLo, first >>> 5);
      s.wantHi = Math.max(s.wantHi, ((end - 1) >>> 5) + 1);
    }
    for (let p = first; p < end; p++) {
      if (!s.wanted[p]) {
        s.wanted[p] = 1;
        s.wantedCount++;
        if (!this.#has(s, p)) this.#addMissing(s, p);
      }
      if (!this.#has(s, p)) remaining++;
    }
    this.#trace.record('swarm.want', {
      node: s.node.id,
      ih: s.torrent.short,
      first,
      end,
      missing: remaining,
    });
    if (remaining === 0) {
      this.#writeFiles(s, first, end);
      return Promise.resolve();
    }
    const promise = new Promise<void>((resolve, reject) => {
      const w: Waiter = { first, end, remaining, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        w.onAbort = () => {
          const i = s.waiters.indexOf(w);
          if (i >= 0) s.waiters.splice(i, 1);
          this.#trace.record('swarm.cancel', { node: s.node.id, ih: s.torrent.short, first, end });
          this.#rewant(s);
          reject(signal.reason);
          this.onSettle();
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      s.waiters.push(w);
    });
    s.announceDelay = this.opts.announceMs;
    this.#armAnnounce(s);
    this.#fillDown(s.node);
    return promise;
  }

  /** After a cancel: want only what the remaining waiters need. */
  #rewant(s: Session): void {
    const n = s.torrent.meta!.pieceCount;
    s.wanted.fill(0);
    s.wantedCount = 0;
    s.wantLo = 0;
    s.wantHi = 0;
    for (const w of s.waiters) {
      if (w.end > w.first) {
        if (s.wantHi === 0) s.wantLo = w.first >>> 5;
        else s.wantLo = Math.min(s.wantLo, w.first >>> 5);
        s.wantHi = Math.max(s.wantHi, ((w.end - 1) >>> 5) + 1);
      }
      for (let p = w.first; p < w.end; p++) {
        if (!s.wanted[p]) {
          s.wanted[p] = 1;
          s.wantedCount++;
        }
      }
    }
    s.missingCount = 0;
    s.torrent.needAll.fill(0, s.base, s.base + s.torrent.words);
    this.#forgetMissing(s);
    s.torrent.missAll.fill(0, s.base, s.base + s.torrent.words);
    for (let p = 0; p < n; p++) if (s.wanted[p] && !this.#has(s, p)) this.#addMissing(s, p);
    // Requests for pieces no longer wanted are cancelled, as a client deselecting them
    // would; whole pieces that already arrived are kept, wanted pieces are asked again.
    const affected = new Set<SwarmNode>();
    for (const t of s.node.downList.slice()) {
      if (t.to !== s) continue;
      let unwanted = false;
      for (let q = t.first; q < t.end && !unwanted; q++) unwanted = s.wanted[q] === 0;
      if (unwanted) this.#abort(t, affected);
    }
    for (const x of affected) this.#refill(x);
  }

  /** Whether session s holds piece p (its metadata must be known). */
  #has(s: Session, p: number): boolean {
    return (s.torrent.haveAll[s.base + (p >>> 5)]! & (1 << (p & 31))) !== 0;
  }

  /** Whether piece p is on its way to session s. */
  #inFlight(s: Session, p: number): boolean {
    for (const t of s.node.downList) if (t.to === s && p >= t.arrived && p < t.end) return true;
    return false;
  }

  /** p became wanted and is not held. */
  #addMissing(s: Session, p: number): void {
    s.missingCount++;
    s.torrent.wanting[(p / this.opts.piecesPerTransfer) | 0]!++;
    s.torrent.missAll[s.base + (p >>> 5)]! |= 1 << (p & 31);
    if (!this.#inFlight(s, p)) s.torrent.needAll[s.base + (p >>> 5)]! |= 1 << (p & 31);
  }

  /** Session s now holds piece p (bitsets and counts only; see #gained for the listeners). */
  #gainBits(s: Session, p: number): void {
    s.haveCount++;
    const t = s.torrent;
    const b = (p / this.opts.piecesPerTransfer) | 0;
    t.copies[b]!++;
    const i = s.base + (p >>> 5);
    const bit = 1 << (p & 31);
    if (t.missAll[i]! & bit) {
      s.missingCount--;
      t.wanting[b]!--;
    }
    t.haveAll[i]! |= bit;
    t.needAll[i]! &= ~bit;
    t.missAll[i]! &= ~bit;
  }

  /**
   * After pieces were gained from the swarm (waiters' `remaining` already counted down):
   * one progress event, then settle the waiters whose ranges are complete.
   */
  #gained(s: Session): void {
    s.progressMark++;
    if (s.progress.size > 0) {
      const ev: TorrentProgress = {
        infoHash: s.torrent.infoHash,
        piecesHave: s.haveCount,
        piecesWanted: s.wantedCount,
      };
      for (const l of [...s.progress]) l(ev);
    }
    if (s.waiters.length === 0) return;
    let done: Waiter[] | undefined;
    for (const w of s.waiters) {
      if (w.remaining <= 0) {
        done ??= [];
        done.push(w);
      }
    }
    if (!done) return;
    for (const w of done) {
      s.waiters.splice(s.waiters.indexOf(w), 1);
      w.signal?.removeEventListener('abort', w.onAbort!);
      this.#writeFiles(s, w.first, w.end);
      this.#trace.record('swarm.done', {
        node: s.node.id,
        ih: s.torrent.short,
        first: w.first,
        end: w.end,
      });
      w.resolve();
    }
    this.onSettle();
  }

  // ---------------- files ----------------

  /** Write the files overlapping pieces [first, end) into the node's FileSystem. */
  #writeFiles(s: Session, first: number, end: number): void {
    const m = s.torrent.meta!;
    const P = m.pieceLength;
    const a = first * P;
    const b = Math.min(end * P, m.totalLength);
    const fs = s.node.fs;
    const dir = `${s.parentDir}/${m.name}`;
    fs.mkdirp(dir);
    for (const f of m.files) {
      const overlaps =
        f.length === 0 ? f.offset >= a && f.offset <= b : f.offset < b && f.offset + f.length > a;
      if (!overlaps) continue;
      const chunks = this.#fileChunks(s, f);
      const path = `${dir}/${f.path}`;
      if (fs.writeChunks) fs.writeChunks(path, chunks);
      else fs.writeAtomic(path, concat(chunks, f.length));
    }
  }

  #fileChunks(s: Session, f: { length: number; offset: number }): Uint8Array[] {
    const t = s.torrent;
    const m = t.meta!;
    const P = m.pieceLength;
    const stretch = this.#stretchEnd(t);
    const out: Uint8Array[] = [];
    const fend = f.offset + f.length;
    const lastPiece = Math.ceil(fend / P);
    // Walk the file by stretches: pieces held and side by side in one buffer become one
    // chunk, pieces missing one run of zeros, so the cost follows the number of chunks,
    // not of pieces (members rewrite a data file that grows every round).
    for (let pos = f.offset; pos < fend; ) {
      const p = Math.floor(pos / P);
      if (this.#has(s, p) && t.pieces[p]) {
        const q = Math.min(stretch[p]!, this.#bitRunEnd(t.haveAll, s.base, p, lastPiece, true));
        const until = Math.min(q * P, fend);
        const bytes = t.pieces[p]!;
        const off = bytes.byteOffset + pos - p * P;
        const len = until - pos;
        const prev = out[out.length - 1];
        if (prev && prev.buffer === bytes.buffer && prev.byteOffset + prev.length === off) {
          out[out.length - 1] = new Uint8Array(prev.buffer, prev.byteOffset, prev.length + len);
        } else {
          out.push(new Uint8Array(bytes.buffer, off, len));
        }
        pos = until;
      } else {
        const q = this.#bitRunEnd(t.haveAll, s.base, p, lastPiece, false);
        const until = Math.min(Math.max(q, p + 1) * P, fend);
        for (let z = until - pos; z > 0; ) {
          const k = Math.min(z, ZERO.length);
          out.push(ZERO.subarray(0, k));
          z -= k;
        }
        pos = until;
      }
    }
    return out;
  }

  /** The torrent's stretchEnd table (see Torrent.stretchEnd), made if missing. */
  #stretchEnd(t: Torrent): Int32Array {
    if (t.stretchEnd) return t.stretchEnd;
    const n = t.pieces.length;
    const out = new Int32Array(n);
    for (let p = n - 1; p >= 0; p--) {
      const a = t.pieces[p];
      const b = t.pieces[p + 1];
      out[p] =
        a !== undefined &&
        b !== undefined &&
        a.buffer === b.buffer &&
        a.byteOffset + a.length === b.byteOffset
          ? out[p + 1]!
          : p + 1;
    }
    t.stretchEnd = out;
    return out;
  }

  /** The first piece q in (p, limit) whose bit in the row at `base` is not `set`, else limit. */
  #bitRunEnd(bits: Uint32Array, base: number, p: number, limit: number, set: boolean): number {
    let q = p + 1;
    while (q < limit) {
      const w = q >>> 5;
      const b = q & 31;
      const word = set ? bits[base + w]! : ~bits[base + w]!;
      // zero bits of x: pieces that continue the run from q on
      const x = ~(word >>> b);
      if (x === 0) {
        q += 32;
        continue;
      }
      const same = 31 - Math.clz32(x & -x);
      q += same;
      if (same < 32 - b) break;
    }
    return q < limit ? q : limit;
  }

  // ---------------- transfers ----------------

  #linked(a: SwarmNode, b: SwarmNode): boolean {
    return a.reachable && b.reachable && a.group === b.group;
  }

  /**
   * A piece `up` can give `down`, or -1: the first set bit of have(up) & need(down), from
   * a rotating word and bit so that peers spread over different pieces. The run that
   * starts there ends at its block's end (see #runEnd), so a downloader fetches a block in
   * at most two runs and what peers hold stays in long stretches, not fragments.
   */
  #pick(up: Session, down: Session): number {
    if (down.missingCount <= down.inflightCount) return -1;
    const ub = up.base;
    const db = down.base;
    if (ub < 0 || db < 0) return -1;
    const torrent = up.torrent;
    const uh = torrent.haveAll;
    const dn = torrent.needAll;
    const lo = down.wantLo;
    const words = down.wantHi - lo;
    const rot = down.rot;
    down.rot = (rot + 0x9e3779b9) >>> 0;
    const start = rot % words;
    const r = (rot >>> 27) & 31;
    for (let k = 0; k < words; k++) {
      let w = start + k;
      if (w >= words) w -= words;
      w += lo;
      const x = uh[ub + w]! & dn[db + w]!;
      if (x === 0) continue;
      let y = (x >>> r) << r;
      if (y === 0) y = x;
      return (w << 5) + 31 - Math.clz32(y & -y);
    }
    return -1;
  }

  /**
   * End of the run that starts at p (which `up` holds and `down` needs): the first piece
   * after p that `up` lacks or `down` does not need, and at most the end of p's block
   * (blocks of piecesPerTransfer pieces, see #pick).
   */
  #runEnd(up: Session, down: Session, p: number): number {
    const torrent = up.torrent;
    const K = this.opts.piecesPerTransfer;
    const limit = Math.min(p - (p % K) + K, torrent.meta!.pieceCount, p + this.#runLimit(down, p));
    const uh = torrent.haveAll;
    const dn = torrent.needAll;
    const ub = up.base;
    const db = down.base;
    let q = p + 1;
    while (q < limit) {
      const w = q >>> 5;
      const b = q & 31;
      // zero bits: usable pieces from q on (the b bits shifted in at the top read as unusable)
      const x = ~((uh[ub + w]! & dn[db + w]!) >>> b);
      if (x === 0) {
        q += 32;
        continue;
      }
      const usable = 31 - Math.clz32(x & -x);
      q += usable;
      if (usable < 32 - b) break;
    }
    return q < limit ? q : limit;
  }

  /**
   * Where a run through p should start: the first piece of p's block from which every
   * piece up to p is one `up` holds and `down` needs. Long runs then cover whole blocks,
   * so what peers hold stays in whole blocks too.
   */
  #runStart(up: Session, down: Session, p: number): number {
    const torrent = up.torrent;
    const uh = torrent.haveAll;
    const dn = torrent.needAll;
    const ub = up.base;
    const db = down.base;
    const blockStart = p - (p % this.opts.piecesPerTransfer);
    let q = p;
    while (q > blockStart) {
      const prev = q - 1;
      const i = prev >>> 5;
      if ((uh[ub + i]! & dn[db + i]! & (1 << (prev & 31))) === 0) break;
      q = prev;
    }
    return q;
  }

  #start(from: Session, to: Session, p: number): void {
    const up = from.node;
    const down = to.node;
    const m = from.torrent.meta!;
    if (this.#runLimit(to, p) > 1) p = this.#runStart(from, to, p);
    const end = this.#runEnd(from, to, p);
    const size = Math.min(end * m.pieceLength, m.totalLength) - p * m.pieceLength;
    const now = this.#kernel.now();
    const lat = this.#net.sampleLatency(down.id, up.id);
    const t = new Transfer(this, from, to, p, end, size);
    if (up.corruptNext > 0) {
      const c = Math.min(up.corruptNext, end - p);
      up.corruptNext -= c;
      t.corrupt = c;
    }
    to.inflightCount += end - p;
    const need = to.torrent.needAll;
    const base = to.base;
    for (let q = p; q < end; q++) need[base + (q >>> 5)]! &= ~(1 << (q & 31));
    t.upIdx = up.upList.length;
    up.upList.push(t);
    up.upN++;
    t.downIdx = down.downList.length;
    down.downList.push(t);
    down.downN++;
    down.downFrom.push(from);
    t.ev = this.#kernel.schedule(now + lat, 'swarm.request', onRequestArrive, t);
  }

  /** @internal The request reached the uploader: the piece starts flowing. */
  requestArrived(t: Transfer): void {
    const up = t.upNode;
    const down = t.downNode;
    const now = this.#kernel.now();
    t.sending = true;
    t.last = now;
    up.sendingUp++;
    down.sendingDown++;
    this.#reshare(up, down, now);
  }

  /**
   * Fair shares changed on these two nodes: update their sending transfers. Each transfer
   * caches both shares; a share only changes through a reshare of its node, so the cache
   * is exact and the other end of a transfer need not be looked at.
   */
  #reshare(up: SwarmNode, down: SwarmNode, now: number): void {
    const a = up.sendingUp > 0 ? up.upBps / up.sendingUp : 0;
    const b = down.sendingDown > 0 ? down.downBps / down.sendingDown : 0;
    const ul = up.upList;
    for (let i = 0; i < ul.length; i++) {
      const x = ul[i]!;
      if (!x.sending) continue;
      x.upShare = a;
      if (x.downNode === down) x.downShare = b;
      this.#update(x, now);
    }
    const dl = down.downList;
    for (let i = 0; i < dl.length; i++) {
      const x = dl[i]!;
      if (!x.sending || x.upNode === up) continue;
      x.downShare = b;
      this.#update(x, now);
    }
  }

  /** Apply a transfer's fair share; when it changed, account progress so far and move its end. */
  #update(t: Transfer, now: number): void {
    const rate = Math.min(t.upShare, t.downShare);
    // t.rate is 0 until the first share: then the (fired) request event is reused.
    if (rate === t.rate) return;
    if (now > t.last && t.rate > 0) t.remaining -= (t.rate * (now - t.last)) / 1000;
    t.last = now;
    t.rate = rate;
    const rem = Math.max(t.remaining, 0);
    const at = now + Math.ceil((rem * 1000) / rate);
    const ev = t.ev!;
    if (ev.queued) this.#kernel.reschedule(ev, at);
    else this.#kernel.reschedule(ev, at, onTransferDone);
  }

  #unlink(t: Transfer): void {
    const up = t.upNode;
    const down = t.downNode;
    const ul = up.upList;
    up.upN--;
    down.downN--;
    const lastU = ul.pop()!;
    if (lastU !== t) {
      ul[t.upIdx] = lastU;
      lastU.upIdx = t.upIdx;
    }
    const dl = down.downList;
    const lastD = dl.pop()!;
    const lastFrom = down.downFrom.pop()!;
    if (lastD !== t) {
      dl[t.downIdx] = lastD;
      down.downFrom[t.downIdx] = lastFrom;
      lastD.downIdx = t.downIdx;
    }
    const to = t.to;
    to.inflightCount -= t.end - t.arrived;
    if (to.base >= 0) {
      // pieces of the run still missing are wanted again (kept ones were cleared by #gain)
      const miss = to.torrent.missAll;
      const need = to.torrent.needAll;
      for (let q = t.arrived; q < t.end; q++) {
        const i = to.base + (q >>> 5);
        const bit = 1 << (q & 31);
        if (miss[i]! & bit) need[i]! |= bit;
      }
    }
    if (t.sending) {
      t.sending = false;
      up.sendingUp--;
      down.sendingDown--;
      this.#reshare(up, down, this.#kernel.now());
    }
  }

  /** @internal */
  transferDone(t: Transfer): void {
    const from = t.from;
    const to = t.to;
    this.#unlink(t);
    from.node.bytesUp += t.size;
    to.node.bytesDown += t.size;
    const gained = this.#receive(t, t.arrived, t.end);
    // The uploader picks its next downloader first (round robin), so a downloader does
    // not grab back the slot it just freed.
    this.#fillUp(from.node);
    this.#fillDown(to.node);
    if (gained > 0 && to.active) this.#offer(to, t.first, t.end);
  }

  /**
   * Pieces [from, upTo) of a transfer arrived whole: verify each, keep the good ones
   * (the corrupted ones stay missing and are fetched again), then tell listeners and
   * waiters once. Returns how many pieces were gained.
   */
  #receive(t: Transfer, first: number, upTo: number): number {
    const from = t.from;
    const to = t.to;
    const torrent = to.torrent;
    const meta = torrent.meta!;
    const keep = to.active && to.base >= 0;
    let gained = 0;
    for (let q = first; q < upTo; q++) {
      let ok: boolean;
      if (q - t.first < t.corrupt) {
        const bad = torrent.pieces[q]!.slice();
        const i = from.node.rng.int(0, bad.length - 1);
        bad[i] = (bad[i] ?? 0) ^ 0xff;
        ok = sameHash(createHash('sha1').update(bad).digest(), meta.pieceHashes, q);
      } else {
        ok = torrent.verified[q] === 1 || sameHash(sha1(torrent.pieces[q]!), meta.pieceHashes, q);
      }
      if (!ok) {
        to.node.badPieces++;
        this.#trace.record('swarm.badpiece', { from: from.node.id, to: to.node.id, ih: torrent.short, p: q });
      } else if (keep && !this.#has(to, q)) {
        this.#gainBits(to, q);
        gained++;
        const ws = to.waiters;
        for (let k = 0; k < ws.length; k++) {
          const w = ws[k]!;
          if (q >= w.first && q < w.end) w.remaining--;
        }
      }
    }
    if (gained > 0) {
      if (this.opts.tracePieces) {
        this.#trace.record('swarm.piece', {
          from: from.node.id,
          to: to.node.id,
          ih: torrent.short,
          p: first,
          end: upTo,
          gained,
        });
      }
      this.#gained(to);
    }
    return gained;
  }

  #abort(t: Transfer, affected: Set<SwarmNode>): void {
    const now = this.#kernel.now();
    if (t.sending && now > t.last && t.rate > 0) t.remaining -= (t.rate * (now - t.last)) / 1000;
    const done = t.sending ? Math.max(0, Math.min(t.size, Math.floor(t.size - t.remaining))) : 0;
    t.from.node.bytesUp += done;
    t.to.node.bytesDown += done;
    if (t.ev) this.#kernel.cancel(t.ev);
    this.#unlink(t);
    // Every piece of a run but the torrent's last is pieceLength long, and the last one
    // can only end a run: whole pieces done = done / pieceLength, or all when done = size.
    const P = t.to.torrent.meta!.pieceLength;
    const kept = done >= t.size ? t.end : Math.min(t.end, t.first + Math.floor(done / P));
    if (this.opts.tracePieces) {
      this.#trace.record('swarm.abort', {
        from: t.from.node.id,
        to: t.to.node.id,
        ih: t.to.torrent.short,
        p: t.first,
        end: t.end,
        kept: Math.max(kept, t.arrived) - t.first,
      });
    }
    if (kept > t.arrived) this.#receive(t, t.arrived, kept);
    affected.add(t.from.node);
    affected.add(t.to.node);
  }

  /** A session just got pieces of [first, end): peers that want one and have room start fetching. */
  #offer(s: Session, first: number, end: number): void {
    const node = s.node;
    const upSlots = this.opts.uploadSlots;
    const downSlots = this.opts.downloadSlots;
    if (!node.reachable || !(node.upBps > 0)) return;
    const peers = s.peers;
    for (let k = 0; k < peers.length && node.upN < upSlots; k++) {
      const d = peers[k]!;
      if (d.base < 0) continue;
      const dn = d.node;
      if (dn.downN >= downSlots || !dn.reachable || dn.group !== node.group || !(dn.downBps > 0)) continue;
      const p = this.#firstNeeded(s, d, first, end);
      if (p < 0 || this.#pairBusy(s, d)) continue;
      this.#start(s, d, p);
    }
  }

  /** The first piece of [first, end) that `up` holds and `down` needs (wanted, lacking, not in flight), or -1. */
  #firstNeeded(up: Session, down: Session, first: number, end: number): number {
    const torrent = up.torrent;
    const uh = torrent.haveAll;
    const dn = torrent.needAll;
    const ub = up.base;
    const db = down.base;
    for (let q = first; q < end; ) {
      const w = q >>> 5;
      const x = ((uh[ub + w]! & dn[db + w]!) >>> (q & 31)) << (q & 31);
      if (x !== 0) {
        const p = (w << 5) + 31 - Math.clz32(x & -x);
        return p < end ? p : -1;
      }
      q = (w + 1) << 5;
    }
    return -1;
  }

  /** Whether `up` already runs `pipeline` transfers to `down`. */
  #pairBusy(up: Session, down: Session): boolean {
    // A session belongs to one torrent, so `from === up` implies the download is `down`'s.
    const list = down.node.downFrom;
    const max = this.opts.pipeline;
    let n = 0;
    for (let i = 0; i < list.length; i++) if (list[i] === up && ++n >= max) return true;
    return false;
  }

  /** Start downloads for a node while it has free download slots. */
  #fillDown(node: SwarmNode): void {
    if (!node.reachable || !(node.downBps > 0)) return;
    const slots = this.opts.downloadSlots;
    const upSlots = this.opts.uploadSlots;
    const sessions = node.sessions;
    for (let si = 0; si < sessions.length && node.downN < slots; si++) {
      const s = sessions[si]!;
      if (!s.hasMeta) continue;
      while (node.downN < slots && s.missingCount > s.inflightCount) {
        const peers = s.peers;
        const n = peers.length;
        // With downloads running, a few peers per call is enough: the next completion tries
        // the next few. An idle downloader looks at every peer so it cannot stall.
        const probes = node.downN === 0 || n < PROBES ? n : PROBES;
        let started = false;
        let idx = s.rrDown % n;
        for (let k = 0; k < probes; k++, idx = idx + 1 === n ? 0 : idx + 1) {
          const u = peers[idx]!;
          const un = u.node;
          if (un.upN >= upSlots || !un.reachable || un.group !== node.group || !(un.upBps > 0)) continue;
          const p = this.#pick(u, s);
          if (p < 0 || this.#pairBusy(u, s)) continue;
          s.rrDown = idx + 1;
          this.#start(u, s, p);
          started = true;
          break;
        }
        if (!started) {
          s.rrDown += probes;
          break;
        }
      }
    }
  }

  /** Start uploads for a node while it has free upload slots. */
  #fillUp(node: SwarmNode): void {
    if (!node.reachable || !(node.upBps > 0)) return;
    const slots = this.opts.uploadSlots;
    const downSlots = this.opts.downloadSlots;
    const sessions = node.sessions;
    for (let si = 0; si < sessions.length && node.upN < slots; si++) {
      const s = sessions[si]!;
      if (s.haveCount === 0) continue;
      while (node.upN < slots) {
        const peers = s.peers;
        const n = peers.length;
        const probes = node.upN === 0 || n < PROBES ? n : PROBES;
        let started = false;
        let idx = s.rrUp % n;
        for (let k = 0; k < probes; k++, idx = idx + 1 === n ? 0 : idx + 1) {
          const d = peers[idx]!;
          const p = this.#pick(s, d);
          if (p < 0) continue;
          const dn = d.node;
          if (dn.downN >= downSlots || !dn.reachable || dn.group !== node.group || !(dn.downBps > 0))
            continue;
          if (this.#pairBusy(s, d)) continue;
          s.rrUp = idx + 1;
          this.#start(s, d, p);
          started = true;
          break;
        }
        if (!started) {
          s.rrUp += probes;
          break;
        }
      }
    }
  }

  #refill(node: SwarmNode): void {
    this.#fillDown(node);
    this.#fillUp(node);
  }

  // ---------------- announce (peer discovery) ----------------

  /** Sessions still fetching (or without metadata) look for peers; complete ones wait to be found. */
  #needsPeers(s: Session): boolean {
    if (!s.active || !s.node.reachable) return false;
    return !s.hasMeta || s.missingCount > 0;
  }

  #armAnnounce(s: Session): void {
    if (s.announceEv || !this.#needsPeers(s)) return;
    s.announceEv = this.#kernel.after(s.announceDelay, 'swarm.announce', announceFire, { swarm: this, s });
  }

  /** @internal */
  announce(s: Session): void {
    s.announceEv = undefined;
    if (!this.#needsPeers(s)) return;
    const progressed = s.progressMark !== s.lastMark;
    s.lastMark = s.progressMark;
    const starving = !s.hasMeta || (s.missingCount > 0 && s.inflightCount === 0 && !progressed);
    const want = Math.max(this.opts.peersPerTorrent - s.peers.length, starving ? 4 : 0);
    if (want > 0) {
      const made = this.#connect(s, want, !starving);
      if (made > 0) {
        for (const p of s.peers) if (!p.hasMeta) this.#tryMeta(p);
        this.#tryMeta(s);
        this.#fillDown(s.node);
        this.#fillUp(s.node);
        for (const p of s.peers.slice(-made)) this.#refill(p.node);
      }
    }
    s.announceDelay = progressed
      ? this.opts.announceMs
      : Math.min(s.announceDelay * 2, this.opts.maxAnnounceMs);
    this.#armAnnounce(s);
  }

  // ---------------- connectivity ----------------

  #connectivityChanged(id: string | undefined): void {
    const changed: SwarmNode[] = [];
    const nodes = id === undefined ? this.#nodeList : [this.#nodes.get(id)].filter((n) => n !== undefined);
    for (const n of nodes) {
      const r = this.#net.isOnline(n.id);
      const g = this.#net.groupOf(n.id);
      if (r !== n.reachable || g !== n.group) {
        n.reachable = r;
        n.group = g;
        changed.push(n);
      }
    }
    if (changed.length === 0) return;
    const affected = new Set<SwarmNode>();
    for (const n of changed) {
      for (const t of n.upList.slice()) if (!this.#linked(t.from.node, t.to.node)) this.#abort(t, affected);
      for (const t of n.downList.slice()) if (!this.#linked(t.from.node, t.to.node)) this.#abort(t, affected);
    }
    const wake = new Set<SwarmNode>(affected);
    for (const n of changed) {
      if (!n.reachable) continue;
      wake.add(n);
      for (const s of n.sessions) {
        this.#tryMeta(s);
        for (const p of s.peers) {
          wake.add(p.node);
          this.#tryMeta(p);
        }
        this.#armAnnounce(s);
      }
    }
    for (const n of wake) this.#refill(n);
  }
}

function announceFire(a: { swarm: Swarm; s: Session }): void {
  a.swarm.announce(a.s);
}
