// The port contract suites run against the simulated implementations.

import { MemoryStorage } from '../adapters/sim/memory-storage.ts';
import { SimWorld } from '../adapters/sim/world.ts';
import { describeClockContract } from './contract/clock.contract.ts';
import { describeContentStoreContract } from './contract/content-store.contract.ts';
import { describeMessagingContract } from './contract/messaging.contract.ts';
import { describeStorageContract } from './contract/storage.contract.ts';
import { describeTorrentContract } from './contract/torrent.contract.ts';

const T0 = Date.UTC(2026, 0, 1);

function world(): SimWorld {
  return new SimWorld({ seed: 11, startTime: T0 });
}

describeClockContract('SimClock', async () => {
  const w = world();
  const n = w.addNode({ id: 'a' });
  return { clock: n.adapters.clock, settle: (ms) => w.runForAsync(ms) };
});

describeMessagingContract('SimMessaging', async () => {
  const w = world();
  const nodes = ['a', 'b', 'c'].map((id) => w.addNode({ id }).adapters.messaging);
  return { nodes, settle: (ms) => w.runForAsync(ms), now: () => w.kernel.now() };
});

describeStorageContract('MemoryStorage', async () => {
  const storage = new MemoryStorage();
  return {
    storage,
    reopen: () => {
      storage.crash();
      return storage;
    },
  };
});

describeStorageContract('MemoryStorage of a simulated node (crash + restart)', async () => {
  const w = world();
  const n = w.addNode({ id: 'a' });
  return {
    storage: n.adapters.storage,
    reopen: () => {
      n.crash();
      n.restart();
      return n.adapters.storage;
    },
  };
});

describeTorrentContract('SimTorrentClient', async () => {
  const w = world();
  const peers = ['s', 'l', 'x'].map((id) => {
    const n = w.addNode({ id });
    return { client: n.adapters.torrent, fs: n.adapters.fs, dir: n.adapters.dataDir };
  });
  return { peers, settle: (ms) => w.runForAsync(ms) };
});

describeTorrentContract('SimTorrentClient on the flow-level swarm', async () => {
  const w = new SimWorld({ seed: 11, startTime: T0, swarm: { model: 'flow' } });
  const peers = ['s', 'l', 'x'].map((id) => {
    const n = w.addNode({ id });
    return { client: n.adapters.torrent, fs: n.adapters.fs, dir: n.adapters.dataDir };
  });
  return { peers, settle: (ms) => w.runForAsync(ms) };
});

describeContentStoreContract('SimContentStore', async () => {
  const w = world();
  const stores = ['a', 'b', 'c'].map((id) => w.addNode({ id }).sim.content);
  return { stores, settle: (ms) => w.runForAsync(ms) };
});
