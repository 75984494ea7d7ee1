// What the torrent client accepts from untrusted input: magnet links (info-hash, `dn`,
// `x.pe` peers) and info dictionaries received from peers. An info dictionary must describe
// a folder torrent whose name is one plain path component (equal to the magnet's `dn` or the
// announcing community when known) and whose file paths stay inside that folder; anything
// else is refused with a TorrentRefused error before any file is opened.

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

const HEX40 = /^[0-9a-f]{40}$/;
const BASE32_32 = /^[A-Z2-7]{32}$/;

function base32ToHex(s: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of s) bits += alphabet.indexOf(ch).toString(2).padStart(5, '0');
  let hex = '';
  for (let i = 0; i + 4 <= bits.length; i += 4) hex += Number.parseInt(bits.slice(i, i + 4), 2).toString(16);
  return hex;
}

/** Parses the parts of a magnet link this client uses; throws TorrentRefused when malformed. */
export function parseMagnet(uri: string): ParsedMagnet {
  if (!uri.startsWith('magnet:?')) throw new TorrentRefused(`not a magnet link: ${uri.slice(0, 60)}`);
  const params = new URLSearchParams(uri.slice('magnet:?'.length));
  let infoHash: string | undefined;
  for (const xt of params.getAll('xt')) {
    const m = /^urn:btih:(.+)$/i.exec(xt);
    if (!m) continue;
    const v = m[1]!;
    if (HEX40.test(v.toLowerCase())) infoHash = v.toLowerCase();
    else if (BASE32_32.test(v.toUpperCase())) infoHash = base32ToHex(v.toUpperCase());
  }
  if (!infoHash)
    throw new TorrentRefused(
      `magnet link has no BitTorrent info-hash (xt=urn:btih:...): ${uri.slice(0, 80)}`,
    );
  const peers = params.getAll('x.pe').filter((p) => /^[^\s/]+:\d{1,5}$/.test(p));
  const dn = params.get('dn');
  return dn ? { infoHash, name: dn, peers } : { infoHash, peers };
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
