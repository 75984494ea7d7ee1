// Piece verification: every piece a session receives is checked against the torrent's
// SHA-1. Piece bytes are references to the buffers a seeder seeded, treated as immutable,
// so the SHA-1 of a buffer range is computed once and remembered; a corrupted piece
// arrives as a modified copy, hashed for real.

import { createHash } from 'node:crypto';
import type { Prng } from '../prng.ts';
import type { Torrent } from './sessions.ts';

/** SHA-1 of buffer ranges already hashed, keyed by the buffer's identity. */
const hashMemo = new WeakMap<ArrayBufferLike, Map<number, Uint8Array>>();

export function sha1(bytes: Uint8Array): Uint8Array {
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

/** Whether h is the torrent's hash of this piece. */
export function sameHash(h: Uint8Array, all: Uint8Array, piece: number): boolean {
  const o = piece * 20;
  for (let i = 0; i < 20; i++) if (h[i] !== all[o + i]) return false;
  return true;
}

/**
 * Whether piece q of the torrent passes verification at its receiver. `corruptBy`: the
 * piece arrives with one byte flipped, drawn from the uploader's stream, and is hashed
 * for real (it fails).
 */
export function pieceVerifies(torrent: Torrent, q: number, corruptBy: Prng | undefined): boolean {
  const meta = torrent.meta!;
  if (corruptBy) {
    const bad = torrent.pieces[q]!.slice();
    const i = corruptBy.int(0, bad.length - 1);
    bad[i] = (bad[i] ?? 0) ^ 0xff;
    return sameHash(createHash('sha1').update(bad).digest(), meta.pieceHashes, q);
  }
  return torrent.verified[q] === 1 || sameHash(sha1(torrent.pieces[q]!), meta.pieceHashes, q);
}
