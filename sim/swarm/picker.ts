// The piece picker: which piece a downloader fetches from an uploader, and how long a run
// of pieces one transfer carries. It reads the torrent's packed bitsets (sim/swarm/bits.ts)
// and the session table, by session number; it starts nothing (sim/swarm/transfers.ts
// does).

import { bitMask, popcount } from './bits.ts';
import type { SwarmCore } from './core.ts';
import type { Torrent } from './sessions.ts';

/** Most pieces gained since a memo that pick looks at one by one (more: it scans the bitsets). */
const MEMO_CHECKS = 16;

/**
 * A piece session `up` can give session `down`, or -1: the first set bit of
 * have(up) & need(down), from a rotating word and bit so that peers spread over different
 * pieces. The run that starts there ends at its block's end (see runEnd), so a downloader
 * fetches a block in at most two runs and what peers hold stays in long stretches, not
 * fragments. `memo`: where the pair's memo of its last pick that found nothing is
 * (SwarmCore.peerLists.aux; see PEER_MEMO), or -1: a pick the memo says finds nothing
 * again does not look at the bitsets (its outcome is the same).
 */
export function pick(core: SwarmCore, torrent: Torrent, up: number, down: number, memo: number): number {
  const st = core.st;
  if (st.missing[down]! <= st.inflight[down]!) return -1;
  const ub = st.base[up]!;
  const db = st.base[down]!;
  if (ub < 0 || db < 0) return -1;
  const lo = st.wantLo[down]!;
  const words = st.wantHi[down]! - lo;
  const rot = st.rot[down]!;
  st.rot[down] = (rot + 0x9e3779b9) >>> 0;
  if (!(words > 0)) return -1;
  const aux = core.peerLists.aux;
  const held = st.have[up]!;
  const log = core.gainLog;
  if (memo >= 0 && aux[memo + 1] === torrent.needEpoch) {
    // The last pick of this pair found nothing and no need was added since: only pieces
    // `up` gained since can be found now. When it gained them all from transfers (they
    // are in its gain log) and they are few, look at those alone.
    const held0 = aux[memo]!;
    if (held0 === held) return -1;
    // pieces gained other than from transfers (found in files) bump the epoch, so their
    // count is the same now as then: the log was log0 long
    const logEnd = log.len[up]!;
    const log0 = held0 - (held - logEnd);
    if (log0 >= 0 && logEnd - log0 <= MEMO_CHECKS) {
      const need = torrent.needAll;
      const at = log.off[up]!;
      let found = false;
      for (let k = at + log0; k < at + logEnd && !found; k++) {
        const p = log.slab[k]!;
        found = (need[db + (p >>> 5)]! & (1 << (p & 31))) !== 0;
      }
      if (!found) {
        aux[memo] = held;
        return -1;
      }
    }
  }
  const start = rot - words * Math.floor(rot / words);
  const r = (rot >>> 27) & 31;
  const us = st.sumBase[up]!;
  const ds = st.sumBase[down]!;
  // words [lo + start, lo + words), then [lo, lo + start): the first with a piece
  let w = firstCommonWord(torrent, ub, db, us, ds, lo + start, lo + words);
  if (w < 0 && start > 0) w = firstCommonWord(torrent, ub, db, us, ds, lo, lo + start);
  if (w < 0) {
    if (memo >= 0) {
      aux[memo] = held;
      aux[memo + 1] = torrent.needEpoch;
    }
    return -1;
  }
  const x = torrent.haveAll[ub + w]! & torrent.needAll[db + w]!;
  let y = (x >>> r) << r;
  if (y === 0) y = x;
  return (w << 5) + 31 - Math.clz32(y & -y);
}

/**
 * The first word of [from, to) where the row at ub holds a piece the row at db needs, or
 * -1. Only words both summaries mark are read; a need mark found stale is cleared.
 */
function firstCommonWord(
  torrent: Torrent,
  ub: number,
  db: number,
  us: number,
  ds: number,
  from: number,
  to: number,
): number {
  const uh = torrent.haveAll;
  const dn = torrent.needAll;
  const hs = torrent.haveSum;
  const ns = torrent.needSum;
  const last = (to - 1) >>> 5;
  for (let sw = from >>> 5; sw <= last; sw++) {
    const lo = sw === from >>> 5 ? from & 31 : 0;
    const hi = sw === last ? ((to - 1) & 31) + 1 : 32;
    let m = hs[us + sw]! & ns[ds + sw]! & bitMask(lo, hi);
    while (m !== 0) {
      const bit = 31 - Math.clz32(m & -m);
      const w = (sw << 5) + bit;
      const need = dn[db + w]!;
      if ((uh[ub + w]! & need) !== 0) return w;
      if (need === 0) ns[ds + sw]! &= ~(1 << bit);
      m &= m - 1;
    }
  }
  return -1;
}

