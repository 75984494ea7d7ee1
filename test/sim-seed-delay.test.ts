// The simulated torrent client's seeding delay (`network.seedDelay`): `seed` resolves that
// much virtual time later, rejects when the client was stopped meanwhile, and never
// settles when the node crashed (the crash contract of every other promise).

import { describe, expect, it } from 'vitest';
import { TorrentClientStopped } from '../adapters/sim/sim-torrent.ts';
import { type SimNode, SimWorld } from '../adapters/sim/world.ts';
import { buildTorrentFile, parseTorrentFile } from '../sim/torrent-file.ts';

const HOUR = 3_600_000;

function setup() {
  const world = new SimWorld({ seed: 1, startTime: Date.UTC(2026, 0, 1) });
  const node = world.addNode({ id: 'owner' });
  const data = new Uint8Array(1000).fill(7);
  node.adapters.fs.mkdirp('/data/c');
  node.adapters.fs.writeAtomic('/data/c/data', data);
  const torrent = buildTorrentFile('c', 16_384, [{ path: 'data', bytes: data }]);
  return { world, node, torrent, infoHash: parseTorrentFile(torrent).infoHash };
}

function probe(p: Promise<unknown>): { done: boolean; value: unknown; error: unknown } {
  const s = { done: false, value: undefined as unknown, error: undefined as unknown };
  p.then(
    (v) => Object.assign(s, { done: true, value: v }),
    (e) => Object.assign(s, { done: true, error: e }),
  );
  return s;
}

const client = (n: SimNode) => n.sim.torrent;

describe('sim torrent: seeding delay', () => {
  it('seeds at once by default, and `seedDelay` later when set', async () => {
    const { world, node, torrent, infoHash } = setup();
    await node.adapters.torrent.start();
    expect(await node.adapters.torrent.seed(torrent, '/data')).toBe(infoHash);
    await node.adapters.torrent.remove(infoHash);

    client(node).setSeedDelay(2 * HOUR);
    const t0 = world.kernel.now();
    const p = probe(node.adapters.torrent.seed(torrent, '/data'));
    await world.runForAsync(2 * HOUR - 1);
    expect(p.done).toBe(false);
    expect(node.adapters.torrent.active()).toEqual([]);
    await world.runForAsync(1);
    expect(p.done).toBe(true);
    expect(p.value).toBe(infoHash);
    expect(world.kernel.now() - t0).toBe(2 * HOUR);
    expect(node.adapters.torrent.active()).toEqual([infoHash]);
  });

  it('a stop during the delay rejects the seed; a crash leaves it unsettled', async () => {
    const { world, node, torrent } = setup();
    await node.adapters.torrent.start();
    client(node).setSeedDelay(HOUR);
    const stopped = probe(node.adapters.torrent.seed(torrent, '/data'));
    await node.adapters.torrent.stop();
    await world.runForAsync(2 * HOUR);
    expect(stopped.error).toBeInstanceOf(TorrentClientStopped);

    await node.adapters.torrent.start();
    const crashed = probe(node.adapters.torrent.seed(torrent, '/data'));
    node.crash();
    node.restart();
    await node.adapters.torrent.start();
    await world.runForAsync(2 * HOUR);
    expect(crashed.done).toBe(false);
    expect(node.adapters.torrent.active()).toEqual([]);
  });

  it('refuses a negative or fractional delay', () => {
    const { node } = setup();
    expect(() => client(node).setSeedDelay(-1)).toThrow(RangeError);
    expect(() => client(node).setSeedDelay(1.5)).toThrow(/whole number of ms/);
  });
});
