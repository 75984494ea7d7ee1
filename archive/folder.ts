// The archive format over the FileSystem port: a community folder `<dataDir>/<id>/` with
// `data` and `index`, and `<torrentDir>/<id>.torrent` (protocol.md §4, §5.1).
//
// Crash safety of a round: everything is encoded and hashed in memory first; then `data`
// is appended once (one buffer: all-or-nothing by the port's contract), then `index` and
// the `.torrent` are replaced atomically. A crash between the append and the index leaves
// `data` longer than the index says; the next round rolls those bytes back before appending.

import { hash } from 'node:crypto';
import type { FileSystem } from '../ports/filesystem.ts';
import { DecodeError, encodeWakuMessageArchiveIndex } from '../proto/codec.ts';
import type {
  WakuMessage,
  WakuMessageArchive,
  WakuMessageArchiveIndex,
  WakuMessageArchiveIndexMetadata,
} from '../proto/types.ts';
import { type ArchiveCodec, decodeStoredArchive, decodeStoredIndex, plainCodec } from './codec.ts';
import { ArchiveFormatError, MissingKeyError, UnknownArchiveError } from './errors.ts';
import { buildArchives } from './layout.ts';
import { magnetLink } from './magnet.ts';
import { type ArchiveOptionsInput, resolveArchiveOptions } from './options.ts';
import {
  buildTorrent,
  checkPathComponent,
  magnetFromTorrent,
  type ParsedTorrent,
  parseTorrentFile,
} from './torrent.ts';

export interface CreatedArchive {
  id: string;
  from: number;
  to: number;
  offset: number;
  size: number;
  padding: number;
  messages: number;
}

export interface RoundResult {
  communityId: string;
  start: number;
  end: number;
  /** The archives this round created. */
  archives: CreatedArchive[];
  /** Messages left out for being larger than maxArchiveBytes on their own. */
  dropped: number;
  /** Of the torrent on disk after the round; undefined when there is none. */
  infoHash?: string;
  magnet?: string;
}

export interface RoundParams {
  dataDir: string;
  torrentDir: string;
  communityId: string;
  topics: Uint8Array[];
  messages: WakuMessage[];
  /** Unix seconds, [start, end). */
  start: number;
  end: number;
  options?: ArchiveOptionsInput;
  codec?: ArchiveCodec;
  /** "created by" of the torrent (the reference writes the owner's public key in hex). */
  createdBy?: string;
  /** "creation date" of the torrent, Unix seconds (left out when absent: no clock here). */
  creationDate?: number;
  trackers?: string[];
}

function trimSlash(p: string): string {
  return p.length > 1 && p.endsWith('/') ? p.slice(0, -1) : p;
}

export function communityFolder(dataDir: string, communityId: string): string {
  return `${trimSlash(dataDir)}/${communityId}`;
}

export function torrentPath(torrentDir: string, communityId: string): string {
  return `${trimSlash(torrentDir)}/${communityId}.torrent`;
}

export const dataPath = (folder: string): string => `${folder}/data`;
export const indexPath = (folder: string): string => `${folder}/index`;

/** The folder's index; an empty one when there is no `index` file. Throws ArchiveFormatError or MissingKeyError. */
export function readIndex(fs: FileSystem, folder: string, codec?: ArchiveCodec): WakuMessageArchiveIndex {
  const path = indexPath(folder);
  if (!fs.exists(path)) return { archives: new Map() };
  try {
    return decodeStoredIndex(fs.read(path), codec);
  } catch (error) {
    if (error instanceof DecodeError)
      throw new ArchiveFormatError(`index does not decode (${error.message})`, path);
    throw error;
  }
}

/** Index entries in ascending `from`, then id. */
export function indexEntriesByFrom(
  index: WakuMessageArchiveIndex,
): Array<[id: string, meta: WakuMessageArchiveIndexMetadata]> {
  return [...index.archives].sort(
    ([ia, a], [ib, b]) => a.metadata.from - b.metadata.from || (ia < ib ? -1 : ia > ib ? 1 : 0),
  );
}

/** Sum of the sizes of the index's archives: the length `data` must have. */
export function indexDataLength(index: WakuMessageArchiveIndex): number {
  let n = 0;
  for (const m of index.archives.values()) n += m.size;
  return n;
}

/**
 * One archive of the folder: reads `size - padding` bytes at `offset` of `data` and decodes
 * them (plain first, then the codec). Throws ArchiveFormatError (truncated `data`, bad
 * bytes) or MissingKeyError.
 */
