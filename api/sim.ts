// `archivist/sim`: the deterministic simulated world. A SimWorld holds virtual time, a
// relay network with a store node and a BitTorrent swarm; each node added to it has
// simulated adapters (`node.adapters`) to hand to createArchiveNode.

export { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
export { MemoryKeyStore } from '../adapters/sim/memory-keys.ts';
export { MemoryStorage } from '../adapters/sim/memory-storage.ts';
export { SimClock } from '../adapters/sim/sim-clock.ts';
export { SimMessaging } from '../adapters/sim/sim-messaging.ts';
export { SimTorrentClient } from '../adapters/sim/sim-torrent.ts';
export {
  type NodeSpec,
  type SimAdapters,
  type SimNode,
  SimWorld,
  type SimWorldOptions,
} from '../adapters/sim/world.ts';
export type { NetworkOptions } from '../sim/network.ts';
