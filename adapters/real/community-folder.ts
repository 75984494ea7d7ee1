// Glue between the real torrent client and a community folder on disk (`data`, `index`):
// finding its `.torrent`, the magnet printed by `archivist seed`, and the checks
// `archivist fetch` runs on what it downloaded.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TorrentMetadata } from '../ports/torrent.ts';

/** The `.torrent` of a community folder: `<folder>.torrent` or `<parent>/<name>.torrent`. */
export function torrentForFolder(dir: string): Uint8Array {
  const name = basename(dir);
  const candidates = [`${dir}.torrent`, join(dirname(dir), `${name}.torrent`), join(dir, `${name}.torrent`)];
  for (const c of candidates) if (existsSync(c)) return readFileSync(c);
  throw new Error(`no ${name}.torrent next to the folder; pass --torrent <file>`);
}

/** Magnet link of a seeded community torrent, with the seeder as a direct peer (`x.pe`). */
export function magnetFor(infoHash: string, name: string, peer?: string): string {
  const pe = peer ? `&x.pe=${peer}` : '';
  return `magnet:?xt=urn:btih:${infoHash}&dn=${encodeURIComponent(name)}${pe}`;
}

/**
 * Checks a downloaded folder against its torrent: each file has the torrent's length (full
 * download) or at least the index is complete. Returns the number of archives in the index
 * (-1 when not decoded).
 */
export function checkFetchedFolder(dir: string, meta: TorrentMetadata, full: boolean): number {
  for (const f of meta.files) {
    if (!full && f.path !== 'index') continue;
    const p = join(dir, f.path);
    if (!existsSync(p)) throw new Error(`${p}: missing after download`);
    const size = statSync(p).size;
    if (size !== f.length) throw new Error(`${p}: ${size} bytes, the torrent says ${f.length}`);
  }
  return -1;
}
