// The swarm model: BitTorrent-like distribution at piece level. This file is the swarm's
// face (nodes, knobs, joining, seeding, leaving, inspection); its parts live in
// sim/swarm/, one concept each:
//
// - sessions.ts  sessions (a node in a torrent), torrents, nodes: the state
// - options.ts   knobs and defaults
// - core.ts      what the parts share (kernel, trace, network, options, the transfer engine)
// - tables.ts    the hot state of nodes, sessions and transfers as typed-array tables
// - metadata.ts  metadata exchange, and wants made before the metadata
// - wants.ts     waits for piece ranges, cancel, completion
// - bits.ts      the packed per-session bitsets and bit scans
// - picker.ts    which piece a downloader fetches from an uploader, and run lengths
// - transfers.ts transfers of runs of pieces, slots, refills, verification on arrival
// - flows.ts     the flow-level model's piece choice (swarm model 'flow': chunk flows that
//                stream through peers still downloading them; docs/simulation.md)
// - bandwidth.ts the fair-share bandwidth model of transfers
// - verify.ts    SHA-1 of pieces (memoised per buffer range) and corruption
// - files.ts     files written to the node's FileSystem, pieces found in it
// - announce.ts, peers.ts  announces, peer connections, reachability changes
//
// The model in short (docs/simulation.md has the whole of it):
// - A session connects to a few random other sessions of the same torrent (as a tracker
//   would hand out), learns the info dictionary from a connected peer that has it, and
//   exchanges pieces only with connected peers that hold them.
// - Transfers carry runs: one transfer moves up to `piecesPerTransfer` consecutive pieces
//   (within one block of that many) the uploader holds and the downloader wants, lacks and
//   is not already fetching (as a pipelined BitTorrent connection would request them back
//   to back). It costs two kernel events (request arrival, completion) whatever its
//   length, which is what makes a swarm of thousands affordable. Pieces still count one by
//   one: bitfields, SHA-1 checks, corruption and waiters are per piece, and a transfer cut
//   short keeps the pieces whose bytes had fully arrived by then (bytes done = integral of
//   the rate). A run's pieces are shared once it completes, so runs over blocks that other
//   sessions want and few hold are kept short (see runLimit): early spread, which decides
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

import type { TorrentMetadata } from '../ports/torrent.ts';
import type { Kernel } from './kernel.ts';
import type { SimNetwork } from './network.ts';
import { Prng } from './prng.ts';
import { armAnnounce } from './swarm/announce.ts';
import { has, releaseRow } from './swarm/bits.ts';
import { SwarmCore } from './swarm/core.ts';
import { type ChunkedFileSystem, scanFiles } from './swarm/files.ts';
import { gotMeta, metadata, metadataOf, setMeta, tryMeta, wantWhenKnown } from './swarm/metadata.ts';
import {
  bandwidth,
  DEFAULT_DOWNLOAD_BPS,
  DEFAULT_UPLOAD_BPS,
  type SwarmOptions,
  swarmOptions,
} from './swarm/options.ts';
import { announce, connect, connectivityChanged } from './swarm/peers.ts';
import { removePeer, Session, SwarmNode, Torrent, TorrentRemoved } from './swarm/sessions.ts';
import { PieceEngine } from './swarm/transfers.ts';
import { want } from './swarm/wants.ts';
import { type ParsedTorrent, parseTorrentFile } from './torrent-file.ts';
import type { Trace } from './trace.ts';

export type { ChunkedFileSystem } from './swarm/files.ts';
export {
  DEFAULT_DOWNLOAD_BPS,
  DEFAULT_SWARM,
  DEFAULT_UPLOAD_BPS,
  type SwarmModel,
  type SwarmOptions,
} from './swarm/options.ts';
export { Session, TorrentRemoved } from './swarm/sessions.ts';

export class Swarm {
  readonly #core: SwarmCore;
  readonly opts: SwarmOptions;

  constructor(kernel: Kernel, trace: Trace, net: SimNetwork, seed: number, opts: Partial<SwarmOptions> = {}) {
    this.opts = swarmOptions(opts);
    const core = new SwarmCore(kernel, trace, net, seed, this.opts);
    core.engine = new PieceEngine(core);
    core.announce = (s) => announce(core, s);
    this.#core = core;
    net.onChange((id) => connectivityChanged(core, id));
  }

  /** Set by the world: called whenever a promise of this swarm settles. */
  set onSettle(fn: () => void) {
    this.#core.onSettle = fn;
  }

  get onSettle(): () => void {
    return this.#core.onSettle;
  }

  // ---------------- nodes and knobs ----------------

  addNode(
    id: string,
    fs: ChunkedFileSystem,
    upBps = DEFAULT_UPLOAD_BPS,
    downBps = DEFAULT_DOWNLOAD_BPS,
  ): void {
    const core = this.#core;
    if (core.nodes.has(id)) throw new Error(`swarm: node ${id} already exists`);
    const n = new SwarmNode(
      core.nt,
      id,
      bandwidth(upBps),
      bandwidth(downBps),
      fs,
      Prng.stream(core.seed, `swarm:${id}`),
      core.net.latencyFrom(id),
    );
    n.reachable = core.net.isOnline(id);
    n.group = core.net.groupOf(id);
    core.nodes.set(id, n);
    core.nodeList.push(n);
    core.nodeIds.push(id);
    core.latencyOf.push(n.latencyTo);
    core.nodeSessions.reserve(core.nodeList.length);
    core.tt.reserve(core.nodeList.length * this.opts.uploadSlots);
  }

