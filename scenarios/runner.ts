// Running a scenario: the scenario's world is built on the harness (scenarios/harness.ts:
// a SimWorld, the archive node actors and the §10 monitors), its traffic generators and
// timeline are scheduled on the simulator's kernel, the run is driven in slices (so a
// progress bar can follow it), and what happened is gathered into a RunResult whose
// expectations are judged. Nothing here reads the wall clock or Math.random: the same
// scenario and seed give the same trace and the same result.

import { keccak_256 } from '@noble/hashes/sha3.js';
import type { SimWorld } from '../adapters/sim/world.ts';
import { communityFolder, readArchiveMessages, readIndex } from '../archive/index.ts';
import { UserError } from '../errors/user-error.ts';
import { wrapRelayPayload } from '../machines/community.ts';
import { type MachineOptions, SECOND } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { byteKey } from '../proto/byte-key.ts';
import { hexDigits } from '../proto/hex.ts';
import { communityIdOf, encodeMagnetlinkMessage, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import type { NetworkOptions } from '../sim/network.ts';
import { buildTorrentFile, infoHashFromMagnet, magnetFor } from '../sim/torrent-file.ts';
import { watchChecks } from './checks.ts';
import {
  evaluateExpectation,
  expectedViolations,
  type Observations,
  type ObservedMagnetlink,
  type ObservedMember,
  type ObservedSignal,
} from './expectations.ts';
import {
  createHarness,
  type Harness,
  type HarnessCommunity,
  type HarnessMemberSpec,
  type HarnessNode,
} from './harness.ts';
import type {
  ActivityEvent,
  HistorySample,
  MagnetlinkResult,
  MemberResult,
  RoundResult,
  RunDetails,
  RunResult,
} from './result.ts';
import type { Action, Community, NetworkConditions, Scenario } from './schema.ts';
import { simulatedCommunityCodec } from './sim-codec.ts';
import { traceHeaderLine } from './trace-header.ts';

export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Keep the trace lines (for --trace and replay). */
  keepTrace?: boolean;
  /**
   * Hash the trace (default true). The explorer turns it off for the runs it judges on
   * their verdicts only: `traceHash` is then "" and the trace is only counted.
   */
  hashTrace?: boolean;
  /** Called between slices of the run with the virtual ms done and the total. */
  onProgress?: (doneMs: number, totalMs: number) => void;
  /**
   * Every signal of every node as it is emitted, before the §10 monitors see it, for a host
   * that watches a run (the runner's own checks beyond §10 are in `RunResult.checks`). The
   * node is the harness's: its id is "owner" for the first owner, else the scenario name.
   */
  onSignal?: (node: HarnessNode, signal: NodeSignal, world: SimWorld) => void;
  /**
   * Sample the share of readers holding the full history every few virtual hours, for the
   * report's history chart (default true). The explorer turns it off: it reads only the
   * verdicts, and sampling walks every reader's archives.
   */
  sampleHistory?: boolean;
}

export interface RunOutput {
  result: RunResult;
  details: RunDetails;
  /** The header line, then every trace line (only the header when keepTrace is false). */
  traceLines: string[];
}

/** Virtual ms between two samples of the "full history" share. */
function sampleInterval(durationMs: number): number {
  return Math.max(3_600_000, Math.ceil(durationMs / 240 / 3_600_000) * 3_600_000);
}

function unsupported(path: string, what: string): never {
  throw new UserError(`${path}: ${what} is not supported by the simulated runner yet`);
}

