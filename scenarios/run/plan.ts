// Compiling a scenario for a run: the checks the simulated runner needs beyond the schema,
// node names to harness ids, which communities each node joins at its start, the harness's
// member specs, the machines' options and the simulator's network options. Pure.

import { keccak_256 } from '@noble/hashes/sha3.js';
import type { ArchiveCodec } from '../../archive/index.ts';
import { UserError } from '../../errors/user-error.ts';
import { type MachineOptions, SECOND } from '../../machines/options.ts';
import type { ContentNetworkOptions } from '../../sim/content-network.ts';
import type { NetworkOptions } from '../../sim/network.ts';
import type { SwarmOptions } from '../../sim/swarm.ts';
import type { HarnessMemberSpec } from '../harness.ts';
import type { Community, NetworkConditions, NodeSpec, Scenario } from '../schema.ts';
import { simulatedCommunityCodec } from '../sim-codec.ts';

export interface RunPlan {
  scenario: Scenario;
  seed: number;
  communities: Community[];
  owners: NodeSpec[];
  /** The first owner: the harness's `owner`, controlling every community. */
  primary: NodeSpec;
  /** Every node but the primary owner, in scenario order. */
  others: NodeSpec[];
  communityIndex: Map<string, number>;
  /** Indexes of the communities a node belongs to from its start. */
  joinedAtStart(n: NodeSpec): number[];
  /** Harness id of a scenario node name (the first owner is `owner`). */
  id(nodeName: string): string;
  /** Scenario name of a harness id. */
  name(nodeId: string): string;
  /** The scenario node of a name. */
  node(nodeName: string): NodeSpec;
  memberSpecs: HarnessMemberSpec[];
  /** The communities' codec when they are encrypted. */
  codec: ArchiveCodec | undefined;
  options: Partial<MachineOptions>;
  /** The primary owner's options beyond `options` (its own `archiveBackend`). */
  ownerOptions: Partial<MachineOptions> | undefined;
  network: Partial<NetworkOptions>;
  /** The simulator's swarm options (its model). */
  swarm: Partial<SwarmOptions>;
  /** The simulated content network's options. */
  content: Partial<ContentNetworkOptions>;
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
    throw new UserError('options.distribution: content-addressed is chosen by the top-level `backend: cid`');
  const act = o.actOnMagnetlinks ?? (spec ? 'afterQuiet' : 'immediately');
  const out: Partial<MachineOptions> = {
    archiveBackends: s.backend,
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
  set('restartTaskOnSameLink', q.restartTaskOnSameLink);
  set('signalEmptyDownload', q.emptyDownloadSignals);
  set('finishedOnAnyImportEnd', q.finishedOnAnyImportEnd);
  set('startFailsWhenNotMember', q.startFailsWhenNotMember);
  set('storeFailureStopsArchiving', q.storeFailureStopsArchiving);
  set('seedTwiceAtStartup', q.seedTwiceAtStartup);
  set('cidArchivePhaseTimeout', q.cidArchivePhaseTimeout);
  set('cidInvertedUnseed', q.cidInvertedUnseed);
  return out;
}

/** A node's options beyond the scenario's: its own backend, when it differs. */
export function nodeOptions(s: Scenario, n: NodeSpec): Partial<MachineOptions> | undefined {
  return n.archiveBackend !== undefined && n.archiveBackend !== s.backend
    ? { archiveBackends: n.archiveBackend }
    : undefined;
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

/** Checks what the runner supports and lays the scenario out for the harness. */
export function compileScenario(scenario: Scenario, seed: number): RunPlan {
  const communities = scenario.communities;
  const owners = scenario.nodes.filter((n) => n.role === 'owner');
  const primary = owners[0] as NodeSpec;
  const primaryIndex = scenario.nodes.indexOf(primary);
  if (primary.joinAt !== 0) unsupported(`nodes[${primaryIndex}].joinAt`, 'a first owner starting late');
  if (primary.communities && communities.some((c) => !primary.communities?.includes(c.id)))
    unsupported(`nodes[${primaryIndex}].communities`, 'a first owner that does not own every community');
  if (communities.some((c) => c.encrypted !== (communities[0] as Community).encrypted))
    unsupported('communities', 'mixing encrypted and plain communities');
  const communityIndex = new Map(communities.map((c, i) => [c.id, i]));
  const joinedAtStart = (n: NodeSpec): number[] =>
    (n.communities ?? communities.map((c) => c.id)).map((c) => communityIndex.get(c) as number);

  const idOf = new Map<string, string>();
  const nameOf = new Map<string, string>();
  const byName = new Map<string, NodeSpec>();
  for (const n of scenario.nodes) {
    const nodeId = n === primary ? 'owner' : n.name;
    if (n !== primary && n.name === 'owner')
      unsupported('nodes', 'a node named "owner" that is not the first owner');
    idOf.set(n.name, nodeId);
    nameOf.set(nodeId, n.name);
    byName.set(n.name, n);
  }

  const bandwidth = scenario.network.bandwidth;
  const others = scenario.nodes.filter((n) => n !== primary);
  const memberSpecs: HarnessMemberSpec[] = others.map((n) => {
    const own = nodeOptions(scenario, n);
    return {
      id: n.name,
      // further owners get the community keys before they boot (see runner.ts)
      joinAt: n.role === 'owner' ? Math.max(1, n.joinAt) : n.joinAt,
      communities: joinedAtStart(n),
      ...(n.importRate ? { importRate: n.importRate } : {}),
      archiveSupport: n.archiveSupport,
      protocolEnabled: n.protocolEnabled,
      ...(bandwidth !== undefined ? { uploadBps: bandwidth, downloadBps: bandwidth } : {}),
      ...(own ? { options: own } : {}),
    };
  });
  const codec = (communities[0] as Community).encrypted
    ? simulatedCommunityCodec(keccak_256(new TextEncoder().encode(`archivist.scenario.codec:${seed}`)))
    : undefined;

  return {
    scenario,
    seed,
    communities,
    owners,
    primary,
    others,
    communityIndex,
    joinedAtStart,
    id: (nodeName) => idOf.get(nodeName) as string,
    name: (nodeId) => nameOf.get(nodeId) ?? nodeId,
    node: (nodeName) => byName.get(nodeName) as NodeSpec,
    memberSpecs,
    codec,
    options: machineOptions(scenario),
    ownerOptions: nodeOptions(scenario, primary),
    network: networkOptions(scenario.network),
    swarm: { model: scenario.swarm },
    content: { serveUnfinished: scenario.contentNetwork.serveUnfinished },
  };
}
