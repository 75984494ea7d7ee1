// The simulated world: one kernel, one trace, the network with its store service, the
// swarm, the content network, and nodes whose adapters (the ports of ports) live in it.
// This is the façade the scenario runner, the explorer and the benchmarks drive.
//
// The content network records nothing and draws nothing until a node uses its store, so a
// world that only uses the torrent backend has the trace it had before the content network
// existed.

import type { NodeAdapters } from '../../ports/index.ts';
import { ContentNetwork, type ContentNetworkOptions } from '../../sim/content-network.ts';
import { Kernel } from '../../sim/kernel.ts';
import { type NetworkOptions, SimNetwork } from '../../sim/network.ts';
import { Prng } from '../../sim/prng.ts';
import { SimStore } from '../../sim/store.ts';
import { DEFAULT_DOWNLOAD_BPS, DEFAULT_UPLOAD_BPS, Swarm, type SwarmOptions } from '../../sim/swarm.ts';
import { Trace, type TraceOptions } from '../../sim/trace.ts';
import { MemoryFileSystem } from './memory-fs.ts';
import { MemoryKeyStore } from './memory-keys.ts';
import { MemoryStorage } from './memory-storage.ts';
import { SimClock } from './sim-clock.ts';
import { SimContentStore } from './sim-content-store.ts';
import { SimMessaging } from './sim-messaging.ts';
import { SimTorrentClient } from './sim-torrent.ts';

export const DEFAULT_STORE_RETENTION_MS = 30 * 24 * 3600 * 1000;

export interface SimWorldOptions {
  seed: number;
  /** Virtual start time, ms since the Unix epoch. */
  startTime: number;
  network?: Partial<NetworkOptions>;
  /** Store node retention (default 30 days). */
  storeRetentionMs?: number;
  swarm?: Partial<SwarmOptions>;
  content?: Partial<ContentNetworkOptions>;
  trace?: TraceOptions;
}

export interface NodeSpec {
  id: string;
  /** bytes/s (default 2.5 MB/s) */
  uploadBps?: number;
  /** bytes/s (default 12.5 MB/s) */
  downloadBps?: number;
  online?: boolean;
}

/** The concrete simulated adapters of a node, for fault knobs and inspection. */
export interface SimAdapters {
  clock: SimClock;
  fs: MemoryFileSystem;
  storage: MemoryStorage;
  messaging: SimMessaging;
  torrent: SimTorrentClient;
  /** The node's content-addressed store (protocol.md §11); the machines reach it through the archive service. */
  content: SimContentStore;
  keys: MemoryKeyStore;
}

export interface SimNode {
  readonly id: string;
  readonly adapters: NodeAdapters;
  readonly sim: SimAdapters;
  /** Reachable on the network (false while offline or crashed). Assigning calls goOnline/goOffline. */
  online: boolean;
  readonly crashed: boolean;
  goOffline(): void;
  goOnline(): void;
  /**
   * Process death: timers cancelled, subscriptions and torrent sessions dropped (their
   * promises never settle), the torrent client stopped. Storage keeps every completed
   * method (its crash contract); files keep what the FileSystem's contract says.
   */
  crash(): void;
  /** Back up and online after a crash, with the same (persistent) storage, files and keys. */
  restart(): void;
  /** Torrent bytes (pieces and metadata) received and sent. */
  bytes(): { down: number; up: number };
  /** Content-network bytes (manifests and blocks) received and sent. */
  contentBytes(): { down: number; up: number };
}

class WorldNode implements SimNode {
  readonly id: string;
  readonly adapters: NodeAdapters;
  readonly sim: SimAdapters;
  readonly #world: SimWorld;
  #crashed = false;

  constructor(world: SimWorld, id: string, sim: SimAdapters) {
    this.id = id;
    this.#world = world;
    this.sim = sim;
    this.adapters = {
      clock: sim.clock,
      fs: sim.fs,
      storage: sim.storage,
      messaging: sim.messaging,
      torrent: sim.torrent,
      content: sim.content,
      keys: sim.keys,
      dataDir: '/data',
      torrentDir: '/torrents',
    };
  }

  get online(): boolean {
    return !this.#crashed && this.#world.network.isOnline(this.id);
  }

  set online(v: boolean) {
    if (v) this.goOnline();
    else this.goOffline();
  }

  get crashed(): boolean {
    return this.#crashed;
  }

  goOffline(): void {
    this.#world.network.setOnline(this.id, false);
  }

  goOnline(): void {
    this.#world.network.setOnline(this.id, true);
  }

