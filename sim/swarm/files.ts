// The files of a session in its node's FileSystem, at `<parentDir>/<name>/<path>`.
// Downloads are written when a requested range completes, as chunk lists referencing the
// buffers the seeder seeded (no copies; missing ranges read as zeros), so the work follows
// the number of chunks, not of pieces. When the metadata arrives (or a node seeds), the
// pieces already in those files with the right hash count as held; stretches of a buffer
// already verified for this torrent are taken whole (members rescan a folder that grows
// every round).

import type { FileSystem } from '../../ports/filesystem.ts';
import { bitRunEnd, gainPiece, gainRange, has } from './bits.ts';
import type { SwarmCore } from './core.ts';
import type { Session, Torrent } from './sessions.ts';
import { sameHash, sha1 } from './verify.ts';

/** A FileSystem that may keep buffers by reference (the in-memory one does). */
export interface ChunkedFileSystem extends FileSystem {
  writeChunks?(path: string, chunks: Uint8Array[]): void;
  chunks?(path: string): Uint8Array[];
}

const ZERO = new Uint8Array(1 << 20);

export function concat(parts: Uint8Array[], length: number): Uint8Array {
  if (parts.length === 1 && parts[0]!.length === length) return parts[0]!;
  const out = new Uint8Array(length);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Mark as held the pieces already in the node's files with the right hash. */
export function scanFiles(core: SwarmCore, s: Session): void {
  const K = core.opts.piecesPerTransfer;
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
      addSource(torrent, segBytes[k]!, segAt[k]!, runFirst * P, Math.min(runEnd * P, m.totalLength));
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
      [fastFirst, fastEnd] = knownPieces(torrent, segBytes[k]!, segAt[k]!);
    }
    if (segAt[k]! > start) continue;
    if (p >= fastFirst && p < fastEnd) {
      found += gainRange(s, K, p, fastEnd);
      p = fastEnd - 1;
      continue;
    }
    if (has(s, p)) continue;
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
      bytes = spanningPiece(segAt, segBytes, k, start, len);
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
    gainPiece(core, torrent, s.sid, p);
    s.progressMark++;
    found++;
  }
  if (k < segAt.length) remember();
  if (found > 0) core.trace.record('swarm.reuse', { node: s.node.id, ih: s.torrent.short, pieces: found });
}

function addSource(torrent: Torrent, seg: Uint8Array, segAt: number, from: number, to: number): void {
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
function knownPieces(torrent: Torrent, seg: Uint8Array, segAt: number): [number, number] {
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

/** Bytes [start, start + len) across segments k, k+1, ... (contiguous), or undefined at a gap. */
function spanningPiece(
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

/** Write the files overlapping pieces [first, end) into the node's FileSystem. */
export function writeFiles(s: Session, first: number, end: number): void {
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
    const chunks = fileChunks(s, f);
    const path = `${dir}/${f.path}`;
    if (fs.writeChunks) fs.writeChunks(path, chunks);
    else fs.writeAtomic(path, concat(chunks, f.length));
  }
}

function fileChunks(s: Session, f: { length: number; offset: number }): Uint8Array[] {
  const t = s.torrent;
  const m = t.meta!;
  const P = m.pieceLength;
  const stretch = stretchEnd(t);
  const out: Uint8Array[] = [];
  const fend = f.offset + f.length;
  const lastPiece = Math.ceil(fend / P);
  // Walk the file by stretches: pieces held and side by side in one buffer become one
  // chunk, pieces missing one run of zeros, so the cost follows the number of chunks,
  // not of pieces (members rewrite a data file that grows every round).
  for (let pos = f.offset; pos < fend; ) {
    const p = Math.floor(pos / P);
    if (has(s, p) && t.pieces[p]) {
      const q = Math.min(stretch[p]!, bitRunEnd(t.haveAll, s.base, p, lastPiece, true));
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
      const q = bitRunEnd(t.haveAll, s.base, p, lastPiece, false);
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
function stretchEnd(t: Torrent): Int32Array {
  if (t.stretchEnd) return t.stretchEnd;
  const n = t.pieces.length;
  const out = new Int32Array(n);
  for (let p = n - 1; p >= 0; p--) {
    const a = t.pieces[p];
    const b = t.pieces[p + 1];
    out[p] =
      a !== undefined && b !== undefined && a.buffer === b.buffer && a.byteOffset + a.length === b.byteOffset
        ? out[p + 1]!
        : p + 1;
  }
  t.stretchEnd = out;
  return out;
}
