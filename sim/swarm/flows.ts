// The flow-level swarm's piece choice (SwarmOptions.model 'flow'; the engine is the one of
// sim/swarm/transfers.ts with these parts swapped in). A transfer is a fluid flow of up to
// a chunk of `flowPieces` pieces (chunks are aligned: pieces [k·C, (k+1)·C)) at the same
// fair share as the piece-level swarm, two kernel events whatever its length, its pieces
// taken in (verified one by one) when it ends. An uploader serves the pieces it holds and
// the pieces it is downloading itself: a flow of those streams behind the uploader's own
// download (its source) and ends no earlier than the source plus one piece at its own
// rate (a client forwards a piece once it arrived and verified), so a chunk crosses a
// chain of peers in about a piece time per hop, not a chunk time, as pieces do in the
// piece-level swarm, without an event per piece.

import { hasPiece } from './bits.ts';
import type { SwarmCore } from './core.ts';
import type { Torrent } from './sessions.ts';
import { T_ARRIVED, T_END, T_TO, TSTRIDE } from './tables.ts';

/**
 * A piece session `up` holds or is downloading that session `down` needs, or -1: as the
 * piece-level pick (a rotating word and bit), over have(up) ∪ in flight to up.
 */
export function pickFlow(core: SwarmCore, torrent: Torrent, up: number, down: number): number {
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
  const start = rot - words * Math.floor(rot / words);
  const r = (rot >>> 27) & 31;
  const have = torrent.haveAll;
  const miss = torrent.missAll;
  const need = torrent.needAll;
  for (let k = 0; k < words; k++) {
    let w = start + k;
    if (w >= words) w -= words;
    w += lo;
    // wanted, lacking and not needed: in flight to up
    const source = have[ub + w]! | (miss[ub + w]! & ~need[ub + w]!);
    const x = source & need[db + w]!;
    if (x === 0) continue;
    let y = (x >>> r) << r;
    if (y === 0) y = x;
    return (w << 5) + 31 - Math.clz32(y & -y);
  }
  return -1;
}

function needs(torrent: Torrent, base: number, q: number): boolean {
  return (torrent.needAll[base + (q >>> 5)]! & (1 << (q & 31))) !== 0;
}

/** Where the last flowRun starts, and the transfer it streams behind (-1: none). */
export interface FlowRun {
  first: number;
  end: number;
  src: number;
}

/**
 * The run through piece p that session `up` (of node `upNode`) gives session `down`:
 * pieces of p's chunk side by side that down needs and up holds, or, when up is still
 * downloading p, that are in flight to up in the same download (the run's source).
 */
export function flowRun(
  core: SwarmCore,
  torrent: Torrent,
  up: number,
  upNode: number,
  down: number,
  p: number,
  out: FlowRun,
): void {
  const st = core.st;
  const ub = st.base[up]!;
  const db = st.base[down]!;
  const chunk = core.opts.flowPieces;
  const c0 = p - (p % chunk);
  const cEnd = Math.min(c0 + chunk, torrent.meta!.pieceCount);
  if (hasPiece(torrent, ub, p)) {
    let first = p;
    while (first > c0 && hasPiece(torrent, ub, first - 1) && needs(torrent, db, first - 1)) first--;
    let end = p + 1;
    while (end < cEnd && hasPiece(torrent, ub, end) && needs(torrent, db, end)) end++;
    out.first = first;
    out.end = end;
    out.src = -1;
    return;
  }
  // p is in flight to up: find the download carrying it
  const { nt, tt } = core;
  const at = upNode * nt.downSlots;
  let src = -1;
  let srcFirst = 0;
  let srcEnd = 0;
  for (let i = at; i < at + nt.downN[upNode]!; i++) {
    const t = nt.downList[i]!;
    const o = t * TSTRIDE;
    if (tt.ti[o + T_TO] !== up) continue;
    const a = tt.ti[o + T_ARRIVED]!;
    const e = tt.ti[o + T_END]!;
    if (p >= a && p < e) {
      src = t;
      srcFirst = a;
      srcEnd = e;
      break;
    }
  }
  if (src < 0) {
    // not in flight after all (the moment a download ends and before what it missed is
    // needed again): nothing to give
    out.first = p;
    out.end = p;
    out.src = -1;
    return;
  }
  const lo = Math.max(c0, srcFirst);
  const hi = Math.min(cEnd, srcEnd);
  let first = p;
  while (first > lo && needs(torrent, db, first - 1)) first--;
  let end = p + 1;
  while (end < hi && needs(torrent, db, end)) end++;
  out.first = first;
  out.end = end;
  out.src = src;
}
