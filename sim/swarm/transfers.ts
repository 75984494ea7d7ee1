// Transfers at piece level: one transfer moves a run of consecutive pieces the uploader
// holds and the downloader wants, lacks and is not already fetching (the picker,
// sim/swarm/picker.ts, chooses it). It costs two kernel events (request arrival,
// completion) whatever its length; its pieces still count one by one (bitfields, SHA-1,
// waiters, corruption). A run cut short keeps the pieces whose bytes had fully arrived.
// Slots: uploadSlots / downloadSlots concurrent transfers per node, at most `pipeline`
// between one pair. When a transfer ends the uploader refills its slot first (round
// robin over its peers), then the downloader looks for an uploader, then newly verified
// pieces are offered to the peers that need one of them.
//
// Transfers, and the hot fields of nodes and sessions, are rows of the tables of
// sim/swarm/tables.ts, by number: the loops below look at many peers per event and read
// only typed arrays.

import { accountTo, reshare, reshareNode, retime } from './bandwidth.ts';
import { gainPiece, hasPiece, markNeed } from './bits.ts';
import type { SwarmCore, TransferEngine } from './core.ts';
import { type FlowRun, flowRun, pickFlow } from './flows.ts';
import { firstNeeded, pairBusy, pick, runEnd, runLimit, runStart } from './picker.ts';
import type { Session, SwarmNode } from './sessions.ts';
import {
  MEMO_DOWN,
  MEMO_UP,
  PEER_MEMO,
  T_ARRIVED,
  T_DOWN_NODE,
  T_DOWN_SHARE,
  T_END,
  T_FIRST,
  T_FROM,
  T_LAST,
  T_RATE,
  T_REMAINING,
  T_SENDING,
  T_SIZE,
  T_TO,
  T_UP_NODE,
  T_UP_SHARE,
  TSTRIDE,
} from './tables.ts';
import { pieceVerifies } from './verify.ts';
import { gained } from './wants.ts';

/** Peers a busy node looks at per fill (see fillDown). */
const PROBES = 4;

export class PieceEngine implements TransferEngine {
  readonly #core: SwarmCore;
  /** The flow-level swarm (sim/swarm/flows.ts): chunk flows that stream through peers. */
  readonly #flow: boolean;
  readonly #run: FlowRun = { first: 0, end: 0, src: -1 };

  constructor(core: SwarmCore) {
    this.#core = core;
    this.#flow = core.opts.model === 'flow';
    core.tt.coupled = this.#flow;
    core.tt.onRequest = (t) => this.#requestArrived(t);
    core.tt.onDone = (t) => this.#transferDone(t);
  }

