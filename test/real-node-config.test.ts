// The real node's configuration of its identity and the reference wire (protocol.md §12):
// nodeKey, installationId, the torrents' announce-list and the bare-magnetlink switch.
import { describe, expect, test } from 'vitest';
import { REFERENCE_TRACKERS } from '../archive/index.ts';
import { parseRealNodeConfig } from '../host/real-node.ts';

const base = { dataDir: 'd', torrentDir: 't', database: 'n.db' };

describe('real node config: identity and wire', () => {
  test("defaults: the reference's trackers, bare magnetlinks still taken, no fixed identity", () => {
    const r = parseRealNodeConfig(base);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.torrent.announceList).toEqual(REFERENCE_TRACKERS);
    expect(r.config.messaging.acceptBareMagnetlinks).toBe(true);
    expect(r.config.nodeKey).toBeUndefined();
  });

  test('nodeKey, installationId, an empty announce-list and strict magnetlinks are taken', () => {
    const r = parseRealNodeConfig({
      ...base,
      nodeKey: 'ab'.repeat(32),
      installationId: 'device-1',
      torrent: { announceList: [] },
      messaging: { acceptBareMagnetlinks: false },
    });
    expect(
      r.ok && [
        r.config.nodeKey,
        r.config.installationId,
        r.config.torrent.announceList,
        r.config.messaging.acceptBareMagnetlinks,
      ],
    ).toEqual(['ab'.repeat(32), 'device-1', [], false]);
  });

  test('a malformed nodeKey is refused naming the field', () => {
    expect(parseRealNodeConfig({ ...base, nodeKey: 'xyz' })).toEqual({
      ok: false,
      error: 'nodeKey: expected 64 hex digits',
    });
  });
});
