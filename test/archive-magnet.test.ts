// One magnet parser for the whole project (archive/magnet.ts, on `magnet-uri`): the
// simulated torrent client, the scenario runner and the real BitTorrent client read a link
// the same way, and a link that could be read two ways (two `xt`, two `dn`) is refused.
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { parseMagnet as realParseMagnet, TorrentRefused } from '../adapters/real/torrent-checks.ts';
import { infoHashFromMagnet, magnetLink, parseMagnet, TorrentFormatError } from '../archive/index.ts';

const HASH = 'ab'.repeat(20);
const BASE32 = 'VOV2XK5LVOV2XK5LVOV2XK5LVOV2XK5L'; // the same 20 bytes

/** What a parser makes of a link: its info-hash, or that it refused it. */
function outcome(parse: (uri: string) => string, uri: string): string {
  try {
    return parse(uri);
  } catch (error) {
    if (error instanceof TorrentFormatError || error instanceof TorrentRefused) return 'refused';
    throw error;
  }
}

// Links built from the pieces the parsers used to read differently: case, length and
// alphabet of the hash, percent-encoding, repeated and malformed parameters.
const hexDigit = fc.constantFrom(...'0123456789abcdefABCDEF');
const hashValue = fc.oneof(
  fc.string({ unit: hexDigit, minLength: 38, maxLength: 42 }),
  fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcdz'),
    minLength: 31,
    maxLength: 33,
  }),
  fc.constant('g'.repeat(40)),
  fc.constant(HASH),
  fc.constant(BASE32),
);
const xtValue = fc.oneof(
  hashValue.map((h) => `urn:btih:${h}`),
  hashValue.map((h) => `URN:BTIH:${h}`),
  hashValue.map((h) => `urn%3Abtih%3A${h}`),
  hashValue.map((h) => `urn:btmh:1220${h}${h}`),
  fc.string({ maxLength: 12 }),
);
const param = fc.oneof(
  xtValue.map((v) => `xt=${v}`),
  fc.constantFrom(
    'dn=c',
    'dn=%zz',
    'dn=a+b',
    'x.pe=127.0.0.1:6881',
    'tr=udp%3A%2F%2Ft',
    'xt',
    'xt=a=b',
    '=',
    '',
  ),
  fc.string({ maxLength: 8 }),
);
const magnetish = fc
  .tuple(
    fc.constantFrom('magnet:?', 'MAGNET:?', 'stream-magnet:?', 'magnet:', 'x magnet:?', ''),
    fc.array(param, { maxLength: 4 }),
    fc.constantFrom('&', ';'),
  )
  .map(([prefix, params, sep]) => prefix + params.join(sep));

describe('one magnet parser', () => {
  test.prop([magnetish], { numRuns: 5000 })(
    'the archive format and the real torrent client read every link the same way',
    (uri) => {
      const real = outcome((u) => realParseMagnet(u).infoHash, uri);
      expect(real).toBe(outcome(infoHashFromMagnet, uri));
    },
  );

  test.prop([magnetish], { numRuns: 5000 })(
    'an accepted link has one 40-hex info-hash and round-trips',
    (uri) => {
      let parsed: ReturnType<typeof parseMagnet>;
      try {
        parsed = parseMagnet(uri);
      } catch (error) {
        expect(error).toBeInstanceOf(TorrentFormatError);
        return;
      }
      expect(parsed.infoHash).toMatch(/^[0-9a-f]{40}$/);
      const again = parseMagnet(magnetLink(parsed.infoHash, parsed.name ?? '', [], parsed.peers));
      expect(again.infoHash).toBe(parsed.infoHash);
      expect(again.peers).toEqual(parsed.peers);
    },
  );

  it('refuses ambiguous links: two xt, or two names', () => {
    const other = 'cd'.repeat(20);
    for (const uri of [
      `magnet:?xt=urn:btih:${HASH}&xt=urn:btih:${other}`,
      `magnet:?xt=urn:btih:${HASH}&xt=urn:btih:${HASH}`,
      `magnet:?xt=urn:btih:${HASH}&xt=urn:btmh:1220${'00'.repeat(32)}`,
      `magnet:?xt=urn:btih:${HASH}&dn=a&dn=b`,
    ]) {
      expect(() => parseMagnet(uri), uri).toThrow(/ambiguous/);
      expect(() => infoHashFromMagnet(uri), uri).toThrow(TorrentFormatError);
      expect(() => realParseMagnet(uri), uri).toThrow(TorrentRefused);
    }
  });

  it('reads hex and base32 info-hashes, the name and the direct peers', () => {
    expect(parseMagnet(`magnet:?xt=urn:btih:${'AB'.repeat(20)}&dn=c&x.pe=127.0.0.1:6881&x.pe=bad`)).toEqual({
      infoHash: HASH,
      name: 'c',
      peers: ['127.0.0.1:6881'],
      trackers: [],
    });
    expect(parseMagnet(`magnet:?xt=urn:btih:${BASE32}`).infoHash).toBe(HASH);
    expect(parseMagnet(`magnet:?xt=urn:btih:${BASE32.toLowerCase()}`).infoHash).toBe(HASH);
  });

  it('refuses what is not exactly one BitTorrent v1 info-hash, naming why', () => {
    expect(() => parseMagnet('http://x')).toThrow(/not a magnet link/);
    expect(() => parseMagnet(`x magnet:?xt=urn:btih:${HASH}`)).toThrow(/not a magnet link/);
    expect(() => parseMagnet('magnet:?dn=x')).toThrow(/no BitTorrent info-hash/);
    expect(() => parseMagnet('magnet:?xt=urn:sha1:abc')).toThrow(/no BitTorrent info-hash/);
    // magnet-uri alone takes the first 40 characters of a longer value, and any 40 characters.
    expect(() => parseMagnet(`magnet:?xt=urn:btih:${HASH}0`)).toThrow(/not 40 hex digits or 32 base32/);
    expect(() => parseMagnet(`magnet:?xt=urn:btih:${'g'.repeat(40)}`)).toThrow(/not 40 hex digits/);
    expect(() => parseMagnet(`magnet:?xt=urn:btih:${HASH}&dn=%zz`)).toThrow(/not percent-encoded/);
  });
});