  /** Start a transfer of a run through piece p from session `from` to session `to` (false: nothing to carry). */
  #start(from: number, to: number, p: number): boolean {
    const core = this.#core;
    const { nt, st, tt } = core;
    const torrent = core.torrentOf[to]!;
    const un = st.node[from]!;
    const dn = st.node[to]!;
    const m = torrent.meta!;
    let end: number;
    let src = -1;
    if (this.#flow) {
      flowRun(core, torrent, from, un, to, p, this.#run);
      p = this.#run.first;
      end = this.#run.end;
      src = this.#run.src;
      if (end <= p) return false;
    } else {
      if (runLimit(core, torrent, to, p) > 1) p = runStart(core, torrent, from, to, p);
      end = runEnd(core, torrent, from, to, p);
    }
    const size = Math.min(end * m.pieceLength, m.totalLength) - p * m.pieceLength;
    const now = core.kernel.now();
    const lat = core.latencyOf[dn]!(core.nodeIds[un]!);
    const t = tt.alloc();
    const { ti, tf } = tt;
    const o = t * TSTRIDE;
    ti[o + T_SENDING] = 0;
    ti[o + T_UP_NODE] = un;
    ti[o + T_DOWN_NODE] = dn;
    ti[o + T_FROM] = from;
    ti[o + T_TO] = to;
    ti[o + T_FIRST] = p;
    ti[o + T_END] = end;
    ti[o + T_ARRIVED] = p;
    tf[o + T_SIZE] = size;
    tf[o + T_REMAINING] = size;
    tf[o + T_UP_SHARE] = 0;
    tf[o + T_DOWN_SHARE] = 0;
    tf[o + T_RATE] = 0;
    tf[o + T_LAST] = 0;
    tt.corrupt[t] = 0;
    if (this.#flow) {
      tt.src[t] = src;
      tt.depHead[t] = -1;
      tt.depNext[t] = -1;
      tt.srcEnd[t] = 0;
      tt.tail[t] = Math.min(m.pieceLength * core.opts.flowTail, size);
      if (src >= 0) {
        tt.depNext[t] = tt.depHead[src]!;
        tt.depHead[src] = t;
      }
    }
    const bad = nt.corruptNext[un]!;
    if (bad > 0) {
      const c = Math.min(bad, end - p);
      nt.corruptNext[un] = bad - c;
      tt.corrupt[t] = c;
    }
    st.inflight[to]! += end - p;
    const need = torrent.needAll;
    const base = st.base[to]!;
    for (let q = p; q < end; q++) need[base + (q >>> 5)]! &= ~(1 << (q & 31));
    const ui = un * nt.upSlots + nt.upN[un]!;
    tt.upIdx[t] = ui;
    nt.upList[ui] = t;
    nt.upN[un]!++;
    const di = dn * nt.downSlots + nt.downN[dn]!;
    tt.downIdx[t] = di;
    nt.downList[di] = t;
    nt.downFrom[di] = from;
    nt.downN[dn]!++;
    const ev = tt.ev[t];
    if (ev === undefined) tt.ev[t] = core.kernel.schedule(now + lat, 'swarm.request', tt.onRequest, t);
    else core.kernel.reschedule(ev, now + lat, tt.onRequest);
    return true;
  }

