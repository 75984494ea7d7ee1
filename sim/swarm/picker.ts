// The piece picker: which piece a downloader fetches from an uploader, and how long a run
// of pieces one transfer carries. It reads the torrent's packed bitsets (sim/swarm/bits.ts)
// and nothing else; it starts nothing (sim/swarm/transfers.ts does).

import { bitMask, popcount } from './bits.ts';
import type { SwarmOptions } from './options.ts';
import type { Session } from './sessions.ts';

/**
 * A piece `up` can give `down`, or -1: the first set bit of have(up) & need(down), from
 * a rotating word and bit so that peers spread over different pieces. The run that
 * starts there ends at its block's end (see runEnd), so a downloader fetches a block in
 * at most two runs and what peers hold stays in long stretches, not fragments.
 */
export function pick(up: Session, down: Session): number {
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
 * Longest run starting at piece p for `down`. A run's pieces are shareable only once it
 * completes, so in a contested swarm runs must not hold pieces back: while other
 * sessions want a block that few hold, its pieces travel alone, as in the per-piece
 * model, so that they spread as early as they would there (early spread decides a
 * swarm's finish time); runs grow by one piece per rareCopies copies per piece the block
 * has, up to piecesPerTransfer. Rare blocks are few transfers next to the thousands of
 * copies of a common one. When nobody else wants the block, a run is as fast as the
 * pieces one by one and is as long as allowed.
 */
export function runLimit(opts: SwarmOptions, down: Session, p: number): number {
  const t = down.torrent;
  const K = opts.piecesPerTransfer;
  const rare = opts.rareCopies;
  if (rare === 0 || K === 1) return K;
  const b = (p / K) | 0;
  const first = b * K;
  const len = Math.min(K, t.meta!.pieceCount - first);
  // down's own demand for the block
  let own = 0;
  const miss = t.missAll;
  for (let q = first; q < first + len; ) {
    const w = q >>> 5;
    own += popcount(miss[down.base + w]! & bitMask(q & 31, Math.min(first + len - (w << 5), 32)));
    q = (w + 1) << 5;
  }
  if (t.wanting[b]! <= own) return K;
  const perPiece = t.copies[b]! / len;
  // What down still lacks is spread over its download slots, as a client pipelining
  // requests to several peers would: its last pieces come from several peers at once.
  const spread = Math.ceil((down.missingCount - down.inflightCount) / opts.downloadSlots);
  return Math.max(1, Math.min(K, Math.floor(perPiece / rare), spread));
}

/**
 * End of the run that starts at p (which `up` holds and `down` needs): the first piece
 * after p that `up` lacks or `down` does not need, and at most the end of p's block
 * (blocks of piecesPerTransfer pieces, see pick).
 */
export function runEnd(opts: SwarmOptions, up: Session, down: Session, p: number): number {
  const torrent = up.torrent;
  const K = opts.piecesPerTransfer;
  const limit = Math.min(p - (p % K) + K, torrent.meta!.pieceCount, p + runLimit(opts, down, p));
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
export function runStart(opts: SwarmOptions, up: Session, down: Session, p: number): number {
  const torrent = up.torrent;
  const uh = torrent.haveAll;
  const dn = torrent.needAll;
  const ub = up.base;
  const db = down.base;
  const blockStart = p - (p % opts.piecesPerTransfer);
  let q = p;
  while (q > blockStart) {
    const prev = q - 1;
    const i = prev >>> 5;
    if ((uh[ub + i]! & dn[db + i]! & (1 << (prev & 31))) === 0) break;
    q = prev;
  }
  return q;
}

/** The first piece of [first, end) that `up` holds and `down` needs (wanted, lacking, not in flight), or -1. */
export function firstNeeded(up: Session, down: Session, first: number, end: number): number {
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
export function pairBusy(opts: SwarmOptions, up: Session, down: Session): boolean {
  // A session belongs to one torrent, so `from === up` implies the download is `down`'s.
  const list = down.node.downFrom;
  const max = opts.pipeline;
  let n = 0;
  for (let i = 0; i < list.length; i++) if (list[i] === up && ++n >= max) return true;
  return false;
}