  #node(id: string): SwarmNode {
    const n = this.#core.nodes.get(id);
    if (!n) throw new Error(`swarm: unknown node ${id}`);
    return n;
  }

  /** The next `count` pieces this node uploads arrive corrupted (fails SHA-1 at the receiver). */
  corruptNextPiece(nodeId: string, count = 1): void {
    this.#node(nodeId).corruptNext += count;
    this.#core.trace.record('swarm.fault.corrupt', { node: nodeId, count });
  }

  /** Change a node's bandwidth (bytes/s; 0 = does not upload / download); running transfers adapt at once. */
  setBandwidth(nodeId: string, upBps: number, downBps: number): void {
    const n = this.#node(nodeId);
    n.upBps = bandwidth(upBps);
    n.downBps = bandwidth(downBps);
    this.#core.trace.record('swarm.bandwidth', { node: nodeId, up: n.upBps, down: n.downBps });
    this.#core.engine.bandwidthChanged(n);
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
    for (let p = 0; p < n; p++) out[p] = has(s, p) ? 1 : 0;
    return out;
  }

  /** Number of transfers running across the world. */
  activeTransfers(): number {
    return this.#core.engine.active();
  }

  static metadataOf(torrent: Torrent): TorrentMetadata {
    return metadataOf(torrent);
  }

  // ---------------- joining and leaving ----------------

  #torrent(infoHash: string): Torrent {
    const torrents = this.#core.torrents;
    let t = torrents.get(infoHash);
    if (!t) {
      t = new Torrent(infoHash);
      torrents.set(infoHash, t);
    }
    return t;
  }

  /** Join a torrent by info-hash (magnet); returns the existing session when already in. */
  join(nodeId: string, infoHash: string, parentDir: string): Session {
    const core = this.#core;
    const node = this.#node(nodeId);
    const existing = node.sessions.find((s) => s.torrent.infoHash === infoHash);
    if (existing) return existing;
    const torrent = this.#torrent(infoHash);
    const s = new Session(core.st, node, torrent, parentDir, node.rng.nextUint32(), this.opts.announceMs);
    core.sessionById.push(s);
    core.torrentOf.push(torrent);
    core.peerLists.reserve(core.sessionById.length);
    core.gainLog.reserve(core.sessionById.length);
    node.sessions.push(s);
    core.nodeSessions.push(node.ix, s.sid);
    core.trace.record('swarm.join', { node: nodeId, ih: torrent.short });
    connect(core, s, this.opts.peersPerTorrent, true);
    torrent.sessions.push(s);
    tryMeta(core, s);
    armAnnounce(core, s);
    return s;
  }

  /**
   * Seed a torrent from files at `<parentDir>/<name>/`. Pieces whose bytes match the
   * torrent's hashes are held; the others are not served. Returns the info-hash.
   */
  seed(nodeId: string, torrentFile: Uint8Array, parentDir: string): string {
    const core = this.#core;
    const parsed: ParsedTorrent = parseTorrentFile(torrentFile);
    const node = this.#node(nodeId);
    const torrent = this.#torrent(parsed.infoHash);
    if (!torrent.meta) setMeta(core, torrent, parsed);
    const s = this.join(nodeId, parsed.infoHash, parentDir);
    if (!s.hasMeta) {
      if (s.metaEv) {
        core.kernel.cancel(s.metaEv);
        s.metaEv = undefined;
      }
      gotMeta(core, s);
    } else {
      scanFiles(core, s);
      // pieces found outside transfers: what the picker remembers of this torrent is stale
      torrent.needEpoch = (torrent.needEpoch + 1) | 0;
    }
    core.trace.record('swarm.seed', { node: node.id, ih: torrent.short, have: s.haveCount });
    core.engine.fillUp(node);
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
    const core = this.#core;
    const node = s.node;
    s.active = false;
    core.trace.record('swarm.leave', { node: node.id, ih: s.torrent.short });
    if (s.metaEv) core.kernel.cancel(s.metaEv);
    if (s.announceEv) core.kernel.cancel(s.announceEv);
    s.metaEv = undefined;
    s.announceEv = undefined;
    const affected = new Set<SwarmNode>();
    core.engine.abortSession(s, affected);
    for (const p of s.peers) {
      removePeer(core.peerLists, p, s);
      armAnnounce(core, p);
    }
    s.peers.length = 0;
    core.peerLists.clear(s.sid);
    core.gainLog.clear(s.sid);
    if (s.base >= 0) {
      releaseRow(s, this.opts.piecesPerTransfer);
      s.hasMeta = false;
    }
    const ts = s.torrent.sessions;
    const i = ts.indexOf(s);
    if (i >= 0) ts.splice(i, 1);
    // Nobody left in the torrent: forget it (its bitsets grow with every session it had);
    // a later join starts afresh and learns the metadata from whoever seeds it again.
    if (ts.length === 0 && core.torrents.get(s.torrent.infoHash) === s.torrent) {
      core.torrents.delete(s.torrent.infoHash);
    }
    const j = node.sessions.indexOf(s);
    if (j >= 0) node.sessions.splice(j, 1);
    core.nodeSessions.remove(node.ix, s.sid);
    // a long run makes a session per member per round: let the left ones and their torrents go
    core.sessionById[s.sid] = undefined;
    core.torrentOf[s.sid] = undefined;
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
      core.onSettle();
    }
    for (const n of affected) core.engine.refill(n);
  }

  // ---------------- waiting ----------------

  metadata(s: Session, signal?: AbortSignal): Promise<TorrentMetadata> {
    return metadata(this.#core, s, signal);
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
    return wantWhenKnown(this.#core, s, range, signal);
  }

  /** Fetch pieces [first, end); resolves once all are held and written to the files. */
  want(s: Session, first: number, end: number, signal?: AbortSignal): Promise<void> {
    return want(this.#core, s, first, end, signal);
  }
}