  /** The request reached the uploader: the pieces start flowing. */
  #requestArrived(t: number): void {
    const { kernel, nt, tt } = this.#core;
    const { ti, tf } = tt;
    const o = t * TSTRIDE;
    const up = ti[o + T_UP_NODE]!;
    const down = ti[o + T_DOWN_NODE]!;
    const now = kernel.now();
    ti[o + T_SENDING] = 1;
    tf[o + T_LAST] = now;
    nt.sendingUp[up]!++;
    nt.sendingDown[down]!++;
    reshare(kernel, nt, tt, up, down, now);
  }

  /**
   * Take a transfer out of its slots. `restore`: the pieces it did not deliver are wanted
   * again at once (else the caller does it once what arrived is taken in, see
   * #restoreNeed).
   */
  #unlink(t: number, restore: boolean): void {
    const core = this.#core;
    const { nt, st, tt } = core;
    const ti = tt.ti;
    const o = t * TSTRIDE;
    const up = ti[o + T_UP_NODE]!;
    const down = ti[o + T_DOWN_NODE]!;
    // swap-remove from both slot lists
    const ul = nt.upList;
    const uLast = up * nt.upSlots + --nt.upN[up]!;
    const ui = tt.upIdx[t]!;
    if (ui !== uLast) {
      const moved = ul[uLast]!;
      ul[ui] = moved;
      tt.upIdx[moved] = ui;
    }
    const dl = nt.downList;
    const dLast = down * nt.downSlots + --nt.downN[down]!;
    const di = tt.downIdx[t]!;
    if (di !== dLast) {
      const moved = dl[dLast]!;
      dl[di] = moved;
      nt.downFrom[di] = nt.downFrom[dLast]!;
      tt.downIdx[moved] = di;
    }
    const to = ti[o + T_TO]!;
    const arrived = ti[o + T_ARRIVED]!;
    const end = ti[o + T_END]!;
    st.inflight[to]! -= end - arrived;
    if (restore) this.#restoreNeed(to, arrived, end);
    if (ti[o + T_SENDING] === 1) {
      ti[o + T_SENDING] = 0;
      nt.sendingUp[up]!--;
      nt.sendingDown[down]!--;
      reshare(core.kernel, nt, tt, up, down, core.kernel.now());
    }
  }

  /** Pieces of [first, end) session `to` still misses and does not fetch are needed again. */
  #restoreNeed(to: number, first: number, end: number): void {
    const core = this.#core;
    const base = core.st.base[to]!;
    if (base < 0) return;
    const s = core.sessionById[to]!;
    const torrent = s.torrent;
    const miss = torrent.missAll;
    const need = torrent.needAll;
    for (let q = first; q < end; q++) {
      const i = base + (q >>> 5);
      const bit = 1 << (q & 31);
      if (miss[i]! & bit) {
        need[i]! |= bit;
        markNeed(torrent, s, q >>> 5);
      }
    }
  }

  #transferDone(t: number): void {
    const core = this.#core;
    const { nt, st, tt } = core;
    const { ti, tf } = tt;
    const o = t * TSTRIDE;
    const from = ti[o + T_FROM]!;
    const to = ti[o + T_TO]!;
    const un = ti[o + T_UP_NODE]!;
    const dn = ti[o + T_DOWN_NODE]!;
    const first = ti[o + T_FIRST]!;
    const arrived = ti[o + T_ARRIVED]!;
    const end = ti[o + T_END]!;
    const size = tf[o + T_SIZE]!;
    const corrupt = tt.corrupt[t]!;
    if (this.#flow) this.#releaseStreams(t, true);
    this.#unlink(t, false);
    tt.release(t);
    nt.bytesUp[un]! += size;
    nt.bytesDown[dn]! += size;
    const n = this.#receive(from, to, first, corrupt, arrived, end);
    // what did not arrive intact is needed again
    if (n < end - arrived) this.#restoreNeed(to, arrived, end);
    // The uploader picks its next downloader first (round robin), so a downloader does
    // not grab back the slot it just freed.
    this.#fillUp(un);
    this.#fillDown(dn);
    if (n > 0 && st.active[to] === 1) this.#offer(to, first, end);
  }

  /**
   * Pieces [lo, upTo) of a transfer (from session `from` to session `to`) of the run
   * starting at `first` arrived whole: verify each, keep the good ones (the corrupted
   * ones stay missing and are fetched again), then tell listeners and waiters once.
   * Returns how many pieces were gained.
   */
  #receive(from: number, to: number, first: number, corrupt: number, lo: number, upTo: number): number {
    const core = this.#core;
    const st = core.st;
    const torrent = core.torrentOf[to]!;
    const base = st.base[to]!;
    const keep = st.active[to] === 1 && base >= 0;
    let n = 0;
    const fromBase = st.base[from]!;
    const flow = this.#flow;
    for (let q = lo; q < upTo; q++) {
      // a stream carries only what its uploader got, intact, in time
      if (flow && (fromBase < 0 || !hasPiece(torrent, fromBase, q))) continue;
      const bad = q - first < corrupt;
      const ok = pieceVerifies(torrent, q, bad ? core.nodeList[st.node[from]!]!.rng : undefined);
      if (!ok) {
        const f = core.nodeList[st.node[from]!]!;
        const d = core.nodeList[st.node[to]!]!;
        d.badPieces++;
        core.trace.record('swarm.badpiece', { from: f.id, to: d.id, ih: torrent.short, p: q });
      } else if (keep && !hasPiece(torrent, base, q)) {
        gainPiece(core, torrent, to, q);
        core.gainLog.push(to, q);
        n++;
      }
    }
    if (n > 0) {
      if (core.opts.tracePieces) {
        core.trace.record('swarm.piece', {
          from: core.nodeList[st.node[from]!]!.id,
          to: core.nodeList[st.node[to]!]!.id,
          ih: torrent.short,
          p: lo,
          end: upTo,
          gained: n,
        });
      }
      gained(core, to, n);
    }
    return n;
  }

  #abort(t: number, affected: Set<SwarmNode>): void {
    const core = this.#core;
    const { nt, tt } = core;
    const { ti, tf } = tt;
    const o = t * TSTRIDE;
    accountTo(tt, t, core.kernel.now());
    const size = tf[o + T_SIZE]!;
    const done =
      ti[o + T_SENDING] === 1 ? Math.max(0, Math.min(size, Math.floor(size - tf[o + T_REMAINING]!))) : 0;
    const from = ti[o + T_FROM]!;
    const to = ti[o + T_TO]!;
    const upNode = core.nodeList[ti[o + T_UP_NODE]!]!;
    const downNode = core.nodeList[ti[o + T_DOWN_NODE]!]!;
    const first = ti[o + T_FIRST]!;
    const end = ti[o + T_END]!;
    const arrived = ti[o + T_ARRIVED]!;
    const corrupt = tt.corrupt[t]!;
    nt.bytesUp[upNode.ix]! += done;
    nt.bytesDown[downNode.ix]! += done;
    core.kernel.cancel(tt.ev[t]!);
    const streams = this.#flow ? this.#releaseStreams(t, false) : undefined;
    this.#unlink(t, true);
    tt.release(t);
    // Every piece of a run but the torrent's last is pieceLength long, and the last one
    // can only end a run: whole pieces done = done / pieceLength, or all when done = size.
    const torrent = core.torrentOf[to]!;
    const P = torrent.meta!.pieceLength;
    const kept = done >= size ? end : Math.min(end, first + Math.floor(done / P));
    if (core.opts.tracePieces) {
      core.trace.record('swarm.abort', {
        from: upNode.id,
        to: downNode.id,
        ih: torrent.short,
        p: first,
        end,
        kept: Math.max(kept, arrived) - first,
      });
    }
    if (kept > arrived) this.#receive(from, to, first, corrupt, arrived, kept);
    affected.add(upNode);
    affected.add(downNode);
    // the streams behind it lose what it will not deliver: they end with what arrived
    if (streams) for (const d of streams) this.#abort(d, affected);
  }

  /**
   * Flow-level swarm: transfer t ends (done) or is cut short. It leaves its source's list
   * of streams; the streams behind it no longer follow it: when it is done they end one
   * piece time after now at the latest, when it is cut short they are returned (to be cut
   * short too).
   */
  #releaseStreams(t: number, done: boolean): number[] | undefined {
    const { kernel, tt } = this.#core;
    const src = tt.src[t]!;
    if (src >= 0) {
      let prev = -1;
      for (let d = tt.depHead[src]!; d >= 0; prev = d, d = tt.depNext[d]!) {
        if (d !== t) continue;
        if (prev < 0) tt.depHead[src] = tt.depNext[d]!;
        else tt.depNext[prev] = tt.depNext[d]!;
        break;
      }
      tt.src[t] = -1;
    }
    const streams: number[] = [];
    for (let d = tt.depHead[t]!; d >= 0; d = tt.depNext[d]!) streams.push(d);
    tt.depHead[t] = -1;
    for (const d of streams) {
      tt.src[d] = -1;
      tt.depNext[d] = -1;
      if (done) tt.srcEnd[d] = kernel.now();
    }
    if (!done) return streams;
    for (const d of streams) retime(kernel, tt, d);
    return undefined;
  }

  /** Session sid just got pieces of [first, end): peers that want one and have room start fetching. */
  #offer(sid: number, first: number, end: number): void {
    const core = this.#core;
    const { nt, st, opts, peerLists } = core;
    const n = st.node[sid]!;
    const upSlots = opts.uploadSlots;
    const downSlots = opts.downloadSlots;
    if (nt.reach[n] === 0 || !(nt.upBps[n]! > 0)) return;
    const torrent = core.torrentOf[sid]!;
    const group = nt.group[n]!;
    const at = peerLists.off[sid]!;
    const len = peerLists.len[sid]!;
    for (let k = 0; k < len && nt.upN[n]! < upSlots; k++) {
      const d = peerLists.slab[at + k]!;
      const db = st.base[d]!;
      if (db < 0) continue;
      const dn = st.node[d]!;
      if (
        nt.downN[dn]! >= downSlots ||
        nt.reach[dn] === 0 ||
        nt.group[dn] !== group ||
        !(nt.downBps[dn]! > 0)
      )
        continue;
      const p = firstNeeded(torrent, st.base[sid]!, db, first, end);
      if (p < 0 || pairBusy(core, sid, dn)) continue;
      this.#start(sid, d, p);
    }
  }

  /** Start downloads for a node while it has free download slots. */
  fillDown(node: SwarmNode): void {
    this.#fillDown(node.ix);
  }

  /** Start uploads for a node while it has free upload slots. */
  fillUp(node: SwarmNode): void {
    this.#fillUp(node.ix);
  }

  #fillDown(n: number): void {
    const core = this.#core;
    const { nt, st, opts, peerLists, nodeSessions } = core;
    if (nt.reach[n] === 0 || !(nt.downBps[n]! > 0)) return;
    const slots = opts.downloadSlots;
    const upSlots = opts.uploadSlots;
    const group = nt.group[n]!;
    const sAt = nodeSessions.off[n]!;
    const sLen = nodeSessions.len[n]!;
    for (let si = 0; si < sLen && nt.downN[n]! < slots; si++) {
      const sid = nodeSessions.slab[sAt + si]!;
      if (st.hasMeta[sid] === 0) continue;
      const torrent = core.torrentOf[sid]!;
      while (nt.downN[n]! < slots && st.missing[sid]! > st.inflight[sid]!) {
        const at = peerLists.off[sid]!;
        const len = peerLists.len[sid]!;
        // With downloads running, a few peers per call is enough: the next completion tries
        // the next few. An idle downloader looks at every peer so it cannot stall.
        const probes = nt.downN[n] === 0 || len < PROBES ? len : PROBES;
        let started = false;
        let idx = st.rrDown[sid]! % len;
        for (let k = 0; k < probes; k++, idx = idx + 1 === len ? 0 : idx + 1) {
          const u = peerLists.slab[at + idx]!;
          const un = st.node[u]!;
          if (nt.upN[un]! >= upSlots || nt.reach[un] === 0 || nt.group[un] !== group || !(nt.upBps[un]! > 0))
            continue;
          const p = this.#flow
            ? pickFlow(core, torrent, u, sid)
            : pick(core, torrent, u, sid, (at + idx) * PEER_MEMO + MEMO_DOWN);
          if (p < 0 || pairBusy(core, u, n)) continue;
          if (!this.#start(u, sid, p)) continue;
          st.rrDown[sid] = idx + 1;
          started = true;
          break;
        }
        if (!started) {
          st.rrDown[sid]! += probes;
          break;
        }
      }
    }
  }

  #fillUp(n: number): void {
    const core = this.#core;
    const { nt, st, opts, peerLists, nodeSessions } = core;
    if (nt.reach[n] === 0 || !(nt.upBps[n]! > 0)) return;
    const slots = opts.uploadSlots;
    const downSlots = opts.downloadSlots;
    const group = nt.group[n]!;
    const sAt = nodeSessions.off[n]!;
    const sLen = nodeSessions.len[n]!;
    for (let si = 0; si < sLen && nt.upN[n]! < slots; si++) {
      const sid = nodeSessions.slab[sAt + si]!;
      if (st.have[sid] === 0) continue;
      const torrent = core.torrentOf[sid]!;
      while (nt.upN[n]! < slots) {
        const at = peerLists.off[sid]!;
        const len = peerLists.len[sid]!;
        const probes = nt.upN[n] === 0 || len < PROBES ? len : PROBES;
        let started = false;
        let idx = st.rrUp[sid]! % len;
        for (let k = 0; k < probes; k++, idx = idx + 1 === len ? 0 : idx + 1) {
          const d = peerLists.slab[at + idx]!;
          const p = this.#flow
            ? pickFlow(core, torrent, sid, d)
            : pick(core, torrent, sid, d, (at + idx) * PEER_MEMO + MEMO_UP);
          if (p < 0) continue;
          const dn = st.node[d]!;
          if (
            nt.downN[dn]! >= downSlots ||
            nt.reach[dn] === 0 ||
            nt.group[dn] !== group ||
            !(nt.downBps[dn]! > 0)
          )
            continue;
          if (pairBusy(core, sid, dn)) continue;
          if (!this.#start(sid, d, p)) continue;
          st.rrUp[sid] = idx + 1;
          started = true;
          break;
        }
        if (!started) {
          st.rrUp[sid]! += probes;
          break;
        }
      }
    }
  }

  refill(node: SwarmNode): void {
    this.#fillDown(node.ix);
    this.#fillUp(node.ix);
  }

  /** The node's upload (or download) slots as a list of transfer numbers, copied. */
  #slots(node: SwarmNode, up: boolean): number[] {
    const nt = this.#core.nt;
    const n = node.ix;
    if (up) return Array.from(nt.upList.subarray(n * nt.upSlots, n * nt.upSlots + nt.upN[n]!));
    return Array.from(nt.downList.subarray(n * nt.downSlots, n * nt.downSlots + nt.downN[n]!));
  }

  abortSession(s: Session, affected: Set<SwarmNode>): void {
    const ti = this.#core.tt.ti;
    for (const t of this.#slots(s.node, true))
      if (ti[t * TSTRIDE + T_FROM] === s.sid) this.#abort(t, affected);
    for (const t of this.#slots(s.node, false))
      if (ti[t * TSTRIDE + T_TO] === s.sid) this.#abort(t, affected);
  }

  abortUnwanted(s: Session, affected: Set<SwarmNode>): void {
    const ti = this.#core.tt.ti;
    for (const t of this.#slots(s.node, false)) {
      const o = t * TSTRIDE;
      if (ti[o + T_TO] !== s.sid) continue;
      let unwanted = false;
      for (let q = ti[o + T_FIRST]!; q < ti[o + T_END]! && !unwanted; q++) unwanted = s.wanted[q] === 0;
      if (unwanted) this.#abort(t, affected);
    }
  }

  abortCut(nodes: SwarmNode[], affected: Set<SwarmNode>): void {
    const { nt, tt } = this.#core;
    const cut = (t: number): boolean => {
      const a = tt.ti[t * TSTRIDE + T_UP_NODE]!;
      const b = tt.ti[t * TSTRIDE + T_DOWN_NODE]!;
      return !(nt.reach[a] === 1 && nt.reach[b] === 1 && nt.group[a] === nt.group[b]);
    };
    for (const n of nodes) {
      for (const t of this.#slots(n, true)) if (cut(t)) this.#abort(t, affected);
      for (const t of this.#slots(n, false)) if (cut(t)) this.#abort(t, affected);
    }
  }

  bandwidthChanged(n: SwarmNode): void {
    const core = this.#core;
    const affected = new Set<SwarmNode>([n]);
    if (n.upBps === 0) for (const t of this.#slots(n, true)) this.#abort(t, affected);
    if (n.downBps === 0) for (const t of this.#slots(n, false)) this.#abort(t, affected);
    reshareNode(core.kernel, core.nt, core.tt, n.ix, core.kernel.now());
    for (const x of affected) this.refill(x);
  }

  active(): number {
    let n = 0;
    const nt = this.#core.nt;
    for (let i = 0; i < nt.count; i++) n += nt.upN[i]!;
    return n;
  }
}
