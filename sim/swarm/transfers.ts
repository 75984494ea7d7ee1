// Transfers at piece level: one transfer moves a run of consecutive pieces the uploader
// holds and the downloader wants, lacks and is not already fetching (the picker,
// sim/swarm/picker.ts, chooses it). It costs two kernel events (request arrival,
// completion) whatever its length; its pieces still count one by one (bitfields, SHA-1,
// waiters, corruption). A run cut short keeps the pieces whose bytes had fully arrived.
// Slots: uploadSlots / downloadSlots concurrent transfers per node, at most `pipeline`
// between one pair. When a transfer ends the uploader refills its slot first (round
// robin over its peers), then the downloader looks for an uploader, then newly verified
// pieces are offered to the peers that need one of them.

import type { SimEvent } from '../kernel.ts';
import { accountTo, reshare, reshareNode } from './bandwidth.ts';
import { gainBits, has } from './bits.ts';
import type { SwarmCore, TransferEngine } from './core.ts';
import { firstNeeded, pairBusy, pick, runEnd, runLimit, runStart } from './picker.ts';
import { linked, type Session, type SwarmNode } from './sessions.ts';
import { pieceVerifies } from './verify.ts';
import { countDown, gained } from './wants.ts';

/** Peers a busy node looks at per fill (see fillDown). */
const PROBES = 4;

