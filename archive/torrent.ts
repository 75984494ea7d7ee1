// The torrent of a community folder (protocol.md §4): the info dictionary holds exactly
// {files [data, index], name, piece length, pieces}, so the info-hash is reproducible from
// the two files; trackers, creation date and "created by" live outside it. Magnet links.
//
// Outside the info dictionary the reference writes (docs/reference-wire.md §5): an
// `announce-list` of one tracker per tier and no single `announce`, `created by` = the
// writing node's identity key, uncompressed, in 0x-hex, and `creation date` = the time of
// writing. Its magnets are `magnet:?xt=urn:btih:<hash>&dn=<name>&tr=<tracker>…` with the
// trackers URL-encoded, in announce-list order.

import { createHash } from 'node:crypto';
import { checkBencode, decodeBencode, encodeBencode } from './bencode.ts';
import { TorrentFormatError } from './errors.ts';
import { magnetLink } from './magnet.ts';

export interface TorrentFile {
  /** One path component (`data`, `index`). */
  path: string;
  length: number;
  /** Byte offset of the file in the concatenation of the files. */
  offset: number;
}

export interface ParsedTorrent {
  /** 40 lowercase hex digits. */
  infoHash: string;
  name: string;
  pieceLength: number;
  /** SHA-1 of each piece, 20 bytes each, concatenated (a view on the file's bytes). */
  pieces: Uint8Array;
  /** The same, one view per piece (made on first use: a year of archives is 10,000 pieces). */
  readonly pieceHashes: Uint8Array[];
  files: TorrentFile[];
  /** The bencoded info dictionary exactly as in the file (its SHA-1 is the info-hash). */
  infoDict: Uint8Array;
  trackers: string[];
  createdBy?: string;
  creationDate?: number;
}

