// What the torrent client accepts from untrusted input: magnet links (info-hash, `dn`,
// `x.pe` peers) and info dictionaries received from peers. An info dictionary must describe
// a folder torrent whose name is one plain path component (equal to the magnet's `dn` or the
// announcing community when known) and whose file paths stay inside that folder; anything
// else is refused with a TorrentRefused error before any file is opened.

import { type Magnet, parseMagnet as parseArchiveMagnet, TorrentFormatError } from '../../archive/index.ts';

/** A torrent or magnet refused for what it says (untrusted input), with a clear reason. */
export class TorrentRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorrentRefused';
  }
}

export class TorrentRemoved extends Error {
  constructor(infoHash: string) {
    super(`torrent ${infoHash} was removed or the client stopped`);
    this.name = 'TorrentRemoved';
  }
}

export interface ParsedMagnet {
  infoHash: string;
  name?: string;
  peers: string[];
}

/**
 * The project's one magnet parser (archive/magnet.ts) with the client's error type: throws
 * TorrentRefused when the link is malformed or ambiguous (two `xt`, two `dn`, …).
 */
export function parseMagnet(uri: string): ParsedMagnet {
  let magnet: Magnet;
  try {
    magnet = parseArchiveMagnet(uri);
  } catch (err) {
    if (err instanceof TorrentFormatError) throw new TorrentRefused(err.message);
    throw err;
  }
  const { infoHash, name, peers } = magnet;
  return name !== undefined ? { infoHash, name, peers } : { infoHash, peers };
}

const SAFE_COMPONENT = /^[^/\\\0]+$/;

function isSafeComponent(c: string): boolean {
  return SAFE_COMPONENT.test(c) && c !== '.' && c !== '..';
}

function text(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (v instanceof Uint8Array) return new TextDecoder('utf-8', { fatal: false }).decode(v);
  return undefined;
}

/**
 * Checks a raw (bencode-decoded) info dictionary: a folder torrent whose name is one plain
 * path component and whose file paths stay inside it. Returns the folder name.
 */
export function checkInfoDictionary(info: unknown, expectedName?: string): string {
  if (typeof info !== 'object' || info === null) throw new TorrentRefused('torrent has no info dictionary');
  const dict = info as Record<string, unknown>;
  const names = [text(dict.name), text(dict['name.utf-8'])].filter((n) => n !== undefined);
  if (names.length === 0) throw new TorrentRefused('torrent info dictionary has no name');
  for (const n of names) {
    if (!isSafeComponent(n))
      throw new TorrentRefused(`torrent folder name ${JSON.stringify(n)} is not a plain folder name`);
  }
  const name = text(dict['name.utf-8']) ?? text(dict.name)!;
  if (expectedName !== undefined && names.some((n) => n !== expectedName)) {
    throw new TorrentRefused(
      `torrent folder name ${JSON.stringify(name)} does not match the expected ${JSON.stringify(expectedName)} (magnet for another torrent?)`,
    );
  }
  if (!Array.isArray(dict.files))
    throw new TorrentRefused(`torrent ${name} is a single-file torrent, not a community folder`);
  for (const f of dict.files as unknown[]) {
    const file = (f ?? {}) as Record<string, unknown>;
    for (const key of ['path', 'path.utf-8']) {
      const p = file[key];
      if (p === undefined) continue;
      if (!Array.isArray(p) || p.length === 0)
        throw new TorrentRefused(`torrent ${name}: a file has an empty ${key}`);
      const parts = p.map(text);
      if (parts.some((c) => c === undefined || !isSafeComponent(c))) {
        throw new TorrentRefused(
          `torrent ${name}: file path ${JSON.stringify(parts.join('/'))} leaves the community folder`,
        );
      }
    }
    if (file.path === undefined && file['path.utf-8'] === undefined) {
      throw new TorrentRefused(`torrent ${name}: a file has no path`);
    }
  }
  return name;
}