/**
 * Longest run starting at piece p for session `down`. A run's pieces are shareable only
 * once it completes, so in a contested swarm runs must not hold pieces back: while other
 * sessions want a block that few hold, its pieces travel alone, as in the per-piece
 * model, so that they spread as early as they would there (early spread decides a
 * swarm's finish time); runs grow by one piece per rareCopies copies per piece the block
 * has, up to piecesPerTransfer. Rare blocks are few transfers next to the thousands of
 * copies of a common one. When nobody else wants the block, a run is as fast as the
 * pieces one by one and is as long as allowed.
 */
export function runLimit(core: SwarmCore, t: Torrent, down: number, p: number): number {
  const opts = core.opts;
  const K = opts.piecesPerTransfer;
  const rare = opts.rareCopies;
  if (rare === 0 || K === 1) return K;
  const st = core.st;
  const b = (p / K) | 0;
  const first = b * K;
  const len = Math.min(K, t.meta!.pieceCount - first);
  // down's own demand for the block
  let own = 0;
  const miss = t.missAll;
  const db = st.base[down]!;
  for (let q = first; q < first + len; ) {
    const w = q >>> 5;
    own += popcount(miss[db + w]! & bitMask(q & 31, Math.min(first + len - (w << 5), 32)));
    q = (w + 1) << 5;
  }
  if (t.wanting[b]! <= own) return K;
  const perPiece = t.copies[b]! / len;
  // What down still lacks is spread over its download slots, as a client pipelining
  // requests to several peers would: its last pieces come from several peers at once.
  const spread = Math.ceil((st.missing[down]! - st.inflight[down]!) / opts.downloadSlots);
  return Math.max(1, Math.min(K, Math.floor(perPiece / rare), spread));
}

/**
 * End of the run that starts at p (which `up` holds and `down` needs): the first piece
 * after p that `up` lacks or `down` does not need, and at most the end of p's block
 * (blocks of piecesPerTransfer pieces, see pick).
 */
export function runEnd(core: SwarmCore, torrent: Torrent, up: number, down: number, p: number): number {
  const K = core.opts.piecesPerTransfer;
  const limit = Math.min(p - (p % K) + K, torrent.meta!.pieceCount, p + runLimit(core, torrent, down, p));
  const uh = torrent.haveAll;
  const dn = torrent.needAll;
  const ub = core.st.base[up]!;
  const db = core.st.base[down]!;
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
export function runStart(core: SwarmCore, torrent: Torrent, up: number, down: number, p: number): number {
  const uh = torrent.haveAll;
  const dn = torrent.needAll;
  const ub = core.st.base[up]!;
  const db = core.st.base[down]!;
  const blockStart = p - (p % core.opts.piecesPerTransfer);
  let q = p;
  while (q > blockStart) {
    const prev = q - 1;
    const i = prev >>> 5;
    if ((uh[ub + i]! & dn[db + i]! & (1 << (prev & 31))) === 0) break;
    q = prev;
  }
  return q;
}

/**
 * The first piece of [first, end) that the row at ub holds and the row at db needs
 * (wanted, lacking, not in flight), or -1.
 */
export function firstNeeded(torrent: Torrent, ub: number, db: number, first: number, end: number): number {
  const uh = torrent.haveAll;
  const dn = torrent.needAll;
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

/** Whether session `up` already runs `pipeline` transfers to node `downNode`. */
export function pairBusy(core: SwarmCore, up: number, downNode: number): boolean {
  // A session belongs to one torrent, so a download from `up` is the download of the
  // session of downNode in that torrent.
  const nt = core.nt;
  const list = nt.downFrom;
  const at = downNode * nt.downSlots;
  const end = at + nt.downN[downNode]!;
  const max = core.opts.pipeline;
  let n = 0;
  for (let i = at; i < end; i++) if (list[i] === up && ++n >= max) return true;
  return false;
}