/** The machines' options from the scenario's mode, options and quirks. */
export function machineOptions(s: Scenario): Partial<MachineOptions> {
  const o = s.options;
  const q = s.quirks;
  const spec = s.mode === 'spec';
  if (o.ownerDeletesArchivedMessages)
    unsupported('options.ownerDeletesArchivedMessages', 'deleting archived messages');
  if (o.distribution === 'content-addressed')
    unsupported('options.distribution', 'content-addressed distribution');
  const act = o.actOnMagnetlinks ?? (spec ? 'afterQuiet' : 'immediately');
  const out: Partial<MachineOptions> = {
    magnetlinkWaitMs: act === 'afterQuiet' ? (o.magnetlinkQuiet ?? 20 * SECOND) : 0,
    importMode: o.importMode ?? (spec ? 'replace' : 'merge'),
  };
  if (o.download !== undefined) {
    out.downloadPolicy =
      typeof o.download === 'string'
        ? o.download
        : {
            from: Math.floor((s.start + o.download.from) / 1000),
            to: Math.floor((s.start + o.download.to) / 1000),
          };
  }
  const set = <K extends keyof MachineOptions>(key: K, value: MachineOptions[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('archiveIntervalMs', o.archiveInterval);
  set('pieceLength', o.pieceLength);
  set('maxArchiveChunk', o.maxArchiveChunk);
  set('metadataTimeoutMs', o.metadataTimeout);
  set('metadataRetries', o.metadataRetries);
  set('indexPollMs', o.indexPoll);
  set('piecesPollMs', o.piecesPoll);
  set('importDelayMs', o.importDelay);
  set('importChunk', o.importChunk);
  set('importRate', o.importRate);
  set('missingKeyRetryMs', o.missingKeyRetry);
  set('corruptArchiveRetryMs', o.corruptRetry);
  set('countCompareNoNewArchives', q.noNewArchivesByCount);
  set('extraPaddingPiece', q.extraPaddingPiece);
  set('crashOnMissingCommunity', q.dispatchCrashOnMissingCommunity);
  set('retryCorruptArchiveForever', q.retryUndecodableForever);
  set('validateIndex', q.trustIndex === undefined ? undefined : !q.trustIndex);
  set('boundMagnetlinkClock', q.trustMagnetlinkClock === undefined ? undefined : !q.trustMagnetlinkClock);
  return out;
}

/** The simulator's network options from the scenario's conditions. */
export function networkOptions(c: NetworkConditions): Partial<NetworkOptions> {
  const out: Partial<NetworkOptions> = {};
  if (c.latency !== undefined) {
    out.latency =
      typeof c.latency === 'number'
        ? { kind: 'fixed', ms: c.latency }
        : { kind: 'uniform', minMs: c.latency.min, maxMs: c.latency.max };
  }
  if (c.loss !== undefined) out.loss = c.loss;
  if (c.duplication !== undefined) out.duplicate = c.duplication;
  if (c.reordering !== undefined) out.reorder = c.reordering;
  return out;
}

interface SentLink {
  t: number;
  communityId: string;
  sender: string;
  clock: number;
  magnetUri: string;
  /** `dispatched` by a control node's machine, or injected by the timeline. */
  how: 'dispatched' | 'forged' | 'replayed' | 'withoutIndex';
}

/** Runs a validated scenario on the simulated world. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunOutput> {
  const seed = options.seed ?? scenario.seed;
  const specs = scenario.communities;
  const owners = scenario.nodes.filter((n) => n.role === 'owner');
  const primary = owners[0] as Scenario['nodes'][number];
  const primaryIndex = scenario.nodes.indexOf(primary);
  if (primary.joinAt !== 0) unsupported(`nodes[${primaryIndex}].joinAt`, 'a first owner starting late');
  if (primary.communities && specs.some((c) => !primary.communities?.includes(c.id)))
    unsupported(`nodes[${primaryIndex}].communities`, 'a first owner that does not own every community');
  if (specs.some((c) => c.encrypted !== (specs[0] as Community).encrypted))
    unsupported('communities', 'mixing encrypted and plain communities');
  const communityIndex = new Map(specs.map((c, i) => [c.id, i]));
  /** Indexes of the communities a node belongs to from its start. */
  const joinedAtStart = (n: Scenario['nodes'][number]): number[] =>
    (n.communities ?? specs.map((c) => c.id)).map((c) => communityIndex.get(c) as number);

  // Scenario names <-> harness ids: the first owner is the harness's `owner`.
  const idOf = new Map<string, string>();
  const nameOf = new Map<string, string>();
  for (const n of scenario.nodes) {
    const nodeId = n === primary ? 'owner' : n.name;
    if (n !== primary && n.name === 'owner')
      unsupported('nodes', 'a node named "owner" that is not the first owner');
    idOf.set(n.name, nodeId);
    nameOf.set(nodeId, n.name);
  }
  const id = (nodeName: string): string => idOf.get(nodeName) as string;
  const name = (nodeId: string): string => nameOf.get(nodeId) ?? nodeId;

  const bandwidth = scenario.network.bandwidth;
  const others = scenario.nodes.filter((n) => n !== primary);
  const memberSpecs: HarnessMemberSpec[] = others.map((n) => ({
    id: n.name,
    // further owners get the community keys before they boot (see below)
    joinAt: n.role === 'owner' ? Math.max(1, n.joinAt) : n.joinAt,
    communities: joinedAtStart(n),
    ...(n.importRate ? { importRate: n.importRate } : {}),
    archiveSupport: n.archiveSupport,
    protocolEnabled: n.protocolEnabled,
    ...(bandwidth !== undefined ? { uploadBps: bandwidth, downloadBps: bandwidth } : {}),
  }));

  const checkWatch = watchChecks();
  const codec = (specs[0] as Community).encrypted
    ? simulatedCommunityCodec(keccak_256(new TextEncoder().encode(`archivist.scenario.codec:${seed}`)))
    : undefined;

  /** Key of a (node, community) pair in the sets and maps below. */
  const memberKey = (nodeId: string, communityId: string) => `${nodeId}\u0000${communityId}`;

  // `corruptStoredArchive`: the node's disk damages the archive it is about to import. The
  // action arms (node, community); the member's next "seeding" signal (§6.2 step 6: every
  // archive of the task is downloaded and verified, the import comes next) overwrites the
  // first bytes of its oldest downloaded-not-imported archive in `data`. The damage stays:
  // a later torrent only fetches the pieces of archives the member lacks.
  const armedCorruption = new Set<string>();
  const corruptedStorage = new Set<string>();
  function corruptStoredArchive(n: HarnessNode, communityId: string, w: SimWorld): void {
    const key = memberKey(n.id, communityId);
    if (!armedCorruption.has(key)) return;
    const { fs, dataDir, storage } = n.adapters;
    const target = storage.archives(communityId).find((a) => !a.imported);
    if (!target) return; // nothing waits for import: stay armed
    const folder = communityFolder(dataDir, communityId);
    const entry = readIndex(fs, folder, codec).archives.get(target.id);
    if (!entry || !fs.exists(`${folder}/data`)) return;
    const bytes = fs.read(`${folder}/data`);
    bytes.fill(0xff, entry.offset, Math.min(entry.offset + 16, entry.offset + entry.size - entry.padding));
    fs.writeAtomic(`${folder}/data`, bytes);
    armedCorruption.delete(key);
    corruptedStorage.add(key);
    w.trace.record('scenario.corrupted', { node: name(n.id), archive: target.id });
  }
  const h: Harness = await createHarness({
    seed,
    startTime: scenario.start,
    members: memberSpecs,
    communities: specs.length,
    chats: Math.max(...specs.map((c) => c.chats.length)),
    messagesPerDay: 0,
    durationMs: scenario.duration,
    options: machineOptions(scenario),
    network: networkOptions(scenario.network),
    storeRetentionMs: scenario.store.retention,
    keepSignals: true,
    // Every signal goes into the trace too, so that a replay compares the protocol's steps
    // and not only the simulator's.
    onSignal: (n, signal, w) => {
      const { t: _t, node: _node, type, ...payload } = signal;
      w.trace.record('signal', { node: name(n.id), type, ...payload });
      if (signal.type === 'community.historyArchivesSeeding') corruptStoredArchive(n, signal.communityId, w);
      checkWatch.onSignal(n, signal);
      options.onSignal?.(n, signal, w);
    },
    trace: { keepLines: options.keepTrace === true, hash: options.hashTrace ?? true },
    ...(codec ? { codec } : {}),
    ...(bandwidth !== undefined ? { ownerUploadBps: bandwidth } : {}),
  });
  const { world, start } = h;
  const community = (communityName: string): HarnessCommunity =>
    h.communities[communityIndex.get(communityName) as number] as HarnessCommunity;
  const communityNameOf = new Map(h.communities.map((c, i) => [c.id, (specs[i] as Community).id]));
  world.trace.record('scenario.start', {
    name: scenario.name,
    seed,
    communities: h.communities.map((c, i) => ({ id: c.id, name: (specs[i] as Community).id })),
  });

  for (const n of owners)
    if (n !== primary)
      for (const i of joinedAtStart(n)) {
        const c = h.communities[i] as HarnessCommunity;
        h.node(id(n.name)).sim.sim.keys.set(c.id, c.key);
      }
  if (bandwidth !== undefined) world.swarm.setBandwidth('owner', bandwidth, bandwidth);
  const setSeedDelay = (ms: number): void => {
    for (const n of [h.owner, ...h.members]) n.sim.sim.torrent.setSeedDelay(ms);
  };
  if (scenario.network.seedDelay !== undefined) setSeedDelay(scenario.network.seedDelay);
  const magnetTopicOf = (c: HarnessCommunity) => chatTopic(magnetlinkChannelId(c.id));

  // ------------------------------------------------------------ observation
  const allNodes: HarnessNode[] = [h.owner, ...h.members];
  const ownerIds = new Set(owners.map((n) => id(n.name)));
  /** Whether a node belongs to a community now (joined, not left). */
  const membership = new Map<string, Map<string, boolean>>(); // community id -> node id -> member now
  /** Record a node's membership of a community; undefined: it never had one. */
  const setMembership = (nodeId: string, communityId: string, member: boolean | undefined): void => {
    let nodes = membership.get(communityId);
    if (!nodes) {
      nodes = new Map();
      membership.set(communityId, nodes);
    }
    if (member === undefined) nodes.delete(nodeId);
    else nodes.set(nodeId, member);
  };
  for (const n of scenario.nodes)
    for (const i of joinedAtStart(n))
      setMembership(id(n.name), (h.communities[i] as HarnessCommunity).id, true);
  const isMember = (nodeId: string, c: HarnessCommunity) => membership.get(c.id)?.get(nodeId) === true;
  /** Every (node, community) pair the run ever had. */
  const pairs = (): { node: HarnessNode; community: HarnessCommunity }[] =>
    allNodes.flatMap((n) =>
      h.communities
        .filter((c) => membership.get(c.id)?.has(n.id) === true)
        .map((c) => ({ node: n, community: c })),
    );
  const sent: SentLink[] = [];
  const published: { t: number; communityId: string; hash: string }[] = [];
  const required = new Map<string, string[]>();
  const requiredRound = new Map<string, number>();
  const history: HistorySample[] = [];

  /** Hashes of every message of every archive of the first owner's latest index of `c`. */
  const readRequired = (c: HarnessCommunity): string[] => {
    const { fs, dataDir } = h.owner.adapters;
    const folder = communityFolder(dataDir, c.id);
    if (!fs.exists(`${folder}/index`)) return [];
    const out: string[] = [];
    for (const meta of readIndex(fs, folder, codec).archives.values())
      for (const m of readArchiveMessages(fs, folder, meta, codec).messages) out.push(byteKey(m.hash));
    return out.sort();
  };
  const refreshRequired = (): void => {
    for (const c of h.communities) {
      const rounds = h.owner.log.filter(
        (s) => s.type === 'archive.roundCreated' && s.communityId === c.id,
      ).length;
      if (rounds !== (requiredRound.get(c.id) ?? 0)) {
        required.set(c.id, readRequired(c));
        requiredRound.set(c.id, rounds);
      }
    }
  };
  const held = (n: HarnessNode, c: HarnessCommunity): Set<string> =>
    new Set(
      n.adapters.storage.messagesInRange(c.topics, 0, Number.MAX_SAFE_INTEGER).map((m) => byteKey(m.hash)),
    );
  const holdsFull = (n: HarnessNode, c: HarnessCommunity): boolean => {
    const have = held(n, c);
    return (required.get(c.id) ?? []).every((x) => have.has(x));
  };
  /** Links the control nodes' machines dispatched so far, oldest first. */
  const dispatchedLinks = (communityId?: string): SentLink[] => {
    const out: SentLink[] = [];
    for (const n of allNodes)
      for (const s of n.log)
        if (
          s.type === 'archive.magnetlinkDispatched' &&
          (communityId === undefined || s.communityId === communityId)
        )
          out.push({
            t: s.t,
            communityId: s.communityId,
            sender: name(n.id),
            clock: s.clock,
            magnetUri: s.magnetUri,
            how: 'dispatched',
          });
    return out.sort((a, b) => a.t - b.t || a.clock - b.clock);
  };

  const sampleEvery = sampleInterval(scenario.duration);
  const sample = (): void => {
    refreshRequired();
    for (const c of h.communities) {
      if ((required.get(c.id) ?? []).length === 0) continue;
      const readers = allNodes.filter(
        (n) => !ownerIds.has(n.id) && n.archive !== undefined && isMember(n.id, c) && !n.sim.crashed,
      );
      if (readers.length === 0) continue;
      const full = readers.filter((n) => holdsFull(n, c)).length;
      history.push({ t: world.kernel.now(), communityId: c.id, share: full / readers.length });
    }
  };
  const sampling = options.sampleHistory !== false;
  if (sampling) for (let t = sampleEvery; t <= scenario.duration; t += sampleEvery) h.at(t, sample);

  // ------------------------------------------------------------ traffic
  scenario.traffic.forEach((traffic, index) => {
    const rng = world.rng(`scenario.traffic.${index}`);
    const spec = specs[communityIndex.get(traffic.community) as number] as Community;
    const c = community(traffic.community);
    const chatIndexes = (traffic.chats ?? spec.chats).map((chat) => spec.chats.indexOf(chat));
    const senderIds = (traffic.senders ?? scenario.nodes.map((n) => n.name)).map(id);
    const to = Math.min(traffic.to ?? scenario.duration, scenario.duration);
    const size = typeof traffic.size === 'number' ? { min: traffic.size, max: traffic.size } : traffic.size;
    const perMs = traffic.rate.count / traffic.rate.perMs;
    const DAY = 86_400_000;
    for (let from = traffic.from; from < to; from += DAY) {
      const sliceStart = from;
      h.at(sliceStart, () => {
        const end = Math.min(sliceStart + DAY, to);
        const expected = perMs * (end - sliceStart);
        const n = Math.floor(expected) + (rng.chance(expected - Math.floor(expected)) ? 1 : 0);
        const times: number[] = [];
        for (let i = 0; i < n; i++) times.push(rng.int(sliceStart, end - 1));
        times.sort((a, b) => a - b);
        for (const t of times) {
          h.at(t, () => {
            const ready = senderIds.filter((s) => {
              const node = h.node(s);
              return node.archive !== undefined && node.sim.online && isMember(s, c);
            });
            if (ready.length === 0) return;
            const sender = rng.pick(ready);
            const message = h.publish(sender, rng.pick(chatIndexes), rng.int(size.min, size.max), c.index);
            published.push({ t: world.kernel.now(), communityId: c.id, hash: byteKey(message.hash) });
          });
        }
      });
    }
  });

  // ------------------------------------------------------------ timeline
  const sendLink = (
    c: HarnessCommunity,
    senderId: string,
    priv: Uint8Array,
    clock: number,
    magnetUri: string,
    how: SentLink['how'],
  ) => {
    const payload = encodeMagnetlinkMessage(priv, clock, magnetUri);
    const magnetTopic = magnetTopicOf(c);
    const message = wrapRelayPayload(magnetTopic, payload, Math.floor(clock / 1000));
    sent.push({ t: world.kernel.now(), communityId: c.id, sender: name(senderId), clock, magnetUri, how });
    void h.node(senderId).adapters.messaging.publish({
      pubsubTopic: c.pubsubTopic,
      contentTopic: contentTopicOf(magnetTopic),
      message,
    });
  };
  const skipped = (action: Action, reason: string) =>
    world.trace.record('scenario.skipped', { do: action.do, reason });

  const apply = (action: Action): void => {
    const { at: _at, ...fields } = action;
    world.trace.record('scenario.action', fields);
    switch (action.do) {
      case 'offline':
        h.offline(id(action.node));
        return;
      case 'online':
        h.online(id(action.node));
        return;
      case 'crash':
        h.crash(id(action.node));
        return;
      case 'restart': {
        // the harness boots the node with its communities from the start
        const n = scenario.nodes.find((x) => x.name === action.node) as Scenario['nodes'][number];
        h.restart(id(action.node));
        for (const c of h.communities) setMembership(id(action.node), c.id, undefined);
        for (const i of joinedAtStart(n))
          setMembership(id(action.node), (h.communities[i] as HarnessCommunity).id, true);
        return;
      }
      case 'join': {
        const c = community(action.community);
        const node = h.node(id(action.node));
        if (!node.archive) {
          skipped(action, 'node not running');
          return;
        }
        node.archive.join(c.config);
        setMembership(node.id, c.id, true);
        return;
      }
      case 'leave': {
        const c = community(action.community);
        h.node(id(action.node)).archive?.leave(c.id);
        setMembership(id(action.node), c.id, false);
        return;
      }
      case 'protocol':
        if (action.enabled) h.node(id(action.node)).archive?.enableProtocol();
        else h.node(id(action.node)).archive?.disableProtocol();
        return;
      case 'archiveSupport':
        h.node(id(action.node)).archive?.setArchiveSupport(community(action.community).id, action.enabled);
        return;
      case 'importRate':
        h.node(id(action.node)).archive?.setImportRate(action.rate);
        return;
      case 'partition':
        world.network.partition(action.groups.map((g) => g.map(id)));
        return;
      case 'heal':
        world.network.heal();
        return;
      case 'network':
        world.network.setDefaults(networkOptions(action.conditions));
        if (action.conditions.bandwidth !== undefined)
          for (const n of allNodes)
            world.swarm.setBandwidth(n.id, action.conditions.bandwidth, action.conditions.bandwidth);
        if (action.conditions.seedDelay !== undefined) setSeedDelay(action.conditions.seedDelay);
        return;
      case 'corruptStoredArchive':
        armedCorruption.add(memberKey(id(action.node), community(action.community).id));
        return;
      case 'corruptPieces':
        world.swarm.corruptNextPiece(id(action.node), action.pieces);
        return;
      case 'forgeMagnetlink': {
        // The member signs with a key of its own: the signer is not the community.
        const c = community(action.community);
        const own = generateCommunityKey(world.rng(`scenario.forge.${action.node}`).bytes(32));
        const latest = dispatchedLinks(c.id).at(-1)?.magnetUri;
        const magnetUri =
          latest ?? magnetFor(hexDigits(world.rng('scenario.forge.uri').bytes(20)), communityIdOf(own));
        sendLink(c, id(action.node), own, world.kernel.now(), magnetUri, 'forged');
        return;
      }
      case 'replayMagnetlink': {
        const c = community(action.community);
        const dispatched = dispatchedLinks(c.id);
        const link = action.link < 0 ? dispatched.at(action.link) : dispatched[action.link];
        if (!link) {
          skipped(action, 'no such dispatched link yet');
          return;
        }
        const firstMember = others.find((n) => n.role === 'member' && joinedAtStart(n).includes(c.index));
        const from = action.node ? id(action.node) : firstMember ? id(firstMember.name) : 'owner';
        // The same signed message again: signing is deterministic (RFC 6979), so re-encoding
        // the recorded clock and link with the community key gives the original bytes.
        sendLink(c, from, c.key, link.clock, link.magnetUri, 'replayed');
        return;
      }
      case 'dispatchWithoutIndex': {
        const c = community(action.community);
        const ownerNode = h.node(id(action.node));
        const { fs, torrent, storage } = ownerNode.adapters;
        if (!torrent.running) {
          skipped(action, 'torrent client not running');
          return;
        }
        const parent = '/malformed';
        const folder = `${parent}/${c.id}`;
        fs.mkdirp(folder);
        if (!fs.exists(`${folder}/data`))
          fs.writeAtomic(`${folder}/data`, world.rng('scenario.malformed').bytes(h.options.pieceLength));
        const file = buildTorrentFile(c.id, h.options.pieceLength, [
          { path: 'data', bytes: fs.read(`${folder}/data`) },
        ]);
        const clock = Math.max(world.kernel.now(), (storage.getArchiveState(c.id).magnetlinkClock ?? 0) + 1);
        void torrent.seed(file, parent).then((infoHash) => {
          sendLink(c, ownerNode.id, c.key, clock, magnetFor(infoHash, c.id), 'withoutIndex');
        });
        return;
      }
    }
  };
  if (!primary.protocolEnabled) h.at(0, () => h.owner.archive?.disableProtocol());
  if (!primary.archiveSupport)
    h.at(0, () => {
      for (const c of h.communities) h.owner.archive?.setArchiveSupport(c.id, false);
    });
  if (primary.importRate)
    h.at(0, () => h.owner.archive?.setImportRate(primary.importRate as 'slow' | 'fast'));
  for (const action of scenario.timeline) h.at(action.at, () => apply(action));

  // ------------------------------------------------------------ run
  const slice = Math.max(3_600_000, Math.ceil(scenario.duration / 100));
  for (let done = 0; done < scenario.duration; ) {
    done = Math.min(scenario.duration, done + slice);
    await h.advance({ until: done });
    options.onProgress?.(done, scenario.duration);
    if (h.monitor.violation) break;
  }
  const summary = h.summary();
  if (sampling) sample();

  // §10.9 convergence over the members that are up, joined and have the feature on.
  const supportOff = new Set<string>();
  for (const n of scenario.nodes)
    if (!n.archiveSupport) for (const c of h.communities) supportOff.add(memberKey(id(n.name), c.id));
  for (const a of scenario.timeline)
    if (a.do === 'archiveSupport') {
      const k = memberKey(id(a.node), community(a.community).id);
      if (a.enabled) supportOff.delete(k);
      else supportOff.add(k);
    }
  if (!summary.violation) {
    for (const c of h.communities) {
      const readers = allNodes.filter(
        (n) =>
          !ownerIds.has(n.id) &&
          n.archive !== undefined &&
          !n.sim.crashed &&
          n.sim.online &&
          isMember(n.id, c) &&
          !supportOff.has(memberKey(n.id, c.id)) &&
          // its disk destroyed an archive it had verified (`corruptStoredArchive`): the
          // protocol has no repair for that, so §10.9 cannot be demanded of it
          !corruptedStorage.has(memberKey(n.id, c.id)) &&
          n.archive.state() === 'enabled' &&
          !n.log.some((s) => s.type === 'archive.nodeFailed'),
      );
      h.monitor.checkConvergence({
        owner: h.owner,
        communityId: c.id,
        members: readers,
        mode: h.options.importMode,
      });
    }
  }
  const invariants: Record<string, string> = { ...h.monitor.verdicts() };
  world.trace.record('scenario.end', { invariants });

  // ------------------------------------------------------------ gather
  const signals: ObservedSignal[] = [];
  const activity: ActivityEvent[] = [];
  const rounds: RoundResult[] = [];
  const received: { t: number; communityId: string; clock: number; magnetUri: string; accepted: boolean }[] =
    [];
  for (const n of allNodes) {
    for (const s of n.log) {
      const who = name(n.id);
      const cid = 'communityId' in s ? s.communityId : undefined;
      if (s.type.startsWith('community.')) {
        signals.push({
          t: s.t,
          node: who,
          community: cid ? communityNameOf.get(cid) : undefined,
          name: s.type,
        });
      }
      if (s.type === 'archive.roundCreated') {
        if (n === h.owner)
          rounds.push({
            communityId: s.communityId,
            start: s.start * 1000,
            end: s.end * 1000,
            archives: s.archives.length,
            infoHash: s.infoHash ?? '',
          });
        activity.push({
          t: s.t,
          node: who,
          communityId: s.communityId,
          kind: 'round',
          detail: `${s.archives.length} archives`,
        });
      } else if (s.type === 'archive.magnetlinkDispatched') {
        activity.push({ t: s.t, node: who, communityId: s.communityId, kind: 'dispatch' });
      } else if (s.type === 'community.historyArchiveDownloaded') {
        activity.push({ t: s.t, node: who, communityId: s.communityId, kind: 'download' });
      } else if (s.type === 'archive.archiveImported') {
        activity.push({
          t: s.t,
          node: who,
          communityId: s.communityId,
          kind: 'import',
          detail: `${s.messages} messages`,
        });
      } else if (s.type === 'archive.magnetlinkReceived') {
        received.push({
          t: s.t,
          communityId: s.communityId,
          clock: s.clock,
          magnetUri: s.magnetUri,
          accepted: s.accepted,
        });
      }
    }
  }
  for (const l of sent)
    activity.push({ t: l.t, node: l.sender, communityId: l.communityId, kind: 'dispatch', detail: l.how });
  activity.sort((a, b) => a.t - b.t || a.node.localeCompare(b.node) || a.kind.localeCompare(b.kind));
  signals.sort((a, b) => a.t - b.t);

  // A receipt belongs to the latest send of the same message at or before it.
  const sentSorted = [...dispatchedLinks(), ...sent].sort((a, b) => a.t - b.t || a.clock - b.clock);
  const acceptedSends = new Set<SentLink>();
  for (const r of received) {
    if (!r.accepted) continue;
    let match: SentLink | undefined;
    for (const l of sentSorted)
      if (l.clock === r.clock && l.magnetUri === r.magnetUri && l.t <= r.t) match = l;
    if (match) acceptedSends.add(match);
  }
  const magnetlinks: MagnetlinkResult[] = sentSorted.map((l) => {
    let infoHash = '';
    try {
      infoHash = infoHashFromMagnet(l.magnetUri);
    } catch {
      infoHash = '';
    }
    return {
      communityId: l.communityId,
      sender: l.sender,
      clock: l.clock,
      infoHash,
      accepted: acceptedSends.has(l),
    };
  });

  refreshRequired();
  const members: MemberResult[] = [];
  const observedMembers: ObservedMember[] = [];
  for (const { node: n, community: c } of pairs()) {
    const mine = n.log.filter((s) => 'communityId' in s && s.communityId === c.id);
    const downloaded = mine.filter((s) => s.type === 'community.historyArchiveDownloaded').length;
    let imported = 0;
    let messagesImported = 0;
    const tasks: Record<string, number> = {};
    for (const s of mine) {
      if (s.type === 'archive.archiveImported') {
        imported++;
        messagesImported += s.messages;
      } else if (s.type === 'archive.taskEnded') tasks[s.status] = (tasks[s.status] ?? 0) + 1;
    }
    // torrent bytes are counted per node, not per community
    const bytes = n.sim.bytes();
    members.push({
      node: name(n.id),
      communityId: c.id,
      downloaded,
      imported,
      messagesImported,
      bytesDown: bytes.down,
      bytesUp: bytes.up,
    });
    const have = held(n, c);
    observedMembers.push({
      node: name(n.id),
      community: communityNameOf.get(c.id) as string,
      downloaded,
      imported,
      messagesImported,
      bytesDown: bytes.down,
      missingMessages: published.filter((p) => p.communityId === c.id && !have.has(p.hash)).length,
      fullHistory: (required.get(c.id) ?? []).every((x) => have.has(x)),
      member: isMember(n.id, c),
      magnetlinksReceived: n.log.filter(
        (s) =>
          (s.type === 'archive.magnetlinkReceived' && s.communityId === c.id) ||
          // a link whose signer is no community this node knows names no community
          (s.type === 'archive.magnetlinkRejected' && h.communities.length === 1),
      ).length,
      tasks,
    });
  }

  const download = scenario.options.download;
  const checks = checkWatch.verdicts({
    download: download === undefined || typeof download === 'string' ? (download ?? 'all') : 'range',
    nameOf: name,
  });
  const nodeStates: Observations['nodeStates'] = {};
  for (const n of allNodes)
    nodeStates[name(n.id)] = n.sim.crashed ? 'crashed' : n.sim.online ? 'online' : 'offline';
  const observedLinks: ObservedMagnetlink[] = magnetlinks.map((m) => ({
    community: communityNameOf.get(m.communityId) as string,
    sender: m.sender,
    accepted: m.accepted,
  }));
  const observations: Observations = {
    signals,
    members: observedMembers,
    nodeStates,
    rounds: rounds.map((r) => ({
      community: communityNameOf.get(r.communityId) as string,
      archives: r.archives,
    })),
    magnetlinks: observedLinks,
    invariants,
    checks,
  };
  const expectations = scenario.expect.map((e) => evaluateExpectation(e, observations));
  const expected = expectedViolations(scenario);
  const violated = Object.entries(invariants).some(
    ([k, v]) => v !== 'ok' && v !== 'not checked' && !expected.has(k as never),
  );
  const signalCounts: Record<string, number> = {};
  for (const s of signals) signalCounts[s.name] = (signalCounts[s.name] ?? 0) + 1;
  const sortedCounts: Record<string, number> = {};
  for (const k of Object.keys(signalCounts).sort()) sortedCounts[k] = signalCounts[k] as number;

  const result: RunResult = {
    scenario: scenario.name,
    seed,
    ok: !violated && expectations.every((e) => e.ok),
    traceHash: world.trace.hash(),
    virtualMs: world.kernel.now() - start,
    events: world.trace.count,
    rounds,
    magnetlinks,
    members,
    signals: sortedCounts,
    invariants,
    checks,
    expectations,
  };
  const communityNames: Record<string, string> = {};
  for (const [cid, n] of communityNameOf) communityNames[cid] = n;
  // The world keeps its own lines from its first event on (world.start, node.add, …).
  const traceLines = options.keepTrace ? [traceHeaderLine(scenario, seed), ...world.trace.lines()] : [];
  return { result, details: { start, communityNames, activity, history }, traceLines };
}
