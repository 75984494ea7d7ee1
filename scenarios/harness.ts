// The composition a test or a benchmark needs: a SimWorld, one owner (control node) and N
// members running the archive node actors of machines/, a seeded traffic generator, the
// §10 invariant monitors on every node, a run for a virtual duration and a summary.
//
// API (kept small; the scenario runner builds on it):
//
//   const h = await createHarness({ seed: 1, members: 3, messagesPerDay: 200, durationMs: 36 * DAY });
//   h.at(10 * DAY, () => h.crash('owner'));        // schedule anything at an offset from start
//   h.at(40 * DAY, () => h.restart('owner'));      // restart = new node actor over the same storage
//   const summary = await h.run();                  // runs to start + durationMs, stops at a violation
//
// - `createHarness(config)`: world + nodes (`owner`, `m1`…`mN`); `communities` communities
//   (default 1), all controlled by `owner`; a member joins all of them or the indexes in its
//   spec. `h.communities[i]` describes each; `h.communityId`, `h.communityKey`, `h.chats`,
//   `h.community` are those of the first. Actors start at `joinAt` (default 0).
// - `h.world`, `h.owner`, `h.members`, `h.node(id)`: the HarnessNode of each (sim node,
//   current ArchiveNode actor, signal counts, optional signal log).
// - `h.at(offsetMs, fn)`, `h.crash(id)`, `h.restart(id)`, `h.offline(id)`, `h.online(id)`,
//   `h.publish(senderId, chatIndex, bytes, communityIndex = 0)`.
// - `h.run({ until? })` → HarnessSummary (rounds, magnetlinks, per-member downloaded/imported/
//   messagesImported/bytes, signal counts, invariant verdicts, first violation).
// Traffic: `messagesPerDay` messages per community, payload sizes uniform in [minSize, maxSize], in the
// community's chats, sent on relay by the owner or a member (uniformly) and stored by the
// sender and by every node that receives it (`liveDelivery: 'owner'` makes only the owner
// listen, for benchmarks with thousands of members).

import type { InspectionEvent } from 'xstate';
import { type FaultyAdapters, withFaults } from '../adapters/sim/faulty-adapters.ts';
import { synchronousHandler } from '../adapters/sim/sim-messaging.ts';
import { type SimNode, SimWorld } from '../adapters/sim/world.ts';
import type { ArchiveCodec } from '../archive/index.ts';
import type { CommunityConfig } from '../machines/community-env.ts';
import { type ArchiveNode, createArchiveNode } from '../machines/embed.ts';
import { InvariantMonitor, type InvariantName, type Violation } from '../machines/invariants.ts';
import { DAY, type ImportRate, type MachineOptions, resolveOptions } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import type { NodeAdapters } from '../ports/index.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic, contentTopicOf } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';
import type { ContentNetworkOptions } from '../sim/content-network.ts';
import type { NetworkOptions } from '../sim/network.ts';
import type { SwarmOptions } from '../sim/swarm.ts';
import type { TraceOptions } from '../sim/trace.ts';
import { scheduleTraffic } from './traffic.ts';

const PAYLOAD_POOL_BYTES = 1 << 20;
const NO_PADDING = new Uint8Array(0);

export interface HarnessMemberSpec {
  id?: string;
  /** Offset from the start when the member comes up and joins (default 0). */
  joinAt?: number;
  importRate?: ImportRate;
  archiveSupport?: boolean;
  protocolEnabled?: boolean;
  uploadBps?: number;
  downloadBps?: number;
  /** This node's codec of the (encrypted) communities; default `config.codec`. */
  codec?: ArchiveCodec;
  /** Indexes of the communities this member joins (default all). */
  communities?: number[];
  /** This node's machine options over the harness's (e.g. its `archiveBackends`). */
  options?: Partial<MachineOptions>;
}