export function readArchiveMessages(
  fs: FileSystem,
  folder: string,
  meta: WakuMessageArchiveIndexMetadata,
  codec?: ArchiveCodec,
): WakuMessageArchive {
  const path = dataPath(folder);
  const length = meta.size - meta.padding;
  if (length < 0)
    throw new ArchiveFormatError(
      `archive at ${meta.offset}: padding ${meta.padding} > size ${meta.size}`,
      path,
    );
  let stored: Uint8Array;
  try {
    stored = fs.readRange(path, meta.offset, length);
  } catch (error) {
    if (error instanceof RangeError || (error as Error).name === 'FileNotFound') {
      throw new ArchiveFormatError(`truncated: no ${length} bytes at offset ${meta.offset}`, path);
    }
    throw error;
  }
  try {
    return decodeStoredArchive(stored, codec);
  } catch (error) {
    if (error instanceof DecodeError) {
      throw new ArchiveFormatError(
        `archive at offset ${meta.offset} does not decode (${error.message})`,
        path,
      );
    }
    throw error;
  }
}

/** The messages of the archive `id`; throws UnknownArchiveError when the index lacks it. */
export function extractArchive(
  fs: FileSystem,
  folder: string,
  id: string,
  codec?: ArchiveCodec,
): WakuMessage[] {
  const meta = readIndex(fs, folder, codec).archives.get(id);
  if (!meta) throw new UnknownArchiveError(id, indexPath(folder));
  return readArchiveMessages(fs, folder, meta, codec).messages;
}

// --- piece hashing ------------------------------------------------------------------
//
// Piece hashes travel as one concatenated array (20 bytes a piece), as the torrent stores
// them: a year of archives is 10,000 pieces, and one view per piece, made again each round,
// cost more than hashing the index.

/** SHA-1 of consecutive P-byte pieces of `bytes` (the last one may be short), into `out` at `at`. */
function hashPiecesInto(bytes: Uint8Array, P: number, out: Uint8Array, at: number): number {
  for (let p = 0; p < bytes.length; p += P) {
    out.set(hash('sha1', bytes.subarray(p, Math.min(p + P, bytes.length)), 'buffer'), at);
    at += 20;
  }
  return at;
}

/** Hashes of the whole pieces of `data` (length a multiple of P), read through the port. */
function hashDataFile(fs: FileSystem, path: string, length: number, P: number): Uint8Array {
  const out = new Uint8Array((length / P) * 20);
  const step = P * Math.max(1, Math.floor((8 << 20) / P));
  let at = 0;
  for (let from = 0; from < length; from += step)
    at = hashPiecesInto(fs.readRange(path, from, Math.min(step, length - from)), P, out, at);
  return out;
}

/** Piece hashes of the old data that can be taken from the old torrent, or undefined. */
function reusablePieces(
  old: ParsedTorrent | undefined,
  name: string,
  P: number,
  dataLength: number,
): Uint8Array | undefined {
  if (!old || old.name !== name || old.pieceLength !== P) return undefined;
  const data = old.files.find((f) => f.path === 'data') ?? { offset: -1, length: -1 };
  if (data.offset !== 0 || data.length !== dataLength) return undefined;
  return old.pieces.subarray(0, (dataLength / P) * 20);
}

