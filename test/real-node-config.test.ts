// The real node's configuration of its identity and the reference wire (protocol.md §12):
// nodeKey, installationId, the torrents' announce-list and the bare-magnetlink switch; and the
// content store section with the distribution backends (host/content-config.ts).
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

describe('real node config: the content store and the backends', () => {
  test('no content store and the torrent backend alone by default', () => {
    const r = parseRealNodeConfig(base);
    expect(r.ok && [r.config.content, r.config.archiveBackends]).toEqual([undefined, undefined]);
  });

  test('a content section takes defaults for all but its folder', () => {
    const peer = '/ip4/127.0.0.1/tcp/60001/p2p/12D3KooWGRUVh4fHdbnxEVpAUEkvLtE8WjZVdrzrjqYBFoNhJ7cK';
    const r = parseRealNodeConfig({ ...base, archiveBackends: 'both', content: { dir: 'c', peers: [peer] } });
    expect(r.ok && r.config.content).toEqual({ host: '127.0.0.1', port: 0, peers: [peer], dir: 'c' });
  });

  test('the cid backend, from the top level or from options, needs a content section', () => {
    for (const cfg of [{ archiveBackends: 'cid' }, { options: { archiveBackends: 'both' } }])
      expect(parseRealNodeConfig({ ...base, ...cfg })).toEqual({
        ok: false,
        error: expect.stringMatching(/^content: required with archiveBackends (cid|both) /),
      });
  });

  test('bad backends, a content peer without its peer id, a missing folder: one line per field', () => {
    expect(parseRealNodeConfig({ ...base, options: { archiveBackends: 'ipfs' } })).toEqual({
      ok: false,
      error: 'options.archiveBackends: expected one of torrent, cid, both',
    });
    const r = parseRealNodeConfig({
      ...base,
      archiveBackends: 'cid',
      content: { peers: ['/ip4/127.0.0.1/tcp/5'], prt: 1 },
    });
    expect(r.ok ? [] : r.error.split('\n').sort()).toEqual([
      'content.dir: Invalid input: expected string, received undefined',
      'content.peers[0]: "/ip4/127.0.0.1/tcp/5" is not a multiaddr like /ip4/127.0.0.1/tcp/60001/p2p/12D3Koo… (no /p2p/<peer id>)',
      'content.prt: unknown field',
    ]);
    expect(parseRealNodeConfig({ ...base, archiveBackends: 'ipfs' }).ok).toBe(false);
  });
});
