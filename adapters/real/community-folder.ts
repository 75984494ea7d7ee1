// Glue between the real torrent client and a community folder on disk (`data`, `index`):
// the `.torrent` `archivist seed` uses, the magnet it prints, and the checks
// `archivist fetch` runs on what it downloaded.

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { buildTorrentFile, magnetLink, readIndex, verifyCommunityFolder } from '../../archive/index.ts';
import type { TorrentMetadata } from '../../ports/torrent.ts';
import { NodeFileSystem } from './node-fs.ts';

export const DEFAULT_PIECE_LENGTH = 102_400;

/**
 * The `.torrent` of a community folder: `<folder>.torrent` or `<parent>/<name>.torrent`
 * when present, otherwise rebuilt from `data` and `index` (the info dictionary of §4 holds
 * nothing else, so the info-hash is the owner's).
 */
export function torrentForFolder(dir: string, pieceLength = DEFAULT_PIECE_LENGTH): Uint8Array {
  const name = basename(dir);
  for (const c of [`${dir}.torrent`, join(dirname(dir), `${name}.torrent`)]) {
    if (existsSync(c)) return readFileSync(c);
  }
  const data = readFileSync(join(dir, 'data'));
  const index = readFileSync(join(dir, 'index'));
  const all = Buffer.concat([data, index]);
  const pieces: Uint8Array[] = [];
  for (let o = 0; o < all.length; o += pieceLength) {
    pieces.push(
      createHash('sha1')
        .update(all.subarray(o, o + pieceLength))
        .digest(),
    );
  }
  return buildTorrentFile({
    name,
    pieceLength,
    files: [
      { path: 'data', length: data.length },
      { path: 'index', length: index.length },
    ],
    pieces: Buffer.concat(pieces),
  });
}

/** Magnet link of a seeded community torrent, with the seeder as a direct peer (`x.pe`). */
export function magnetFor(infoHash: string, name: string, peer?: string): string {
  return magnetLink(infoHash, name, [], peer ? [peer] : []);
}

export class FetchedFolderRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FetchedFolderRefused';
  }
}

/**
 * Checks a downloaded folder: the index decodes and every archive lies inside `data` (as
 * long as the torrent says `data` is); after a full download also the archive format
 * (every archive decodes, padding, contiguity). Returns the number of archives.
 */
export function checkFetchedFolder(dir: string, meta: TorrentMetadata, full: boolean): number {
  const fs = new NodeFileSystem();
  const dataLength = meta.files.find((f) => f.path === 'data')?.length ?? 0;
  let index: ReturnType<typeof readIndex>;
  try {
    index = readIndex(fs, dir);
  } catch (err) {
    throw new FetchedFolderRefused((err as Error).message);
  }
  for (const [id, m] of index.archives) {
    if (m.offset + m.size > dataLength) {
      throw new FetchedFolderRefused(
        `index entry ${id} spans bytes [${m.offset}, ${m.offset + m.size}) past the end of data (${dataLength} bytes)`,
      );
    }
  }
  if (full) {
    const report = verifyCommunityFolder(fs, dir);
    if (!report.ok) throw new FetchedFolderRefused(`${dir}: ${report.problems.join('; ')}`);
  }
  return index.archives.size;
}