export interface TorrentInput {
  name: string;
  pieceLength: number;
  /** In torrent order (sorted by path: `data`, then `index`). */
  files: { path: string; length: number }[];
  /** Concatenated SHA-1 of the pieces. */
  pieces: Uint8Array;
  trackers?: string[];
  createdBy?: string;
  /** Unix seconds. */
  creationDate?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The two public trackers the reference puts in every announce-list, in its order. */
export const REFERENCE_TRACKERS: readonly string[] = Object.freeze([
  'udp://tracker.opentrackr.org:1337/announce',
  'udp://tracker.openbittorrent.com:6969/announce',
]);

/** The bencoded info dictionary. */
export function encodeInfoDict(
  t: Pick<TorrentInput, 'name' | 'pieceLength' | 'files' | 'pieces'>,
): Uint8Array {
  return encodeBencode({
    files: t.files.map((f) => ({ length: f.length, path: [f.path] })),
    name: t.name,
    'piece length': t.pieceLength,
    pieces: t.pieces,
  });
}

/** The `.torrent` file. */
export function buildTorrentFile(t: TorrentInput): Uint8Array {
  return buildTorrent(t).bytes;
}

/** The `.torrent` file and its info-hash (the SHA-1 of the info dictionary written in it). */
export function buildTorrent(t: TorrentInput): { bytes: Uint8Array; infoHash: string } {
  const info = encodeInfoDict(t);
  const top: Record<string, unknown> = {};
  const trackers = t.trackers ?? [];
  if (trackers.length > 0) top['announce-list'] = trackers.map((tr) => [tr]);
  if (t.createdBy !== undefined) top['created by'] = t.createdBy;
  if (t.creationDate !== undefined) top['creation date'] = t.creationDate;
  // The info dictionary is spliced in as bytes so that it is exactly the one hashed.
  const rest = encodeBencode(top);
  const key = new TextEncoder().encode('4:info');
  // Keys are sorted: "info" sorts after "announce*", "created by" and "creation date".
  const out = new Uint8Array(rest.length + key.length + info.length);
  out.set(rest.subarray(0, rest.length - 1), 0);
  out.set(key, rest.length - 1);
  out.set(info, rest.length - 1 + key.length);
  out[out.length - 1] = 0x65; // 'e'
  return { bytes: out, infoHash: sha1Hex(info) };
}

export function sha1Hex(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

// --- parsing ------------------------------------------------------------------------

/** End of the bencoded value starting at `pos` (a structural skip, no decoding). */
function skipValue(buf: Uint8Array, pos: number): number {
  try {
    return checkBencode(buf, pos);
  } catch (error) {
    throw new TorrentFormatError((error as Error).message);
  }
}

/** Byte span of the `info` value in a top-level dictionary. */
function infoSpan(buf: Uint8Array): [number, number] {
  if (buf[0] !== 0x64) throw new TorrentFormatError('not a bencoded dictionary');
  let p = 1;
  while (buf[p] !== 0x65) {
    if (p >= buf.length) throw new TorrentFormatError('truncated dictionary');
    const keyEnd = skipValue(buf, p);
    const valueEnd = skipValue(buf, keyEnd);
    const key = buf.subarray(p, keyEnd);
    if (key.length === 6 && new TextDecoder().decode(key) === '4:info') return [keyEnd, valueEnd];
    p = valueEnd;
  }
  throw new TorrentFormatError('no info dictionary');
}

function isDict(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

function text(v: unknown, what: string): string {
  if (!(v instanceof Uint8Array)) throw new TorrentFormatError(`${what} is missing or not a string`);
  try {
    return utf8.decode(v);
  } catch {
    throw new TorrentFormatError(`${what} is not UTF-8`);
  }
}

function count(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw new TorrentFormatError(`${what} is missing or not a non-negative integer`);
  }
  return v;
}

/**
 * The security rule for names coming from the network: one path component, not absolute,
 * no `..`, no separators, so a torrent can only write inside its own folder.
 */
export function checkPathComponent(component: string, what: string): string {
  if (component === '' || component === '.' || component.includes('..') || /[/\\:\0]/.test(component)) {
    throw new TorrentFormatError(`${what} ${JSON.stringify(component)} is not a plain file name`);
  }
  return component;
}

export function parseTorrentFile(bytes: Uint8Array): ParsedTorrent {
  const [a, b] = infoSpan(bytes);
  const infoDict = bytes.subarray(a, b);
  let top: unknown;
  let info: unknown;
  try {
    top = decodeBencode(bytes);
    info = decodeBencode(infoDict);
  } catch (error) {
    throw new TorrentFormatError(`bad bencode: ${error instanceof Error ? error.message : error}`);
  }
  if (!isDict(top) || !isDict(info)) throw new TorrentFormatError('info is not a dictionary');
  const name = checkPathComponent(text(info.name, 'name'), 'name');
  const pieceLength = count(info['piece length'], 'piece length');
  if (pieceLength === 0) throw new TorrentFormatError('piece length is 0');
  const pieces = info.pieces;
  if (!(pieces instanceof Uint8Array) || pieces.length % 20 !== 0) {
    throw new TorrentFormatError('pieces is missing or not a multiple of 20 bytes');
  }
  const files: TorrentFile[] = [];
  let offset = 0;
  if (info.files !== undefined) {
    if (!Array.isArray(info.files)) throw new TorrentFormatError('files is not a list');
    for (const [i, f] of info.files.entries()) {
      if (!isDict(f)) throw new TorrentFormatError(`files[${i}] is not a dictionary`);
      const length = count(f.length, `files[${i}].length`);
      if (!Array.isArray(f.path)) throw new TorrentFormatError(`files[${i}].path is not a list`);
      if (f.path.length !== 1) {
        throw new TorrentFormatError(`files[${i}].path has ${f.path.length} components, expected 1`);
      }
      const path = checkPathComponent(text(f.path[0], `files[${i}].path`), `files[${i}].path`);
      files.push({ path, length, offset });
      offset += length;
    }
  } else {
    const length = count(info.length, 'length');
    files.push({ path: name, length, offset: 0 });
    offset = length;
  }
  const expectedPieces = Math.ceil(offset / pieceLength);
  if (pieces.length / 20 !== expectedPieces) {
    throw new TorrentFormatError(
      `${pieces.length / 20} piece hashes for ${offset} bytes, expected ${expectedPieces}`,
    );
  }
  let pieceHashes: Uint8Array[] | undefined;
  const trackers: string[] = [];
  const list = top['announce-list'];
  if (Array.isArray(list)) {
    for (const tier of list)
      if (Array.isArray(tier))
        for (const t of tier) if (t instanceof Uint8Array) trackers.push(text(t, 'announce-list'));
  } else if (top.announce instanceof Uint8Array) {
    trackers.push(text(top.announce, 'announce'));
  }
  const parsed: ParsedTorrent = {
    infoHash: sha1Hex(infoDict),
    name,
    pieceLength,
    pieces,
    get pieceHashes(): Uint8Array[] {
      if (!pieceHashes) {
        pieceHashes = [];
        for (let p = 0; p < pieces.length; p += 20) pieceHashes.push(pieces.subarray(p, p + 20));
      }
      return pieceHashes;
    },
    files,
    infoDict,
    trackers,
  };
  if (top['created by'] instanceof Uint8Array) parsed.createdBy = text(top['created by'], 'created by');
  if (typeof top['creation date'] === 'number') parsed.creationDate = top['creation date'];
  return parsed;
}

// --- magnet links -------------------------------------------------------------------

/** Magnet link of a `.torrent` file; its own trackers unless `trackers` is given. */
export function magnetFromTorrent(bytes: Uint8Array, trackers?: string[]): string {
  const t = parseTorrentFile(bytes);
  return magnetLink(t.infoHash, t.name, trackers ?? t.trackers);
}
