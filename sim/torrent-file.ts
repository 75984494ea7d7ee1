// Just enough of the .torrent format for the simulator: read the info dictionary of a
// multi-file torrent and its info-hash, build one from files (tests, benchmarks), and the
// magnet links of protocol.md §4. A small local bencode keeps this free of untyped
// packages; the swarm only calls `parseTorrentFile`, `infoHashFromMagnet` and
// `magnetFor`, so swapping in the archive module's versions is a one-line change.

import { createHash } from 'node:crypto';

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

type BValue = number | Uint8Array | string | BValue[] | { [k: string]: BValue };

const enc = new TextEncoder();
const dec = new TextDecoder();

export function bencode(v: BValue): Uint8Array {
  const parts: Uint8Array[] = [];
  const put = (s: string) => parts.push(enc.encode(s));
  const walk = (x: BValue): void => {
    if (typeof x === 'number') {
      if (!Number.isSafeInteger(x)) throw new RangeError(`bencode: ${x} is not an integer`);
      put(`i${x}e`);
    } else if (typeof x === 'string') {
      const b = enc.encode(x);
      put(`${b.length}:`);
      parts.push(b);
    } else if (x instanceof Uint8Array) {
      put(`${x.length}:`);
      parts.push(x);
    } else if (Array.isArray(x)) {
      put('l');
      for (const y of x) walk(y);
      put('e');
    } else {
      put('d');
      // Keys sorted as raw byte strings (ASCII keys here, so string order is byte order).
      for (const k of Object.keys(x).sort()) {
        walk(k);
        walk(x[k] as BValue);
      }
      put('e');
    }
  };
  walk(v);
  return Buffer.concat(parts);
}

interface Decoded {
  value: BValue;
  end: number;
}

/** Decode one value at `pos`; strings stay bytes. Throws on malformed input. */
function bdecode(buf: Uint8Array, pos: number, depth = 0): Decoded {
  if (depth > 64) throw new Error('bencode: nested too deep');
  const c = buf[pos];
  if (c === undefined) throw new Error('bencode: truncated');
  if (c === 0x69) {
    const end = buf.indexOf(0x65, pos);
    if (end < 0) throw new Error('bencode: unterminated integer');
    const n = Number(dec.decode(buf.subarray(pos + 1, end)));
    if (!Number.isSafeInteger(n)) throw new Error('bencode: bad integer');
    return { value: n, end: end + 1 };
  }
  if (c === 0x6c || c === 0x64) {
    const isDict = c === 0x64;
    const list: BValue[] = [];
    const dict: { [k: string]: BValue } = {};
    let p = pos + 1;
    while (buf[p] !== 0x65) {
      if (p >= buf.length) throw new Error('bencode: unterminated container');
      if (isDict) {
        const k = bdecode(buf, p, depth + 1);
        if (!(k.value instanceof Uint8Array)) throw new Error('bencode: dictionary key is not a string');
        const v = bdecode(buf, k.end, depth + 1);
        dict[dec.decode(k.value)] = v.value;
        p = v.end;
      } else {
        const v = bdecode(buf, p, depth + 1);
        list.push(v.value);
        p = v.end;
      }
    }
    return { value: isDict ? dict : list, end: p + 1 };
  }
  if (c >= 0x30 && c <= 0x39) {
    const colon = buf.indexOf(0x3a, pos);
    if (colon < 0) throw new Error('bencode: bad string length');
    const len = Number(dec.decode(buf.subarray(pos, colon)));
    if (!Number.isSafeInteger(len) || colon + 1 + len > buf.length)
      throw new Error('bencode: truncated string');
    return { value: buf.subarray(colon + 1, colon + 1 + len), end: colon + 1 + len };
  }
  throw new Error(`bencode: unexpected byte ${c} at ${pos}`);
}

/** Byte span of the value of key `info` in the top-level dictionary. */
function infoSpan(buf: Uint8Array): [number, number] {
  if (buf[0] !== 0x64) throw new Error('torrent: not a dictionary');
  let p = 1;
  while (buf[p] !== 0x65) {
    if (p >= buf.length) throw new Error('torrent: truncated');
    const k = bdecode(buf, p);
    const v = bdecode(buf, k.end);
    if (k.value instanceof Uint8Array && dec.decode(k.value) === 'info') return [k.end, v.end];
    p = v.end;
  }
  throw new Error('torrent: no info dictionary');
}

function str(v: BValue | undefined, what: string): string {
  if (!(v instanceof Uint8Array)) throw new Error(`torrent: ${what} missing`);
  return dec.decode(v);
}

export function parseTorrentFile(bytes: Uint8Array): ParsedTorrent {
  const [a, b] = infoSpan(bytes);
  const infoBytes = bytes.subarray(a, b);
  const info = bdecode(infoBytes, 0).value;
  if (typeof info !== 'object' || info instanceof Uint8Array || Array.isArray(info)) {
    throw new Error('torrent: info is not a dictionary');
  }
  const name = str(info.name, 'name');
  const pieceLength = info['piece length'];
  if (typeof pieceLength !== 'number' || pieceLength <= 0) throw new Error('torrent: bad piece length');
  const pieces = info.pieces;
  if (!(pieces instanceof Uint8Array) || pieces.length % 20 !== 0) throw new Error('torrent: bad pieces');
  const files: ParsedTorrent['files'] = [];
  let offset = 0;
  if (Array.isArray(info.files)) {
    for (const f of info.files) {
      if (typeof f !== 'object' || f instanceof Uint8Array || Array.isArray(f))
        throw new Error('torrent: bad file');
      const length = f.length;
      if (typeof length !== 'number' || length < 0) throw new Error('torrent: bad file length');
      if (!Array.isArray(f.path) || f.path.length === 0) throw new Error('torrent: bad file path');
      const path = f.path.map((p) => str(p, 'path element')).join('/');
      files.push({ path, length, offset });
      offset += length;
    }
  } else if (typeof info.length === 'number') {
    files.push({ path: name, length: info.length, offset: 0 });
    offset = info.length;
  } else {
    throw new Error('torrent: neither files nor length');
  }
  if (Math.ceil(offset / pieceLength) !== pieces.length / 20)
    throw new Error('torrent: piece count does not match length');
  return {
    infoHash: createHash('sha1').update(infoBytes).digest('hex'),
    name,
    pieceLength,
    pieceHashes: pieces,
    files,
    infoLength: infoBytes.length,
  };
}

/**
 * Build a multi-file torrent (files in the given order, which protocol.md §4 wants sorted
 * by path). Returns the .torrent bytes.
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
      const f = files[fi]!.bytes;
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
    while (fi < files.length && files[fi]!.bytes.length === 0) fi++;
  }
  const info = {
    files: files.map((f) => ({ length: f.bytes.length, path: f.path.split('/') })),
    name,
    'piece length': pieceLength,
    pieces,
  };
  return bencode({ 'creation date': 0, info });
}

export function magnetFor(infoHash: string, name: string): string {
  return `magnet:?xt=urn:btih:${infoHash}&dn=${encodeURIComponent(name)}`;
}

/** The info-hash (lowercase hex) of a magnet link; throws on anything else. */
export function infoHashFromMagnet(uri: string): string {
  const m = /[?&]xt=urn:btih:([0-9a-fA-F]{40})(?:&|$)/.exec(uri);
  if (!m?.[1]) throw new Error(`not a BitTorrent v1 magnet link: ${uri.slice(0, 80)}`);
  return m[1].toLowerCase();
}