export class Transfer {
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
  readonly engine: PieceEngine;
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
  constructor(engine: PieceEngine, from: Session, to: Session, first: number, end: number, size: number) {
    this.engine = engine;
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

function onRequestArrive(t: Transfer): void {
  t.engine.requestArrived(t);
}

export class PieceEngine implements TransferEngine {
  readonly #core: SwarmCore;

  constructor(core: SwarmCore) {
    this.#core = core;
  }

  #start(from: Session, to: Session, p: number): void {
    const core = this.#core;
    const opts = core.opts;
    const up = from.node;
    const down = to.node;
    const m = from.torrent.meta!;
    if (runLimit(opts, to, p) > 1) p = runStart(opts, from, to, p);
    const end = runEnd(opts, from, to, p);
    const size = Math.min(end * m.pieceLength, m.totalLength) - p * m.pieceLength;
    const now = core.kernel.now();
    const lat = core.net.sampleLatency(down.id, up.id);
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
    t.ev = core.kernel.schedule(now + lat, 'swarm.request', onRequestArrive, t);
  }

  /** @internal The request reached the uploader: the piece starts flowing. */
  requestArrived(t: Transfer): void {
    const up = t.upNode;
    const down = t.downNode;
    const now = this.#core.kernel.now();
    t.sending = true;
    t.last = now;
    up.sendingUp++;
    down.sendingDown++;
    reshare(this.#core.kernel, up, down, now);
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
      // pieces of the run still missing are wanted again (kept ones were cleared by gainBits)
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
      reshare(this.#core.kernel, up, down, this.#core.kernel.now());
    }
  }

  /** @internal */
  transferDone(t: Transfer): void {
    const from = t.from;
    const to = t.to;
    this.#unlink(t);
    from.node.bytesUp += t.size;
    to.node.bytesDown += t.size;
    const n = this.#receive(t, t.arrived, t.end);
    // The uploader picks its next downloader first (round robin), so a downloader does
    // not grab back the slot it just freed.
    this.fillUp(from.node);
    this.fillDown(to.node);
    if (n > 0 && to.active) this.#offer(to, t.first, t.end);
  }

  /**
   * Pieces [from, upTo) of a transfer arrived whole: verify each, keep the good ones
   * (the corrupted ones stay missing and are fetched again), then tell listeners and
   * waiters once. Returns how many pieces were gained.
   */
  #receive(t: Transfer, first: number, upTo: number): number {
    const core = this.#core;
    const K = core.opts.piecesPerTransfer;
    const from = t.from;
    const to = t.to;
    const torrent = to.torrent;
    const keep = to.active && to.base >= 0;
    let n = 0;
    for (let q = first; q < upTo; q++) {
      const ok = pieceVerifies(torrent, q, q - t.first < t.corrupt ? from.node.rng : undefined);
      if (!ok) {
        to.node.badPieces++;
        core.trace.record('swarm.badpiece', { from: from.node.id, to: to.node.id, ih: torrent.short, p: q });
      } else if (keep && !has(to, q)) {
        gainBits(to, K, q);
        n++;
        countDown(to, q);
      }
    }
    if (n > 0) {
      if (core.opts.tracePieces) {
        core.trace.record('swarm.piece', {
          from: from.node.id,
          to: to.node.id,
          ih: torrent.short,
          p: first,
          end: upTo,
          gained: n,
        });
      }
      gained(core, to);
    }
    return n;
  }

  #abort(t: Transfer, affected: Set<SwarmNode>): void {
    const core = this.#core;
    accountTo(t, core.kernel.now());
    const done = t.sending ? Math.max(0, Math.min(t.size, Math.floor(t.size - t.remaining))) : 0;
    t.from.node.bytesUp += done;
    t.to.node.bytesDown += done;
    if (t.ev) core.kernel.cancel(t.ev);
    this.#unlink(t);
    // Every piece of a run but the torrent's last is pieceLength long, and the last one
    // can only end a run: whole pieces done = done / pieceLength, or all when done = size.
    const P = t.to.torrent.meta!.pieceLength;
    const kept = done >= t.size ? t.end : Math.min(t.end, t.first + Math.floor(done / P));
    if (core.opts.tracePieces) {
      core.trace.record('swarm.abort', {
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
    const opts = this.#core.opts;
    const node = s.node;
    const upSlots = opts.uploadSlots;
    const downSlots = opts.downloadSlots;
    if (!node.reachable || !(node.upBps > 0)) return;
    const peers = s.peers;
    for (let k = 0; k < peers.length && node.upN < upSlots; k++) {
      const d = peers[k]!;
      if (d.base < 0) continue;
      const dn = d.node;
      if (dn.downN >= downSlots || !dn.reachable || dn.group !== node.group || !(dn.downBps > 0)) continue;
      const p = firstNeeded(s, d, first, end);
      if (p < 0 || pairBusy(opts, s, d)) continue;
      this.#start(s, d, p);
    }
  }

  /** Start downloads for a node while it has free download slots. */
  fillDown(node: SwarmNode): void {
    if (!node.reachable || !(node.downBps > 0)) return;
    const opts = this.#core.opts;
    const slots = opts.downloadSlots;
    const upSlots = opts.uploadSlots;
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
          const p = pick(u, s);
          if (p < 0 || pairBusy(opts, u, s)) continue;
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
  fillUp(node: SwarmNode): void {
    if (!node.reachable || !(node.upBps > 0)) return;
    const opts = this.#core.opts;
    const slots = opts.uploadSlots;
    const downSlots = opts.downloadSlots;
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
          const p = pick(s, d);
          if (p < 0) continue;
          const dn = d.node;
          if (dn.downN >= downSlots || !dn.reachable || dn.group !== node.group || !(dn.downBps > 0))
            continue;
          if (pairBusy(opts, s, d)) continue;
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

  refill(node: SwarmNode): void {
    this.fillDown(node);
    this.fillUp(node);
  }

  abortSession(s: Session, affected: Set<SwarmNode>): void {
    const node = s.node;
    for (const t of node.upList.slice()) if (t.from === s) this.#abort(t, affected);
    for (const t of node.downList.slice()) if (t.to === s) this.#abort(t, affected);
  }

  abortUnwanted(s: Session, affected: Set<SwarmNode>): void {
    for (const t of s.node.downList.slice()) {
      if (t.to !== s) continue;
      let unwanted = false;
      for (let q = t.first; q < t.end && !unwanted; q++) unwanted = s.wanted[q] === 0;
      if (unwanted) this.#abort(t, affected);
    }
  }

  abortCut(nodes: SwarmNode[], affected: Set<SwarmNode>): void {
    for (const n of nodes) {
      for (const t of n.upList.slice()) if (!linked(t.from.node, t.to.node)) this.#abort(t, affected);
      for (const t of n.downList.slice()) if (!linked(t.from.node, t.to.node)) this.#abort(t, affected);
    }
  }

  bandwidthChanged(n: SwarmNode): void {
    const affected = new Set<SwarmNode>([n]);
    if (n.upBps === 0) for (const t of n.upList.slice()) this.#abort(t, affected);
    if (n.downBps === 0) for (const t of n.downList.slice()) this.#abort(t, affected);
    reshareNode(this.#core.kernel, n, this.#core.kernel.now());
    for (const x of affected) this.refill(x);
  }

  active(): number {
    let n = 0;
    for (const node of this.#core.nodeList) n += node.upList.length;
    return n;
  }
}
