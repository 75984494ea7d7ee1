// The .torrent view the simulator works with, on top of the archive module's format code
// (archive/torrent.ts and archive/magnet.ts: one parser, one encoder, one magnet format for
// the whole project).
// The swarm wants the piece hashes as one buffer and the size of the info dictionary (what
// metadata exchange transfers); tests and benchmarks build torrents straight from bytes.

import { createHash } from 'node:crypto';
import { infoHashFromMagnet, magnetLink } from '../archive/magnet.ts';
import {
  buildTorrentFile as encodeTorrentFile,
  parseTorrentFile as parseArchiveTorrent,
} from '../archive/torrent.ts';

export { infoHashFromMagnet };

export interface ParsedTorrent {
  /** 40 lowercase hex. */
  infoHash: string;
  name: string;
  pieceLength: number;
  /** SHA-1 of each piece, concatenated (20 bytes per piece). */
  pieceHashes: Uint8Array;
  files: { path: string; length: number; offset: number }[];
  /** Length of the bencoded info dictionary (what metadata exchange transfers). */
  infoLength: number;
}

/** Parses a .torrent; throws TorrentFormatError naming what is wrong. */
export function parseTorrentFile(bytes: Uint8Array): ParsedTorrent {
  const t = parseArchiveTorrent(bytes);
  const pieceHashes = new Uint8Array(t.pieceHashes.length * 20);
  for (const [i, h] of t.pieceHashes.entries()) pieceHashes.set(h, i * 20);
  return {
    infoHash: t.infoHash,
    name: t.name,
    pieceLength: t.pieceLength,
    pieceHashes,
    files: t.files,
    infoLength: t.infoDict.length,
  };
}

/**
 * A torrent of `files` (in the given order, which protocol.md §4 wants sorted by path),
 * pieces hashed across file boundaries as BitTorrent does. Returns the .torrent bytes.
 */
export function buildTorrentFile(
  name: string,
  pieceLength: number,
  files: { path: string; bytes: Uint8Array }[],
): Uint8Array {
  const total = files.reduce((s, f) => s + f.bytes.length, 0);
  const count = Math.ceil(total / pieceLength);
  const pieces = new Uint8Array(count * 20);
  let fi = 0;
  let fo = 0;
  for (let p = 0; p < count; p++) {
    const h = createHash('sha1');
    let need = Math.min(pieceLength, total - p * pieceLength);
    while (need > 0) {
      const f = (files[fi] as { bytes: Uint8Array }).bytes;
      const take = Math.min(need, f.length - fo);
      h.update(f.subarray(fo, fo + take));
      fo += take;
      need -= take;
      if (fo === f.length) {
        fi++;
        fo = 0;
      }
    }
    pieces.set(h.digest(), p * 20);
    while (fi < files.length && (files[fi] as { bytes: Uint8Array }).bytes.length === 0) fi++;
  }
  return encodeTorrentFile({
    name,
    pieceLength,
    files: files.map((f) => ({ path: f.path, length: f.bytes.length })),
    pieces,
    creationDate: 0,
  });
}

/** `magnet:?xt=urn:btih:<info-hash>&dn=<name>` (§4). */
export function magnetFor(infoHash: string, name: string): string {
  return magnetLink(infoHash, name);
}
