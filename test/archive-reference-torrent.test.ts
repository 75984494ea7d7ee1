// Torrents as the reference writes them (docs/reference-wire.md §5): a control node with the
// reference's trackers writes an announce-list of its two default trackers (and no single
// announce), `created by` = its identity key uncompressed in 0x-hex, a creation date, and
// dispatches magnets with the trackers as tr= parameters; the info-hash is the one of the
// same round written without them. Simulated runs keep no trackers (their traces hold the
// magnets), so their torrents differ only outside the info dictionary.
import { describe, expect, test } from 'vitest';
import { decodeBencode } from '../archive/bencode.ts';
import { parseTorrentFile, REFERENCE_TRACKERS, torrentPath } from '../archive/index.ts';
import { DAY } from '../machines/options.ts';
import { toHex } from '../proto/hex.ts';
import { publicKeyOf } from '../proto/signing.ts';
import { expectNoViolation, ofType, small } from './machines-helpers.ts';

async function oneRound(trackers?: readonly string[]) {
  const h = await small({
    durationMs: 8 * DAY,
    ...(trackers ? { options: { torrentTrackers: trackers } } : {}),
  });
  await h.run();
  expectNoViolation(h);
  const { fs, torrentDir, keys } = h.owner.adapters;
  const bytes = fs.read(torrentPath(torrentDir, h.communityId));
  return { h, bytes, torrent: parseTorrentFile(bytes), keys };
}

describe('torrents as the reference writes them', () => {
  test("announce-list of the reference's two trackers, created by the identity, a creation date; the same info-hash", async () => {
    const ref = await oneRound(REFERENCE_TRACKERS);
    const plain = await oneRound();
    expect(REFERENCE_TRACKERS).toEqual([
      'udp://tracker.opentrackr.org:1337/announce',
      'udp://tracker.openbittorrent.com:6969/announce',
    ]);
    const top = decodeBencode(ref.bytes) as Record<string, unknown>;
    const text = (v: unknown) => Buffer.from(v as Uint8Array).toString('utf8');
    expect(Object.keys(top).sort()).toEqual(['announce-list', 'created by', 'creation date', 'info']);
    expect((top['announce-list'] as unknown[][]).map((tier) => tier.map(text))).toEqual([
      [REFERENCE_TRACKERS[0]],
      [REFERENCE_TRACKERS[1]],
    ]);
    const identity = ref.keys.nodeIdentity();
    expect(identity.publicKey).toEqual(publicKeyOf(identity.privateKey));
    expect(ref.torrent.createdBy).toBe(toHex(identity.publicKey));
    expect(ref.torrent.createdBy).toMatch(/^0x04[0-9a-f]{128}$/);
    const round = ref.h.summary().rounds[0]!;
    expect(ref.torrent.creationDate).toBe(round.end);
    // trackers live outside the info dictionary: the info-hash is unchanged
    expect(ref.torrent.infoHash).toBe(plain.torrent.infoHash);
    expect(Buffer.from(ref.torrent.infoDict).equals(Buffer.from(plain.torrent.infoDict))).toBe(true);
    expect(plain.torrent.trackers).toEqual([]);
    // the dispatched magnet, in the reference's shape (xt, dn, then each tr URL-encoded)
    const [dispatched] = ofType(ref.h.owner, 'archive.magnetlinkDispatched');
    expect(dispatched!.magnetUri).toBe(
      `magnet:?xt=urn:btih:${ref.torrent.infoHash}&dn=${ref.h.communityId}` +
        '&tr=udp%3A%2F%2Ftracker.opentrackr.org%3A1337%2Fannounce' +
        '&tr=udp%3A%2F%2Ftracker.openbittorrent.com%3A6969%2Fannounce',
    );
    const [plainLink] = ofType(plain.h.owner, 'archive.magnetlinkDispatched');
    expect(plainLink!.magnetUri).toBe(
      `magnet:?xt=urn:btih:${plain.torrent.infoHash}&dn=${plain.h.communityId}`,
    );
    // members still download and import with the tracker-bearing magnets
    expect(ref.h.summary().members.every((m) => m.downloaded === 1)).toBe(true);
  });

  test('each simulated node has its own identity, the same in every run', async () => {
    const a = await oneRound();
    const b = await oneRound();
    expect(a.torrent.createdBy).toBe(b.torrent.createdBy);
    const members = a.h.members.map((m) => toHex(m.adapters.keys.nodeIdentity().publicKey));
    expect(new Set([a.torrent.createdBy, ...members]).size).toBe(1 + members.length);
  });
});