function concatChunks(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// --- a round ------------------------------------------------------------------------

/**
 * §5.1 for [start, end): builds the round's archives, appends them to `data`, rewrites
 * `index` and the `.torrent`. Earlier archives and their piece hashes are kept: only the
 * new pieces (and the index's) are hashed. Throws ArchiveFormatError when the folder on
 * disk is inconsistent (nothing is written then).
 */
export function createArchiveRound(fs: FileSystem, params: RoundParams): RoundResult {
  const options = resolveArchiveOptions(params.options);
  for (const k of ['start', 'end'] as const) {
    if (!Number.isSafeInteger(params[k]) || params[k] < 0) {
      throw new RangeError(`${k} must be a non-negative integer (unix seconds), got ${params[k]}`);
    }
  }
  const P = options.pieceLength;
  const codec = params.codec ?? plainCodec;
  // The torrent's name: refused here as a parser of it would refuse it, before any write.
  const id = checkPathComponent(params.communityId, 'name');
  const folder = communityFolder(params.dataDir, id);
  const dPath = dataPath(folder);
  const iPath = indexPath(folder);
  const tPath = torrentPath(params.torrentDir, id);

  const index = readIndex(fs, folder, codec);
  const offset = indexDataLength(index);
  const dataLength = fs.exists(dPath) ? fs.size(dPath) : 0;
  if (dataLength < offset) {
    throw new ArchiveFormatError(`truncated: ${dataLength} bytes, the index describes ${offset}`, dPath);
  }
  if (offset % P !== 0) {
    throw new ArchiveFormatError(
      `the index describes ${offset} bytes, not a multiple of the piece length ${P}`,
      iPath,
    );
  }
  let oldTorrent: ParsedTorrent | undefined;
  if (fs.exists(tPath)) {
    try {
      oldTorrent = parseTorrentFile(fs.read(tPath));
    } catch {
      oldTorrent = undefined; // rebuilt from the files below
    }
  }

  const built = buildArchives({
    topics: params.topics,
    messages: params.messages,
    start: params.start,
    end: params.end,
    offset,
    options,
    codec,
  });
  const result: RoundResult = {
    communityId: id,
    start: params.start,
    end: params.end,
    archives: [],
    dropped: built.dropped,
  };

  if (built.archives.length === 0) {
    if (oldTorrent) {
      result.infoHash = oldTorrent.infoHash;
      result.magnet = magnetFromTorrent(fs.read(tPath), params.trackers);
    }
    return result;
  }

  // Everything in memory first: the new index, the pieces, the torrent, the bytes to append.
  const archives = new Map(index.archives);
  const appended = built.block.length;
  for (const a of built.archives) {
    archives.set(a.id, a.meta);
    result.archives.push({
      id: a.id,
      from: a.meta.metadata.from,
      to: a.meta.metadata.to,
      offset: a.meta.offset,
      size: a.meta.size,
      padding: a.meta.padding,
      messages: a.messages,
    });
  }
  const indexBytes = codec.encode(encodeWakuMessageArchiveIndex({ archives }));
  const oldPieces = reusablePieces(oldTorrent, id, P, offset) ?? hashDataFile(fs, dPath, offset, P);
  const pieces = new Uint8Array(
    oldPieces.length + built.pieces.length + Math.ceil(indexBytes.length / P) * 20,
  );
  pieces.set(oldPieces, 0);
  pieces.set(built.pieces, oldPieces.length);
  hashPiecesInto(indexBytes, P, pieces, oldPieces.length + built.pieces.length);
  const torrent = buildTorrent({
    name: id,
    pieceLength: P,
    files: [
      { path: 'data', length: offset + appended },
      { path: 'index', length: indexBytes.length },
    ],
    pieces,
    ...(params.trackers ? { trackers: params.trackers } : {}),
    ...(params.createdBy !== undefined ? { createdBy: params.createdBy } : {}),
    ...(params.creationDate !== undefined ? { creationDate: params.creationDate } : {}),
  });

  // Then the writes.
  fs.mkdirp(folder);
  if (dataLength > offset) {
    // Bytes of a round that crashed before its index was written: roll them back.
    fs.writeAtomic(dPath, offset > 0 ? fs.readRange(dPath, 0, offset) : new Uint8Array(0));
  }
  fs.append(dPath, built.block);
  fs.writeAtomic(iPath, indexBytes);
  fs.mkdirp(params.torrentDir);
  fs.writeAtomic(tPath, torrent.bytes);

  // What parsing the torrent just written would give, without parsing it again.
  result.infoHash = torrent.infoHash;
  result.magnet = magnetLink(torrent.infoHash, id, params.trackers ?? []);
  return result;
}

// --- verification -------------------------------------------------------------------

export type Verdict = 'ok' | 'failed' | 'skipped';

export interface VerifyReport {
  ok: boolean;
  archives: number;
  messages: number;
  dataBytes: number;
  indexBytes: number;
  checks: {
    /** `index` decodes. */
    index: Verdict;
    /** Every archive decodes. */
    decode: Verdict;
    /** Padding bytes are zeros, size - padding >= 0, and (with a torrent) sizes follow the rule. */
    padding: Verdict;
    /** Offsets contiguous from 0 and the last offset + size = length of `data`. */
    contiguity: Verdict;
    /** Piece hashes of data + index against the torrent. */
    pieces: Verdict;
  };
  /** One line per problem found. */
  problems: string[];
}

/** Checks a community folder: decoding, padding, contiguity, and piece hashes against the torrent. */
export function verifyCommunityFolder(
  fs: FileSystem,
  folder: string,
  torrentBytes?: Uint8Array,
  codec?: ArchiveCodec,
): VerifyReport {
  const dPath = dataPath(folder);
  const iPath = indexPath(folder);
  const report: VerifyReport = {
    ok: false,
    archives: 0,
    messages: 0,
    dataBytes: fs.exists(dPath) ? fs.size(dPath) : 0,
    indexBytes: fs.exists(iPath) ? fs.size(iPath) : 0,
    checks: {
      index: 'skipped',
      decode: 'skipped',
      padding: 'skipped',
      contiguity: 'skipped',
      pieces: 'skipped',
    },
    problems: [],
  };
  const fail = (check: keyof VerifyReport['checks'], problem: string) => {
    report.checks[check] = 'failed';
    report.problems.push(problem);
  };
  let torrent: ParsedTorrent | undefined;
  if (torrentBytes) {
    try {
      torrent = parseTorrentFile(torrentBytes);
    } catch (error) {
      fail('pieces', `torrent: ${(error as Error).message}`);
    }
  }
  let index: WakuMessageArchiveIndex | undefined;
  try {
    index = readIndex(fs, folder, codec);
    report.checks.index = fs.exists(iPath) ? 'ok' : 'failed';
    if (!fs.exists(iPath)) report.problems.push(`${iPath}: missing`);
  } catch (error) {
    fail('index', (error as Error).message);
  }
  if (index) {
    const entries = [...index.archives].sort(([, a], [, b]) => a.offset - b.offset);
    report.archives = entries.length;
    report.checks.decode = 'ok';
    report.checks.padding = 'ok';
    report.checks.contiguity = 'ok';
    let expected = 0;
    for (const [id, m] of entries) {
      if (m.offset !== expected)
        fail('contiguity', `archive ${id} at offset ${m.offset}, expected ${expected}`);
      expected = m.offset + m.size;
      if (m.padding > m.size) {
        fail('padding', `archive ${id}: padding ${m.padding} > size ${m.size}`);
        continue;
      }
      if (torrent) {
        const P = torrent.pieceLength;
        const raw = m.size - m.padding;
        const okSize =
          m.size % P === 0 && m.size >= P && (m.padding < P || (m.padding === P && raw % P === 0));
        if (!okSize)
          fail(
            'padding',
            `archive ${id}: size ${m.size} / padding ${m.padding} break the padding rule for P = ${P}`,
          );
      }
      if (m.offset + m.size <= report.dataBytes && m.padding > 0) {
        const pad = fs.readRange(dPath, m.offset + m.size - m.padding, m.padding);
        if (pad.some((x) => x !== 0)) fail('padding', `archive ${id}: padding bytes are not zeros`);
      }
      try {
        report.messages += readArchiveMessages(fs, folder, m, codec).messages.length;
      } catch (error) {
        if (error instanceof MissingKeyError) fail('decode', `archive ${id}: ${error.message}`);
        else fail('decode', `archive ${id}: ${(error as Error).message}`);
      }
    }
    if (expected !== report.dataBytes) {
      fail('contiguity', `${dPath}: ${report.dataBytes} bytes, the index describes ${expected}`);
    }
  }
  if (torrent) {
    const problems = checkPieces(fs, folder, torrent);
    if (problems.length > 0) for (const p of problems) fail('pieces', p);
    else report.checks.pieces = 'ok';
  }
  report.ok = Object.values(report.checks).every((v) => v !== 'failed');
  return report;
}

/** Problems of the folder's files against a torrent's files and piece hashes. */
function checkPieces(fs: FileSystem, folder: string, torrent: ParsedTorrent): string[] {
  const problems: string[] = [];
  const P = torrent.pieceLength;
  const total = torrent.files.reduce((n, f) => n + f.length, 0);
  for (const f of torrent.files) {
    const path = `${folder}/${f.path}`;
    const size = fs.exists(path) ? fs.size(path) : -1;
    if (size !== f.length)
      problems.push(`${path}: ${size < 0 ? 'missing' : `${size} bytes`}, the torrent says ${f.length}`);
  }
  if (problems.length > 0) return problems;
  const readAt = (at: number, length: number): Uint8Array => {
    const parts: Uint8Array[] = [];
    for (const f of torrent.files) {
      const a = Math.max(at, f.offset);
      const b = Math.min(at + length, f.offset + f.length);
      if (a < b) parts.push(fs.readRange(`${folder}/${f.path}`, a - f.offset, b - a));
    }
    return concatChunks(parts, length);
  };
  let bad = 0;
  for (let p = 0; p < torrent.pieceHashes.length; p++) {
    const bytes = readAt(p * P, Math.min(P, total - p * P));
    const h = hash('sha1', bytes, 'buffer');
    if (Buffer.compare(h, torrent.pieceHashes[p]!) !== 0) {
      if (bad++ < 5) problems.push(`piece ${p}: SHA-1 differs from the torrent`);
    }
  }
  if (bad > 5) problems.push(`${bad} pieces differ in all`);
  return problems;
}
