// Magnet links (protocol.md §4): the project's one parser and one encoder, on `magnet-uri`.
// The simulated torrent client, the scenario runner, the real webtorrent client and the
// real node's host-side guard all read a link here, so no two parts of the project can
// disagree on which torrent a link names.
//
// `magnet-uri` is lenient where a link from the network must not be: it takes the first 40
// characters of a longer `xt` value and any 40 characters as hex, keeps the last of several
// `xt`, and throws a bare URIError on bad percent-encoding. Here a link names exactly one
// BitTorrent v1 info-hash and at most one folder name, or it is refused with a
// TorrentFormatError saying why: a link that could be read two ways is not read at all.

import { decode as decodeMagnet, encode as encodeMagnet } from 'magnet-uri';
import { TorrentFormatError } from './errors.ts';

export interface Magnet {
  /** 40 lowercase hex digits. */
  infoHash: string;
  /** `dn`, when given: the torrent's folder name (a community id). */
  name?: string;
  /** Direct peers (`x.pe=host:port`); malformed ones are left out. */
  peers: string[];
  trackers: string[];
}

const PREFIX = 'magnet:?';
const BTIH = 'urn:btih:';
const HEX40 = /^[0-9a-fA-F]{40}$/;
const BASE32_32 = /^[A-Za-z2-7]{32}$/;
const PEER = /^[^\s/]+:\d{1,5}$/;

const excerpt = (uri: string): string => uri.slice(0, 80);

function single(value: unknown, key: string, uri: string): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) {
    throw new TorrentFormatError(`ambiguous magnet link: ${value.length} ${key} parameters: ${excerpt(uri)}`);
  }
  return String(value);
}

/** Parses a magnet link; throws TorrentFormatError naming what is wrong. */
export function parseMagnet(uri: string): Magnet {
  if (typeof uri !== 'string' || !uri.startsWith(PREFIX)) {
    throw new TorrentFormatError(`not a magnet link: ${excerpt(String(uri))}`);
  }
  // magnet-uri reads what follows the first "magnet:?" up to the next one.
  if (uri.indexOf(PREFIX, PREFIX.length) >= 0) {
    throw new TorrentFormatError(`ambiguous magnet link: "magnet:?" appears twice: ${excerpt(uri)}`);
  }
  let decoded: ReturnType<typeof decodeMagnet>;
  try {
    decoded = decodeMagnet(uri);
  } catch (error) {
    throw new TorrentFormatError(
      `magnet link is not percent-encoded correctly (${(error as Error).message}): ${excerpt(uri)}`,
    );
  }
  const xt = single(decoded.xt, 'xt', uri);
  if (xt === undefined || !xt.startsWith(BTIH)) {
    throw new TorrentFormatError(
      `magnet link has no BitTorrent info-hash (xt=urn:btih:...): ${excerpt(uri)}`,
    );
  }
  const value = xt.slice(BTIH.length);
  if (!HEX40.test(value) && !BASE32_32.test(value)) {
    throw new TorrentFormatError(
      `magnet link info-hash "${value.slice(0, 48)}" is not 40 hex digits or 32 base32 characters`,
    );
  }
  // For a well-formed value, magnet-uri's own reading is the whole value: hex lowercased,
  // base32 decoded (either case).
  const infoHash = decoded.infoHash;
  if (typeof infoHash !== 'string' || !/^[0-9a-f]{40}$/.test(infoHash)) {
    throw new TorrentFormatError(`magnet link info-hash "${value}" does not decode: ${excerpt(uri)}`);
  }
  const name = single(decoded.dn, 'dn', uri);
  const peers = (decoded.peerAddresses as unknown[] | undefined) ?? [];
  const magnet: Magnet = {
    infoHash,
    peers: peers.filter((p): p is string => typeof p === 'string' && PEER.test(p)),
    trackers: (decoded.announce ?? []).filter((t): t is string => typeof t === 'string'),
  };
  if (name !== undefined) magnet.name = name;
  return magnet;
}

/** The info-hash (40 lowercase hex) of a magnet link; throws TorrentFormatError. */
export function infoHashFromMagnet(uri: string): string {
  return parseMagnet(uri).infoHash;
}

/** `magnet:?xt=urn:btih:<info-hash>&dn=<name>&tr=<tracker>...&x.pe=<host:port>...` */
export function magnetLink(
  infoHash: string,
  name: string,
  trackers: string[] = [],
  peers: string[] = [],
): string {
  return encodeMagnet({
    xt: `${BTIH}${infoHash}`,
    ...(name !== '' ? { dn: name } : {}),
    ...(trackers.length > 0 ? { tr: trackers } : {}),
    ...(peers.length > 0 ? { 'x.pe': peers } : {}),
  });
}