  crash(): void {
    if (this.#crashed) return;
    this.#crashed = true;
    this.sim.clock.crash();
    this.sim.messaging.crash();
    this.sim.torrent.crash();
    this.sim.content.crash();
    this.sim.storage.crash();
    (this.sim.fs as { crash?: () => void }).crash?.();
    this.#world.network.setUp(this.id, false);
  }

  restart(): void {
    if (!this.#crashed) return;
    this.#crashed = false;
    this.sim.clock.restart();
    this.sim.messaging.restart();
    this.sim.torrent.restart();
    this.sim.content.restart();
    this.#world.network.setOnline(this.id, true);
    this.#world.network.setUp(this.id, true);
  }

  bytes(): { down: number; up: number } {
    const s = this.#world.swarm.stats(this.id);
    return { down: s.bytesDown, up: s.bytesUp };
  }

  /** Content-network bytes (manifests and blocks) received and sent. */
  contentBytes(): { down: number; up: number } {
    const s = this.#world.content.stats(this.id);
    return { down: s.bytesDown, up: s.bytesUp };
  }
}

export class SimWorld {
  readonly seed: number;
  readonly kernel: Kernel;
  readonly trace: Trace;
  readonly network: SimNetwork;
  readonly store: SimStore;
  readonly swarm: Swarm;
  readonly content: ContentNetwork;
  readonly #nodes = new Map<string, WorldNode>();
  readonly #order: WorldNode[] = [];
  readonly #streams = new Map<string, Prng>();

  constructor(opts: SimWorldOptions) {
    if (!Number.isSafeInteger(opts.seed)) throw new RangeError(`seed must be an integer, got ${opts.seed}`);
    this.seed = opts.seed;
    this.kernel = new Kernel(opts.startTime);
    this.trace = new Trace(() => this.kernel.now(), opts.trace);
    this.store = new SimStore(() => this.kernel.now(), opts.storeRetentionMs ?? DEFAULT_STORE_RETENTION_MS);
    this.network = new SimNetwork(this.kernel, this.trace, opts.seed, this.store, opts.network);
    this.swarm = new Swarm(this.kernel, this.trace, this.network, opts.seed, opts.swarm);
    this.swarm.onSettle = () => this.kernel.noteAsyncWork();
    this.content = new ContentNetwork(this.kernel, this.trace, this.network, opts.seed, opts.content);
    this.content.onSettle = () => this.kernel.noteAsyncWork();
    this.trace.record('world.start', { seed: opts.seed, start: this.kernel.now() });
  }

  /** The named PRNG stream of this world (the same object for the same name). */
  rng(stream: string): Prng {
    let p = this.#streams.get(stream);
    if (!p) {
      p = Prng.stream(this.seed, `user:${stream}`);
      this.#streams.set(stream, p);
    }
    return p;
  }

  addNode(spec: NodeSpec): SimNode {
    const id = spec.id;
    if (this.#nodes.has(id)) throw new Error(`node ${id} already exists`);
    const online = spec.online ?? true;
    const up = spec.uploadBps ?? DEFAULT_UPLOAD_BPS;
    const down = spec.downloadBps ?? DEFAULT_DOWNLOAD_BPS;
    this.network.addNode(id, online);
    const fs = new MemoryFileSystem();
    fs.mkdirp('/data');
    fs.mkdirp('/torrents');
    this.swarm.addNode(id, fs, up, down);
    this.content.addNode(id, up, down);
    const sim: SimAdapters = {
      clock: new SimClock(this.kernel),
      fs,
      storage: new MemoryStorage(),
      messaging: new SimMessaging(id, this.network, this.kernel),
      torrent: new SimTorrentClient(id, this.swarm, this.kernel),
      content: new SimContentStore(id, this.content, this.kernel),
      keys: new MemoryKeyStore(id),
    };
    const node = new WorldNode(this, id, sim);
    this.#nodes.set(id, node);
    this.#order.push(node);
    this.trace.record('node.add', { node: id, up, down, online });
    return node;
  }

  node(id: string): SimNode {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    return n;
  }

  /** Every node, in the order they were added. */
  nodes(): SimNode[] {
    return this.#order.slice();
  }

  /**
   * Fire every event with time <= ms, synchronously, and leave the clock at ms. Promise
   * continuations (awaits in adapters' callers) run only after it returns: drive code that
   * awaits ports with `runUntilAsync`.
   */
  runUntil(ms: number): void {
    this.kernel.run({ until: ms });
  }

  /** Like runUntil, letting promise continuations run at the virtual time that caused them. */
  async runUntilAsync(ms: number): Promise<void> {
    await this.kernel.runAsync({ until: ms });
  }

  /** runUntilAsync(now + ms). */
  async runForAsync(ms: number): Promise<void> {
    await this.kernel.runAsync({ until: this.kernel.now() + ms });
  }
}