export interface HarnessConfig {
  seed: number;
  /** Virtual start, ms since the epoch (default 2026-01-05T00:00:00Z). */
  startTime?: number;
  /** Number of members, or one spec per member. */
  members: number | HarnessMemberSpec[];
  /** Number of communities, all controlled by the owner (default 1). */
  communities?: number;
  /** Chats per community (default 2). */
  chats?: number;
  messagesPerDay: number;
  minSize?: number;
  maxSize?: number;
  /** Traffic window, offsets from the start (default the whole run). */
  trafficFrom?: number;
  trafficTo?: number;
  durationMs: number;
  options?: Partial<MachineOptions>;
  network?: Partial<NetworkOptions>;
  swarm?: Partial<SwarmOptions>;
  /** The simulated content network's options. */
  content?: Partial<ContentNetworkOptions>;
  storeRetentionMs?: number;
  /** Who stores live relay traffic: every node (default) or only the owner. */
  liveDelivery?: 'all' | 'owner';
  /** Check §10.9 convergence at the end of `run` (default false). */
  checkConvergence?: boolean;
  /** Keep every signal of every node in `HarnessNode.log` (default true). */
  keepSignals?: boolean;
  /** Trace options of the world (default: hash only, no lines kept). */
  trace?: TraceOptions;
  /** Called for every signal of every node, across restarts, before it is logged. */
  onSignal?: (node: HarnessNode, signal: NodeSignal, world: SimWorld) => void;
  /** Called when a node's actor is about to start (at joinAt and at every restart). */
  onBoot?: (node: HarnessNode, world: SimWorld) => void;
  /**
   * XState's inspection of a node's actors, asked for at each boot of the node (restarts
   * too); undefined leaves the node uninspected. Observing only.
   */
  inspect?: (node: HarnessNode) => ((event: InspectionEvent) => void) | undefined;
  codec?: ArchiveCodec;
  /** Replace a node's adapters (e.g. a lighter storage in benchmarks). */
  adaptersFor?: (node: SimNode) => NodeAdapters;
  /** Wrap every node's ports so that port faults can be armed (`HarnessNode.faults`). */
  portFaults?: boolean;
  ownerUploadBps?: number;
  /** The owner's machine options over the harness's (e.g. its `archiveBackends`). */
  ownerOptions?: Partial<MachineOptions>;
}

export interface HarnessNode {
  id: string;
  role: 'owner' | 'member';
  sim: SimNode;
  adapters: NodeAdapters;
  /** The current incarnation's actor (undefined before joinAt and while crashed). */
  archive: ArchiveNode | undefined;
  /** Port faults of this node's adapters, when the harness wraps them (`portFaults`). */
  faults?: FaultyAdapters;
  counts: Record<string, number>;
  log: NodeSignal[];
  spec: HarnessMemberSpec;
}

export interface HarnessSummary {
  virtualMs: number;
  events: number;
  rounds: { communityId: string; start: number; end: number; archives: number; infoHash?: string }[];
  magnetlinks: { communityId: string; sender: string; clock: number; magnetUri: string }[];
  /** One row per member and community it joined. */
  members: {
    node: string;
    communityId: string;
    downloaded: number;
    imported: number;
    messagesImported: number;
    bytesDown: number;
    bytesUp: number;
  }[];
  signals: Record<string, number>;
  invariants: Record<InvariantName, string>;
  violation?: Violation;
  messagesPublished: number;
}

export const DEFAULT_START = Date.UTC(2026, 0, 5);

export interface HarnessCommunity {
  index: number;
  id: string;
  key: Uint8Array;
  config: CommunityConfig;
  chats: string[];
  topics: Uint8Array[];
  contentTopics: string[];
  pubsubTopic: string;
}

export interface Harness {
  readonly world: SimWorld;
  readonly start: number;
  readonly communities: HarnessCommunity[];
  readonly communityId: string;
  /** The community's private key (held by the owner). */
  readonly communityKey: Uint8Array;
  readonly community: CommunityConfig;
  readonly chats: string[];
  readonly options: MachineOptions;
  readonly owner: HarnessNode;
  readonly members: HarnessNode[];
  readonly monitor: InvariantMonitor;
  node(id: string): HarnessNode;
  at(offsetMs: number, fn: () => void): void;
  crash(id: string): void;
  restart(id: string): void;
  /** Take a node off the network (its actor keeps running) or back. */
  offline(id: string): void;
  online(id: string): void;
  publish(senderId: string, chatIndex: number, payloadBytes: number, communityIndex?: number): WakuMessage;
  /** Run to `until` (default the whole duration), then check convergence if asked and summarise. */
  run(opts?: { until?: number }): Promise<HarnessSummary>;
  /** Run to `until` only (a caller that runs in slices reads `monitor.violation` between them). */
  advance(opts?: { until?: number }): Promise<void>;
  summary(): HarnessSummary;
}

