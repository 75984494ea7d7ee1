// Bit scans and the per-session bitsets. A torrent packs the rows of its sessions side by
// side (Torrent.haveAll / needAll / missAll, `words` 32-bit words per row, the row of a
// session at Session.base): held; wanted, lacking and not in flight (what the piece
// picker looks for); wanted and lacking. Blocks are runs of piecesPerTransfer (K) pieces;
// the torrent counts copies and demand per block (see runLimit in sim/swarm/picker.ts).

import type { SwarmCore } from './core.ts';
import type { Session, Torrent } from './sessions.ts';
import { T_ARRIVED, T_END, T_TO, TSTRIDE } from './tables.ts';

export function popcount(x: number): number {
  let v = x - ((x >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/** Bits [loBit, hiBit) of a word (hiBit <= 32). */
export function bitMask(loBit: number, hiBit: number): number {
  return (hiBit === 32 ? -1 : (1 << hiBit) - 1) & ~((1 << loBit) - 1);
}

function grown(a: Uint32Array, length: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(length);
  b.set(a);
  return b;
}

/** Give a session that just learnt the metadata its rows in the torrent's packed bitsets, zeroed. */
export function assignRow(s: Session): void {
  const t = s.torrent;
  const words = (t.meta!.pieceCount + 31) >>> 5;
  if (t.words === 0) {
    t.words = words;
    t.sumWords = (words + 31) >>> 5;
  }
  let row = t.freeRows.pop();
  if (row === undefined) {
    row = t.rows++;
    if ((row + 1) * words > t.haveAll.length) {
      const rows = Math.max(16, t.rows * 2);
      t.haveAll = grown(t.haveAll, rows * words);
      t.needAll = grown(t.needAll, rows * words);
      t.missAll = grown(t.missAll, rows * words);
      t.haveSum = grown(t.haveSum, rows * t.sumWords);
      t.needSum = grown(t.needSum, rows * t.sumWords);
    }
  }
  s.base = row * words;
  s.sumBase = row * t.sumWords;
}

/** The session leaves: its missing pieces leave the blocks' demand, its rows are zeroed and freed. */
export function releaseRow(s: Session, K: number): void {
  const t = s.torrent;
  t.haveAll.fill(0, s.base, s.base + t.words);
  t.needAll.fill(0, s.base, s.base + t.words);
  forgetMissing(s, K);
  t.missAll.fill(0, s.base, s.base + t.words);
  t.haveSum.fill(0, s.sumBase, s.sumBase + t.sumWords);
  t.needSum.fill(0, s.sumBase, s.sumBase + t.sumWords);
  t.freeRows.push(s.base / t.words);
  s.base = -1;
  s.sumBase = -1;
}

/** Word w of the session's need row may hold a piece now. */
export function markNeed(t: Torrent, s: Session, w: number): void {
  t.needSum[s.sumBase + (w >>> 5)]! |= 1 << (w & 31);
  t.needEpoch = (t.needEpoch + 1) | 0;
}

/** Add `sign` per piece of bitset word w set in `bits` to its block's count (blocks of K pieces). */
export function perBlock(
  counts: Uint32Array | Int32Array,
  K: number,
  w: number,
  bits: number,
  sign: number,
): void {
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

/** Whether session s holds piece p (its metadata must be known). */
export function has(s: Session, p: number): boolean {
  return (s.torrent.haveAll[s.base + (p >>> 5)]! & (1 << (p & 31))) !== 0;
}

/** Whether piece p is on its way to session s. */
export function inFlight(core: SwarmCore, s: Session, p: number): boolean {
  const nt = core.nt;
  const tt = core.tt;
  const at = s.node.ix * nt.downSlots;
  const sid = s.sid;
  for (let i = at; i < at + nt.downN[s.node.ix]!; i++) {
    const o = nt.downList[i]! * TSTRIDE;
    if (tt.ti[o + T_TO] === sid && p >= tt.ti[o + T_ARRIVED]! && p < tt.ti[o + T_END]!) return true;
  }
  return false;
}

/** p became wanted and is not held. */
export function addMissing(core: SwarmCore, s: Session, p: number): void {
  const K = core.opts.piecesPerTransfer;
  s.missingCount++;
  s.torrent.wanting[(p / K) | 0]!++;
  s.torrent.missAll[s.base + (p >>> 5)]! |= 1 << (p & 31);
  if (!inFlight(core, s, p)) {
    s.torrent.needAll[s.base + (p >>> 5)]! |= 1 << (p & 31);
    markNeed(s.torrent, s, p >>> 5);
  }
}

/** Whether the row at `base` of the torrent holds piece p. */
export function hasPiece(t: Torrent, base: number, p: number): boolean {
  return (t.haveAll[base + (p >>> 5)]! & (1 << (p & 31))) !== 0;
}

/**
 * Session `sid` (of torrent t) now holds piece p: bitsets and counts only (see gained in
 * wants.ts for waits and listeners).
 */
export function gainPiece(core: SwarmCore, t: Torrent, sid: number, p: number): void {
  const st = core.st;
  st.have[sid]!++;
  const b = (p / core.opts.piecesPerTransfer) | 0;
  t.copies[b]!++;
  const i = st.base[sid]! + (p >>> 5);
  const bit = 1 << (p & 31);
  if (t.missAll[i]! & bit) {
    st.missing[sid]!--;
    t.wanting[b]!--;
  }
  t.haveAll[i]! |= bit;
  t.haveSum[st.sumBase[sid]! + (p >>> 10)]! |= 1 << ((p >>> 5) & 31);
  t.needAll[i]! &= ~bit;
  t.missAll[i]! &= ~bit;
}

/** Pieces of [first, end) the row at `base` does not hold. */
export function lacking(t: Torrent, base: number, first: number, end: number): number {
  const have = t.haveAll;
  let n = 0;
  for (let q = first; q < end; ) {
    const w = q >>> 5;
    n += popcount(bitMask(q & 31, Math.min(end - (w << 5), 32)) & ~have[base + w]!);
    q = (w + 1) << 5;
  }
  return n;
}

/** Session s holds pieces [first, end) (found in its files): bitsets a word at a time. */
export function gainRange(s: Session, K: number, first: number, end: number): number {
  const t = s.torrent;
  const have = t.haveAll;
  const need = t.needAll;
  const miss = t.missAll;
  let gained = 0;
  for (let q = first; q < end; ) {
    const w = q >>> 5;
    const mask = bitMask(q & 31, Math.min(end - (w << 5), 32));
    const i = s.base + w;
    const fresh = mask & ~have[i]!;
    if (fresh !== 0) {
      const n = popcount(fresh);
      perBlock(t.copies, K, w, fresh, 1);
      gained += n;
      s.haveCount += n;
      const wasMissing = fresh & miss[i]!;
      if (wasMissing !== 0) {
        s.missingCount -= popcount(wasMissing);
        perBlock(t.wanting, K, w, wasMissing, -1);
      }
      have[i]! |= fresh;
      t.haveSum[s.sumBase + (w >>> 5)]! |= 1 << (w & 31);
      need[i]! &= ~fresh;
      miss[i]! &= ~fresh;
    }
    q = (w + 1) << 5;
  }
  if (gained > 0) s.progressMark++;
  return gained;
}

/** Take a session's missing pieces out of the blocks' demand (before its bitsets are cleared). */
export function forgetMissing(s: Session, K: number): void {
  const t = s.torrent;
  const miss = t.missAll;
  for (let w = 0; w < t.words; w++) {
    const x = miss[s.base + w]!;
    if (x !== 0) perBlock(t.wanting, K, w, x, -1);
  }
}

/** The first piece q in (p, limit) whose bit in the row at `base` is not `set`, else limit. */
export function bitRunEnd(bits: Uint32Array, base: number, p: number, limit: number, set: boolean): number {
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
