// Glue between a content store and folders on disk, for `archivist seed --backend cid` and
// `archivist fetch --backend cid`:
//
// - a community folder of the torrent backend (`data`, `index`): each archive's stored bytes
//   (`size - padding` at its offset) are uploaded on their own, as the content-addressed
//   backend would have uploaded them, and an index of {metadata, cid} is built and uploaded;
// - a round folder (what `fetch --backend cid` writes): `index` (the stored content-addressed
//   index) and `archives/<archive id>` (each archive's stored bytes); seeding it uploads the
//   same bytes again, so it gets the same content ids (checked) and the same index id.

import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  ArchiveFormatError,
  type CidIndex,
  cidArchiveIdOf,
  dataPath,
  decodeStoredCidIndex,
  encodeStoredCidIndex,
  indexEntriesByFrom,
  readIndex,
} from '../../archive/index.ts';
import type { ContentStore } from '../../ports/content-store.ts';
import { NodeFileSystem } from './node-fs.ts';

export type FolderKind = 'community' | 'round';

export function folderKind(dir: string): FolderKind | undefined {
  if (existsSync(join(dir, 'data')) && existsSync(join(dir, 'index'))) return 'community';
  if (existsSync(join(dir, 'index')) && existsSync(join(dir, 'archives'))) return 'round';
  return undefined;
}

export interface UploadedRound {
  indexCid: string;
  index: CidIndex;
  archives: number;
  /** Stored bytes of the archives. */
  bytes: number;
}

/** Uploads a torrent community folder as a content-addressed round. Throws ArchiveFormatError. */
export async function uploadCommunityFolder(store: ContentStore, dir: string): Promise<UploadedRound> {
  const fs = new NodeFileSystem();
  const torrentIndex = readIndex(fs, dir);
  const index: CidIndex = { archives: new Map() };
  let bytes = 0;
  for (const [id, meta] of indexEntriesByFrom(torrentIndex)) {
    let stored: Uint8Array;
    try {
      stored = fs.readRange(dataPath(dir), meta.offset, meta.size - meta.padding);
    } catch {
      throw new ArchiveFormatError(
        `archive ${id}: no ${meta.size - meta.padding} bytes at offset ${meta.offset}`,
        dataPath(dir),
      );
    }
    const entry = { version: 0, metadata: meta.metadata, cid: await store.upload(stored) };
    index.archives.set(cidArchiveIdOf(entry), entry);
    bytes += stored.length;
  }
  const indexCid = await store.upload(encodeStoredCidIndex(index));
  return { indexCid, index, archives: index.archives.size, bytes };
}

/** Uploads a round folder; every archive must upload to its entry's content id. Throws ArchiveFormatError. */
export async function uploadRoundFolder(store: ContentStore, dir: string): Promise<UploadedRound> {
  const stored = readFileSync(join(dir, 'index'));
  const index = decodeStoredCidIndex(stored, undefined, join(dir, 'index'));
  const files = new Set(readdirSync(join(dir, 'archives')));
  let bytes = 0;
  for (const [id, entry] of index.archives) {
    if (!files.has(id)) throw new ArchiveFormatError(`no file for archive ${id}`, join(dir, 'archives'));
    const archive = readFileSync(join(dir, 'archives', id));
    const cid = await store.upload(archive);
    if (cid !== entry.cid)
      throw new ArchiveFormatError(
        `uploads as ${cid}, the index says ${entry.cid}`,
        join(dir, 'archives', id),
      );
    bytes += archive.length;
  }
  const indexCid = await store.upload(stored);
  return { indexCid, index, archives: index.archives.size, bytes };
}

/** Writes a fetched round: `<out>/<indexCid>/index` and `<out>/<indexCid>/archives/<id>`. */
export function writeRoundFolder(
  out: string,
  indexCid: string,
  indexBytes: Uint8Array,
  archives: Map<string, Uint8Array>,
): string {
  const dir = join(out, indexCid);
  mkdirSync(join(dir, 'archives'), { recursive: true });
  writeFileSync(join(dir, 'index'), indexBytes);
  for (const [id, bytes] of archives) writeFileSync(join(dir, 'archives', id), bytes);
  return dir;
}