export async function createHarness(config: HarnessConfig): Promise<Harness> {
  const start = config.startTime ?? DEFAULT_START;
  const world = new SimWorld({
    seed: config.seed,
    startTime: start,
    ...(config.network ? { network: config.network } : {}),
    ...(config.swarm ? { swarm: config.swarm } : {}),
    ...(config.content ? { content: config.content } : {}),
    ...(config.storeRetentionMs !== undefined ? { storeRetentionMs: config.storeRetentionMs } : {}),
    trace: config.trace ?? { keepLines: false },
  });
  const options = resolveOptions(config.options);
  const communities: HarnessCommunity[] = [];
  for (let index = 0; index < (config.communities ?? 1); index++) {
    const key = generateCommunityKey(
      world.rng(index === 0 ? 'community-key' : `community-key-${index}`).bytes(32),
    );
    const id = communityIdOf(key);
    const chats = Array.from({ length: config.chats ?? 2 }, (_, i) => `${id}-chat${i}`);
    const topics = chats.map((c) => chatTopic(c));
    communities.push({
      index,
      id,
      key,
      config: { id, chats, ...(config.codec ? { codec: config.codec } : {}) },
      chats,
      topics,
      contentTopics: topics.map((t) => contentTopicOf(t)),
      pubsubTopic: options.pubsubTopicOf(id),
    });
  }
  const first = communities[0];
  if (!first) throw new RangeError('createHarness: at least one community');
  const communityById = new Map(communities.map((c) => [c.id, c]));
  const keepSignals = config.keepSignals ?? true;
  const liveDelivery = config.liveDelivery ?? 'all';
  const counts: Record<string, number> = {};
  const rounds: HarnessSummary['rounds'] = [];
  const magnetlinks: HarnessSummary['magnetlinks'] = [];
  type Tally = { downloaded: number; imported: number; messagesImported: number };
  /** Per node and community: `${node}\u0000${communityId}`. */
  const tallies = new Map<string, Tally>();
  const tally = (node: string, communityId: string): Tally => {
    const k = `${node}\u0000${communityId}`;
    let t = tallies.get(k);
    if (!t) {
      t = { downloaded: 0, imported: 0, messagesImported: 0 };
      tallies.set(k, t);
    }
    return t;
  };
  let stopped = false;
  let published = 0;

  const monitor = new InvariantMonitor({
    pieceLength: options.pieceLength,
    topicsOf: (id) => communityById.get(id)?.topics ?? [],
    ...(config.codec ? { codecOf: () => config.codec } : {}),
    // the content-addressed invariants read what a node's store holds (sim/content-network.ts)
    readContent: (id, cid) => world.content.readLocal(id, cid),
    onViolation: () => {
      stopped = true;
    },
  });

  const memberSpecs: HarnessMemberSpec[] =
    typeof config.members === 'number' ? Array.from({ length: config.members }, () => ({})) : config.members;

  const makeNode = (id: string, role: 'owner' | 'member', spec: HarnessMemberSpec): HarnessNode => {
    const sim = world.addNode({
      id,
      ...(spec.uploadBps !== undefined ? { uploadBps: spec.uploadBps } : {}),
      ...(spec.downloadBps !== undefined ? { downloadBps: spec.downloadBps } : {}),
    });
    if (role === 'owner') for (const c of communities) sim.sim.keys.set(c.id, c.key);
    const given = config.adaptersFor ? config.adaptersFor(sim) : sim.adapters;
    // Invariant 1 is checked at the writes of the node's files (machines/append-only-watch.ts).
    const own = { ...given, fs: monitor.watchFiles(id, given.fs, given.dataDir) };
    const faults = config.portFaults ? withFaults(own) : undefined;
    const adapters = faults ? faults.adapters : own;
    return {
      id,
      role,
      sim,
      adapters,
      archive: undefined,
      counts: {},
      log: [],
      spec,
      ...(faults ? { faults } : {}),
    };
  };

  const owner = makeNode('owner', 'owner', {
    ...(config.ownerUploadBps !== undefined ? { uploadBps: config.ownerUploadBps } : {}),
    ...(config.ownerOptions ? { options: config.ownerOptions } : {}),
  });
  const members = memberSpecs.map((s, i) => makeNode(s.id ?? `m${i + 1}`, 'member', s));
  const all = [owner, ...members];
  const byId = new Map(all.map((n) => [n.id, n]));

  const joined = (n: HarnessNode): HarnessCommunity[] =>
    n.spec.communities ? communities.filter((c) => n.spec.communities?.includes(c.index)) : communities;

  const listen = (n: HarnessNode): void => {
    if (liveDelivery === 'owner' && n.role !== 'owner') return;
    for (const c of joined(n)) {
      n.adapters.messaging.subscribe(
        c.pubsubTopic,
        c.contentTopics,
        synchronousHandler((msg) => {
          n.adapters.storage.saveMessages([msg.message]);
        }),
      );
    }
  };
  const onSignal = (n: HarnessNode, s: NodeSignal): void => {
    counts[s.type] = (counts[s.type] ?? 0) + 1;
    n.counts[s.type] = (n.counts[s.type] ?? 0) + 1;
    config.onSignal?.(n, s, world);
    if (keepSignals) n.log.push(s);
    if (s.type === 'archive.roundCreated') {
      rounds.push({
        communityId: s.communityId,
        start: s.start,
        end: s.end,
        archives: s.archives.length,
        ...(s.infoHash ? { infoHash: s.infoHash } : {}),
      });
    } else if (s.type === 'archive.magnetlinkDispatched') {
      magnetlinks.push({ communityId: s.communityId, sender: n.id, clock: s.clock, magnetUri: s.magnetUri });
    } else if (s.type === 'community.historyArchiveDownloaded') {
      tally(n.id, s.communityId).downloaded++;
    } else if (s.type === 'archive.archiveImported') {
      const t = tally(n.id, s.communityId);
      t.imported++;
      t.messagesImported += s.messages;
    }
    monitor.observe(s);
  };

  const boot = (n: HarnessNode): void => {
    config.onBoot?.(n, world);
    listen(n);
    const inspect = config.inspect?.(n);
    n.archive = createArchiveNode({
      adapters: n.adapters,
      options: n.spec.options ? resolveOptions({ ...config.options, ...n.spec.options }) : options,
      nodeId: n.id,
      communities: joined(n).map((c) => ({
        ...c.config,
        ...(n.spec.archiveSupport !== undefined ? { archiveSupport: n.spec.archiveSupport } : {}),
        ...(n.spec.codec ? { codec: n.spec.codec } : {}),
      })),
      ...(n.spec.protocolEnabled !== undefined ? { protocolEnabled: n.spec.protocolEnabled } : {}),
      ...(n.spec.importRate !== undefined ? { importRate: n.spec.importRate } : {}),
      onSignal: (s) => onSignal(n, s),
      ...(inspect ? { inspect } : {}),
    });
  };

  for (const n of all) monitor.attach({ id: n.id, adapters: n.adapters });

  const at = (offsetMs: number, fn: () => void): void => {
    world.kernel.schedule(start + offsetMs, 'harness', () => {
      if (!stopped) fn();
    });
  };

  for (const n of all) {
    const joinAt = n.spec.joinAt ?? 0;
    if (joinAt <= 0) boot(n);
    else at(joinAt, () => boot(n));
  }

  // --- traffic: one event per day draws that day's messages, each published at its time.
  const rng = world.rng('traffic');
  const minSize = config.minSize ?? 200;
  const maxSize = config.maxSize ?? 2000;
  const trafficFrom = config.trafficFrom ?? 0;
  const trafficTo = config.trafficTo ?? config.durationMs;
  // Payloads are windows of one random pool: their bytes only need to be bytes (ids and
  // sizes are what the protocol looks at), and a year of traffic then costs one view per
  // message instead of a fresh buffer (and PRNG draws) per byte.
  const poolBytes = Math.min(PAYLOAD_POOL_BYTES, Math.max(4096, 8 * maxSize));
  const pool = rng.bytes(poolBytes);
  const payloadOf = (n: number): Uint8Array => {
    if (n > poolBytes) return rng.bytes(n);
    const at = rng.int(0, poolBytes - n);
    return pool.subarray(at, at + n);
  };
  const publish = (
    senderId: string,
    chatIndex: number,
    payloadBytes: number,
    communityIndex = 0,
  ): WakuMessage => {
    const sender = byId.get(senderId);
    if (!sender) throw new Error(`unknown node ${senderId}`);
    const c = communities[communityIndex];
    if (!c) throw new Error(`unknown community index ${communityIndex}`);
    const k = chatIndex % c.topics.length;
    const ids = rng.bytes(65 + 32);
    const message: WakuMessage = {
      sig: ids.subarray(0, 65),
      timestamp: Math.floor(world.kernel.now() / 1000),
      topic: c.topics[k] as Uint8Array,
      payload: payloadOf(payloadBytes),
      padding: NO_PADDING,
      hash: ids.subarray(65),
      thirdPartyId: '',
    };
    published++;
    if (sender.archive) sender.adapters.storage.saveMessages([message]);
    // Straight onto the network, as the node's SimMessaging would put it: the app's chat
    // is not a port call of the machines, and nothing awaits it, so unlike a port call it
    // needs no microtask drain (most events of a run are chat).
    world.network.publish(senderId, {
      pubsubTopic: c.pubsubTopic,
      contentTopic: c.contentTopics[k] as string,
      message,
    });
    return message;
  };
  // The harness's own load (`messagesPerDay`): one stream per community, every node a sender.
  const perDay = config.messagesPerDay;
  if (perDay > 0) {
    const ids = all.map((n) => n.id);
    for (const c of communities) {
      scheduleTraffic(
        {
          perMs: perDay / DAY,
          from: trafficFrom,
          to: trafficTo,
          senders: ids,
          chats: c.topics.map((_, i) => i),
          size: { min: minSize, max: maxSize },
        },
        world.rng(`traffic.${c.index}`),
        {
          kernel: world.kernel,
          start,
          canSend: (id) => {
            const n = byId.get(id) as HarnessNode;
            return n.archive !== undefined && n.sim.online && (n.spec.communities?.includes(c.index) ?? true);
          },
          send: (id, chat, bytes) => {
            publish(id, chat, bytes, c.index);
          },
          running: () => !stopped,
        },
      );
    }
  }

  const crash = (id: string): void => {
    const n = byId.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    n.archive?.kill();
    n.archive = undefined;
    n.sim.crash();
  };
  const restart = (id: string): void => {
    const n = byId.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    n.sim.restart();
    monitor.nodeRestarted(id);
    boot(n);
  };

  const setOnline = (id: string, online: boolean): void => {
    const n = byId.get(id);
    if (!n) throw new Error(`unknown node ${id}`);
    if (online) n.sim.goOnline();
    else n.sim.goOffline();
    n.archive?.setOnline(online);
  };

  const summary = (): HarnessSummary => {
    const signals: Record<string, number> = {};
    for (const k of Object.keys(counts).sort()) signals[k] = counts[k] as number;
    const v = monitor.violation;
    return {
      virtualMs: world.kernel.now() - start,
      events: world.kernel.processed,
      rounds: rounds.slice(),
      magnetlinks: magnetlinks.slice(),
      members: members.flatMap((m) => {
        const b = m.sim.bytes();
        return joined(m).map((c) => ({
          node: m.id,
          communityId: c.id,
          ...tally(m.id, c.id),
          bytesDown: b.down,
          bytesUp: b.up,
        }));
      }),
      signals,
      invariants: monitor.verdicts(),
      ...(v ? { violation: v } : {}),
      messagesPublished: published,
    };
  };

  const advance = async (opts: { until?: number } = {}): Promise<void> => {
    const end = start + (opts.until ?? config.durationMs);
    // Run in slices so that a violation stops the run close to the event that broke it.
    const slice = 6 * 3600 * 1000;
    while (!stopped && world.kernel.now() < end) {
      await world.runUntilAsync(Math.min(end, world.kernel.now() + slice));
    }
  };

  const run = async (opts: { until?: number } = {}): Promise<HarnessSummary> => {
    await advance(opts);
    if (!stopped && config.checkConvergence) {
      for (const c of communities) {
        const alive = members.filter(
          (m) =>
            m.archive !== undefined &&
            m.spec.archiveSupport !== false &&
            m.spec.protocolEnabled !== false &&
            joined(m).includes(c),
        );
        monitor.checkConvergence({ owner, communityId: c.id, members: alive, mode: options.importMode });
      }
    }
    return summary();
  };

  return {
    world,
    start,
    communities,
    communityId: first.id,
    communityKey: first.key,
    community: first.config,
    chats: first.chats,
    options,
    owner,
    members,
    monitor,
    node: (id) => {
      const n = byId.get(id);
      if (!n) throw new Error(`unknown node ${id}`);
      return n;
    },
    at,
    crash,
    restart,
    offline: (id) => setOnline(id, false),
    online: (id) => setOnline(id, true),
    publish,
    run,
    advance,
    summary,
  };
}
