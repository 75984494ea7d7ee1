// Running a scenario: the scenario's world is built on the harness (scenarios/harness.ts:
// a SimWorld, the archive node actors and the §10 monitors), its traffic generators and
// timeline are scheduled on the simulator's kernel, the run is driven in slices (so a
// progress bar can follow it), and what happened is gathered into a RunResult whose
// expectations are judged. Nothing here reads the wall clock or Math.random: the same
// scenario and seed give the same trace and the same result.

import { communityFolder, readArchiveMessages, readIndex } from '../archive/index.ts';
import { UserError } from '../cli/errors.ts';
import { wrapRelayPayload } from '../machines/community.ts';
import { type MachineOptions, SECOND } from '../machines/options.ts';
import { communityIdOf, encodeMagnetlinkMessage, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import type { NetworkOptions } from '../sim/network.ts';
import { buildTorrentFile, infoHashFromMagnet, magnetFor } from '../sim/torrent-file.ts';
import { toHex } from '../sim/trace.ts';
import {
  evaluateExpectation,
  expectedViolations,
  type Observations,
  type ObservedMagnetlink,
  type ObservedMember,
  type ObservedSignal,
} from './expectations.ts';
import { createHarness, type Harness, type HarnessMemberSpec, type HarnessNode } from './harness.ts';
import type {
  ActivityEvent,
  HistorySample,
  MagnetlinkResult,
  MemberResult,
  RoundResult,
  RunDetails,
  RunResult,
} from './result.ts';
import type { Action, NetworkConditions, Scenario } from './schema.ts';
import { traceHeaderLine } from './trace-header.ts';

export interface RunOptions {
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Keep the trace lines (for --trace and replay); the hash is always computed. */
  keepTrace?: boolean;
  /** Called between slices of the run with the virtual ms done and the total. */
  onProgress?: (doneMs: number, totalMs: number) => void;
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
  set('countCompareNoNewArchives', q.noNewArchivesByCount);
  set('extraPaddingPiece', q.extraPaddingPiece);
  set('crashOnMissingCommunity', q.dispatchCrashOnMissingCommunity);
  set('retryCorruptArchiveForever', q.retryUndecodableForever);
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
  sender: string;
  clock: number;
  magnetUri: string;
  /** `dispatched` by a control node's machine, or injected by the timeline. */
  how: 'dispatched' | 'forged' | 'replayed' | 'withoutIndex';
}

/** Runs a validated scenario on the simulated world. */
export async function runScenario(scenario: Scenario, options: RunOptions = {}): Promise<RunOutput> {
  const seed = options.seed ?? scenario.seed;
  if (scenario.communities.length !== 1) unsupported('communities', 'more than one community');
  const communitySpec = scenario.communities[0] as Scenario['communities'][number];
  if (communitySpec.encrypted) unsupported('communities[0].encrypted', 'an encrypted community');
  scenario.nodes.forEach((n, i) => {
    if (n.communities && !n.communities.includes(communitySpec.id))
      unsupported(`nodes[${i}].communities`, 'a node outside the community at the start (use joinAt)');
  });
  const owners = scenario.nodes.filter((n) => n.role === 'owner');
  const primary = owners[0] as Scenario['nodes'][number];
  if (primary.joinAt !== 0)
    unsupported(`nodes[${scenario.nodes.indexOf(primary)}].joinAt`, 'a first owner starting late');

  // Scenario names <-> harness ids: the first owner is the harness's `owner`.
  const idOf = new Map<string, string>();
  const nameOf = new Map<string, string>();
  for (const n of scenario.nodes) {
    const id = n === primary ? 'owner' : n.name;
    if (n !== primary && n.name === 'owner')
      unsupported('nodes', `a node named "owner" that is not the first owner`);
    idOf.set(n.name, id);
    nameOf.set(id, n.name);
  }
  const id = (name: string): string => idOf.get(name) as string;
  const name = (nodeId: string): string => nameOf.get(nodeId) ?? nodeId;

  const bandwidth = scenario.network.bandwidth;
  const others = scenario.nodes.filter((n) => n !== primary);
  const memberSpecs: HarnessMemberSpec[] = others.map((n) => ({
    id: n.name,
    // extra owners get the community key before they boot (see below)
    joinAt: n.role === 'owner' ? Math.max(1, n.joinAt) : n.joinAt,
    ...(n.importRate ? { importRate: n.importRate } : {}),
    archiveSupport: n.archiveSupport,
    protocolEnabled: n.protocolEnabled,
    ...(bandwidth !== undefined ? { uploadBps: bandwidth, downloadBps: bandwidth } : {}),
  }));

  const h: Harness = await createHarness({
    seed,
    startTime: scenario.start,
    members: memberSpecs,
    chats: communitySpec.chats.length,
    messagesPerDay: 0,
    durationMs: scenario.duration,
    options: machineOptions(scenario),
    network: networkOptions(scenario.network),
    storeRetentionMs: scenario.store.retention,
    keepSignals: true,
    ...(bandwidth !== undefined ? { ownerUploadBps: bandwidth } : {}),
  });
  const { world, start, communityId } = h;
  const communityName = communitySpec.id;
  const traceLines: string[] = [traceHeaderLine(scenario, seed)];
  if (options.keepTrace) world.trace.onRecord((r) => traceLines.push(r.line));
  world.trace.record('scenario.start', { name: scenario.name, seed, communityId, community: communityName });

  const key = h.owner.sim.sim.keys.communityPrivateKey(communityId) as Uint8Array;
  for (const n of owners) if (n !== primary) h.node(id(n.name)).sim.sim.keys.set(communityId, key);
  if (bandwidth !== undefined) world.swarm.setBandwidth('owner', bandwidth, bandwidth);

  const topics = h.chats.map((c) => chatTopic(c));
  const pubsubTopic = h.options.pubsubTopicOf(communityId);
  const magnetTopic = chatTopic(magnetlinkChannelId(communityId));
  const magnetContentTopic = contentTopicOf(magnetTopic);

  // ------------------------------------------------------------ observation
  const allNodes: HarnessNode[] = [h.owner, ...h.members];
  const membership = new Map<string, boolean>(allNodes.map((n) => [n.id, true]));
  const ownerIds = new Set(owners.map((n) => id(n.name)));
  const sent: SentLink[] = [];
  const published: { t: number; hash: string }[] = [];
  let required: string[] = [];
  let requiredRound = 0;
  const history: HistorySample[] = [];

  /** Hashes of every message of every archive of the first owner's latest index. */
  const readRequired = (): string[] => {
    const { fs, dataDir } = h.owner.adapters;
    const folder = communityFolder(dataDir, communityId);
    if (!fs.exists(`${folder}/index`)) return [];
    const out: string[] = [];
    for (const meta of readIndex(fs, folder).archives.values())
      for (const m of readArchiveMessages(fs, folder, meta).messages) out.push(toHex(m.hash));
    return out.sort();
  };
  const held = (n: HarnessNode): Set<string> =>
    new Set(n.adapters.storage.messagesInRange(topics, 0, Number.MAX_SAFE_INTEGER).map((m) => toHex(m.hash)));
  const holdsFull = (n: HarnessNode): boolean => {
    const have = held(n);
    return required.every((x) => have.has(x));
  };
  /** Links the control nodes' machines dispatched so far, oldest first. */
  const dispatchedLinks = (): SentLink[] => {
    const out: SentLink[] = [];
    for (const n of allNodes)
      for (const s of n.log)
        if (s.type === 'archive.magnetlinkDispatched')
          out.push({ t: s.t, sender: name(n.id), clock: s.clock, magnetUri: s.magnetUri, how: 'dispatched' });
    return out.sort((a, b) => a.t - b.t || a.clock - b.clock);
  };

  const sampleEvery = sampleInterval(scenario.duration);
  const sample = (): void => {
    const roundsSeen = h.owner.counts['archive.roundCreated'] ?? 0;
    if (roundsSeen !== requiredRound) {
      required = readRequired();
      requiredRound = roundsSeen;
    }
    if (required.length === 0) return;
    const readers = allNodes.filter(
      (n) => !ownerIds.has(n.id) && n.archive !== undefined && membership.get(n.id) && !n.sim.crashed,
    );
    if (readers.length === 0) return;
    const full = readers.filter(holdsFull).length;
    history.push({ t: world.kernel.now(), communityId, share: full / readers.length });
  };
  for (let t = sampleEvery; t <= scenario.duration; t += sampleEvery) h.at(t, sample);

  // ------------------------------------------------------------ traffic
  scenario.traffic.forEach((traffic, index) => {
    const rng = world.rng(`scenario.traffic.${index}`);
    const chatIndexes = (traffic.chats ?? communitySpec.chats).map((c) => communitySpec.chats.indexOf(c));
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
              return node.archive !== undefined && node.sim.online && membership.get(s);
            });
            if (ready.length === 0) return;
            const sender = rng.pick(ready);
            const message = h.publish(sender, rng.pick(chatIndexes), rng.int(size.min, size.max));
            published.push({ t: world.kernel.now(), hash: toHex(message.hash) });
          });
        }
      });
    }
  });

  // ------------------------------------------------------------ timeline
  const sendLink = (
    senderId: string,
    priv: Uint8Array,
    clock: number,
    magnetUri: string,
    how: SentLink['how'],
  ) => {
    const payload = encodeMagnetlinkMessage(priv, clock, magnetUri);
    const message = wrapRelayPayload(magnetTopic, payload, Math.floor(clock / 1000));
    sent.push({ t: world.kernel.now(), sender: name(senderId), clock, magnetUri, how });
    void h
      .node(senderId)
      .adapters.messaging.publish({ pubsubTopic, contentTopic: magnetContentTopic, message });
  };
  const firstMember = others.find((n) => n.role === 'member');

  const apply = (action: Action): void => {
    const { at: _at, ...fields } = action;
    world.trace.record('scenario.action', fields);
    switch (action.do) {
      case 'offline':
        h.node(id(action.node)).sim.goOffline();
        return;
      case 'online':
        h.node(id(action.node)).sim.goOnline();
        return;
      case 'crash':
        h.crash(id(action.node));
        return;
      case 'restart':
        h.restart(id(action.node));
        membership.set(id(action.node), true);
        return;
      case 'join':
        h.node(id(action.node)).archive?.join(h.community);
        membership.set(id(action.node), true);
        return;
      case 'leave':
        h.node(id(action.node)).archive?.leave(communityId);
        membership.set(id(action.node), false);
        return;
      case 'protocol':
        if (action.enabled) h.node(id(action.node)).archive?.enableProtocol();
        else h.node(id(action.node)).archive?.disableProtocol();
        return;
      case 'archiveSupport':
        h.node(id(action.node)).archive?.setArchiveSupport(communityId, action.enabled);
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
        return;
      case 'corruptPieces':
        world.swarm.corruptNextPiece(id(action.node), action.pieces);
        return;
      case 'forgeMagnetlink': {
        // The member signs with a key of its own: the signer is not the community.
        const own = generateCommunityKey(world.rng(`scenario.forge.${action.node}`).bytes(32));
        const latest = dispatchedLinks().at(-1)?.magnetUri;
        const magnetUri =
          latest ?? magnetFor(toHex(world.rng('scenario.forge.uri').bytes(20)), communityIdOf(own));
        sendLink(id(action.node), own, world.kernel.now(), magnetUri, 'forged');
        return;
      }
      case 'replayMagnetlink': {
        const dispatched = dispatchedLinks();
        const link = action.link < 0 ? dispatched.at(action.link) : dispatched[action.link];
        if (!link) {
          world.trace.record('scenario.skipped', { do: action.do, reason: 'no such dispatched link yet' });
          return;
        }
        const from = action.node ? id(action.node) : firstMember ? id(firstMember.name) : 'owner';
        // The same signed message again: signing is deterministic (RFC 6979), so re-encoding
        // the recorded clock and link with the community key gives the original bytes.
        sendLink(from, key, link.clock, link.magnetUri, 'replayed');
        return;
      }
      case 'dispatchWithoutIndex': {
        const ownerNode = h.node(id(action.node));
        const { fs, torrent, storage } = ownerNode.adapters;
        const parent = '/malformed';
        const folder = `${parent}/${communityId}`;
        fs.mkdirp(folder);
        const data = world.rng('scenario.malformed').bytes(h.options.pieceLength);
        if (!fs.exists(`${folder}/data`)) fs.writeAtomic(`${folder}/data`, data);
        const file = buildTorrentFile(communityId, h.options.pieceLength, [
          { path: 'data', bytes: fs.read(`${folder}/data`) },
        ]);
        const clock = Math.max(
          world.kernel.now(),
          (storage.getArchiveState(communityId).magnetlinkClock ?? 0) + 1,
        );
        if (!torrent.running) {
          world.trace.record('scenario.skipped', { do: action.do, reason: 'torrent client not running' });
          return;
        }
        void torrent.seed(file, parent).then((infoHash) => {
          sendLink(ownerNode.id, key, clock, magnetFor(infoHash, communityId), 'withoutIndex');
        });
        return;
      }
    }
  };
  for (const n of scenario.nodes)
    if (n === primary) {
      if (!n.protocolEnabled) h.at(0, () => h.owner.archive?.disableProtocol());
      if (!n.archiveSupport) h.at(0, () => h.owner.archive?.setArchiveSupport(communityId, false));
      if (n.importRate) h.at(0, () => h.owner.archive?.setImportRate(n.importRate as 'slow' | 'fast'));
    }
  for (const action of scenario.timeline) h.at(action.at, () => apply(action));

  // ------------------------------------------------------------ run
  const slice = Math.max(3_600_000, Math.ceil(scenario.duration / 100));
  let summary = h.summary();
  for (let done = 0; done < scenario.duration; ) {
    done = Math.min(scenario.duration, done + slice);
    summary = await h.run({ until: done });
    options.onProgress?.(done, scenario.duration);
    if (summary.violation) break;
  }
  sample();

  // §10.9 convergence over the members that are up, joined and have the feature on.
  const readers = allNodes.filter(
    (n) =>
      !ownerIds.has(n.id) &&
      n.archive !== undefined &&
      !n.sim.crashed &&
      n.sim.online &&
      membership.get(n.id) &&
      n.archive.state() === 'enabled' &&
      !n.log.some((s) => s.type === 'archive.nodeFailed'),
  );
  const supportOff = new Set<string>();
  for (const a of scenario.timeline)
    if (a.do === 'archiveSupport') {
      if (a.enabled) supportOff.delete(id(a.node));
      else supportOff.add(id(a.node));
    }
  if (!summary.violation) {
    h.monitor.checkConvergence({
      owner: h.owner,
      communityId,
      members: readers.filter((n) => !supportOff.has(n.id) && n.spec.archiveSupport !== false),
      mode: h.options.importMode,
    });
  }
  const invariants: Record<string, string> = { ...h.monitor.verdicts() };
  world.trace.record('scenario.end', { invariants });

  // ------------------------------------------------------------ gather
  const signals: ObservedSignal[] = [];
  const activity: ActivityEvent[] = [];
  const rounds: RoundResult[] = [];
  const received: { t: number; clock: number; magnetUri: string; accepted: boolean }[] = [];
  for (const n of allNodes) {
    for (const s of n.log) {
      const who = name(n.id);
      if (s.type.startsWith('community.')) {
        signals.push({ t: s.t, node: who, community: communityName, name: s.type });
      }
      if (s.type === 'archive.roundCreated') {
        if (n === h.owner)
          rounds.push({
            communityId,
            start: s.start * 1000,
            end: s.end * 1000,
            archives: s.archives.length,
            infoHash: s.infoHash ?? '',
          });
        activity.push({
          t: s.t,
          node: who,
          communityId,
          kind: 'round',
          detail: `${s.archives.length} archives`,
        });
      } else if (s.type === 'archive.magnetlinkDispatched') {
        activity.push({ t: s.t, node: who, communityId, kind: 'dispatch' });
      } else if (s.type === 'community.historyArchiveDownloaded') {
        activity.push({ t: s.t, node: who, communityId, kind: 'download' });
      } else if (s.type === 'archive.archiveImported') {
        activity.push({ t: s.t, node: who, communityId, kind: 'import', detail: `${s.messages} messages` });
      } else if (s.type === 'archive.magnetlinkReceived') {
        received.push({ t: s.t, clock: s.clock, magnetUri: s.magnetUri, accepted: s.accepted });
      }
    }
  }
  for (const l of sent)
    activity.push({ t: l.t, node: l.sender, communityId, kind: 'dispatch', detail: l.how });
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
    return { communityId, sender: l.sender, clock: l.clock, infoHash, accepted: acceptedSends.has(l) };
  });

  const publishedHashes = published.map((p) => p.hash);
  const members: MemberResult[] = [];
  const observedMembers: ObservedMember[] = [];
  for (const n of allNodes) {
    const downloaded = n.log.filter((s) => s.type === 'community.historyArchiveDownloaded').length;
    let imported = 0;
    let messagesImported = 0;
    for (const s of n.log)
      if (s.type === 'archive.archiveImported') {
        imported++;
        messagesImported += s.messages;
      }
    const bytes = n.sim.bytes();
    members.push({
      node: name(n.id),
      communityId,
      downloaded,
      imported,
      messagesImported,
      bytesDown: bytes.down,
      bytesUp: bytes.up,
    });
    const have = held(n);
    observedMembers.push({
      node: name(n.id),
      community: communityName,
      downloaded,
      imported,
      messagesImported,
      bytesDown: bytes.down,
      missingMessages: publishedHashes.filter((x) => !have.has(x)).length,
      fullHistory: required.every((x) => have.has(x)),
      member: membership.get(n.id) === true,
    });
  }

  const nodeStates: Observations['nodeStates'] = {};
  for (const n of allNodes)
    nodeStates[name(n.id)] = n.sim.crashed ? 'crashed' : n.sim.online ? 'online' : 'offline';
  const observedLinks: ObservedMagnetlink[] = magnetlinks.map((m) => ({
    community: communityName,
    sender: m.sender,
    accepted: m.accepted,
  }));
  const observations: Observations = {
    signals,
    members: observedMembers,
    nodeStates,
    rounds: rounds.map((r) => ({ community: communityName, archives: r.archives })),
    magnetlinks: observedLinks,
    invariants,
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
    expectations,
  };
  return { result, details: { start, activity, history }, traceLines };
}
