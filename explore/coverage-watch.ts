// Recording what one explored run reached (explore/coverage.ts sums the runs):
// - the machines' states and transition branches, from XState's inspection of every node's
//   actors (explore/machine-coverage.ts);
// - the fault kinds the run injected: the fault windows of its timeline, read through the
//   registry (scenarios/faults/), and a second control node that came up;
// - the reference quirks whose switch came to decide something, seen in the node signals
//   at the moment the machines consult the switch:
//   noNewArchivesByCount      a member read an index holding as many archives as it had,
//                             one of them new to it (on: "no new archives"; off: download);
//   retryUndecodableForever   an archive failed to decode (on: retried; off: skipped);
//   dispatchCrashOnMissingCommunity  a control node's seeding completed for a community
//                             it had left (on: the node fails; off: no dispatch);
//   extraPaddingPiece         an archive's bytes were an exact multiple (> 1) of the piece
//                             length (on: a whole piece of zeros more; off: none);
//   cidArchivePhaseTimeout    a content-addressed task's archive phase (from reading its
//                             index to its end) lasted the phase timer's length or longer
//                             (on: cut at the timer; off: it went on);
//   cidInvertedUnseed         a node kept (seeded) another index of a community than the one
//                             it kept before (on: the old one stays held; off: dropped).

import type { InspectionEvent } from 'xstate';
import { resolveOptions } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { FAULTS } from '../scenarios/faults/index.ts';
import type { HarnessNode } from '../scenarios/harness.ts';
import type { RunDetails } from '../scenarios/result.ts';
import { machineOptions } from '../scenarios/runner.ts';
import type { Scenario } from '../scenarios/schema.ts';
import { type Coverage, emptyCoverage, type RunCoverage } from './coverage.ts';
import { MachineCoverageRecorder, machineUniverse } from './machine-coverage.ts';

export const QUIRKS = [
  'noNewArchivesByCount',
  'retryUndecodableForever',
  'dispatchCrashOnMissingCommunity',
  'extraPaddingPiece',
  'cidArchivePhaseTimeout',
  'cidInvertedUnseed',
] as const;

let known: { states: Set<string> } | undefined;
const universe = (): { states: Set<string> } => {
  known ??= { states: new Set(machineUniverse().states) };
  return known;
};

/** Every item an exploration can reach, each with no runs yet. */
export function noCoverage(): Coverage {
  const { states, transitions } = machineUniverse();
  return emptyCoverage({ states, transitions, faults: FAULTS.map((k) => k.name), quirks: QUIRKS });
}

/** Whether `node` (scenario name) belonged to `community` at virtual offset `t`, by the scenario. */
function memberAt(scenario: Scenario, node: string, community: string, t: number): boolean {
  const spec = scenario.nodes.find((n) => n.name === node);
  const initially = spec
    ? (spec.communities ?? scenario.communities.map((c) => c.id)).includes(community)
    : false;
  let member = initially;
  for (const a of scenario.timeline) {
    if (a.at > t) break;
    if ((a.do === 'leave' || a.do === 'join') && a.node === node && a.community === community)
      member = a.do === 'join';
    // a restarted node comes back with its settings from the scenario file
    else if (a.do === 'restart' && a.node === node) member = initially;
  }
  return member;
}

export interface CoverageWatch {
  inspect(event: InspectionEvent): void;
  onSignal(node: HarnessNode, signal: NodeSignal): void;
  /** The run's coverage, once it ended. */
  finish(details: RunDetails): RunCoverage;
}

export function watchCoverage(scenario: Scenario): CoverageWatch {
  const machines = new MachineCoverageRecorder();
  const quirks = new Set<string>();
  const resolved = resolveOptions(machineOptions(scenario));
  const pieceLength = resolved.pieceLength;
  const primary = scenario.nodes.find((n) => n.role === 'owner');
  const nameOf = (id: string): string => (id === 'owner' && primary ? primary.name : id);
  const owners = new Set(scenario.nodes.filter((n) => n.role === 'owner').map((n) => n.name));
  /** Control nodes' seedings, judged once the community names are known. */
  const seedings: { node: string; communityId: string; t: number }[] = [];
  const phaseMs = resolved.cidArchivePhaseTimeoutMs;
  /** Per node and community: when its content-addressed task read its index; the index it kept last. */
  const phaseFrom = new Map<string, number>();
  const keptIndex = new Map<string, string>();
  return {
    inspect: machines.inspect,
    onSignal(node, s) {
      const key = 'communityId' in s ? `${node.id}\u0000${s.communityId}` : '';
      // the decision whether to drop the index kept before (made before or after this signal,
      // whichever way the switch is set): reached when the node keeps another index than it last kept
      if (s.type === 'archive.indexCidSeeded') {
        const before = keptIndex.get(key);
        if (before !== undefined && before !== s.indexCid) quirks.add('cidInvertedUnseed');
        keptIndex.set(key, s.indexCid);
      }
      if (s.type === 'archive.indexRead' && s.kind === 'cid') phaseFrom.set(key, s.t);
      else if (s.type === 'archive.taskEnded') {
        const from = phaseFrom.get(key);
        phaseFrom.delete(key);
        if (from !== undefined && s.t - from >= phaseMs) quirks.add('cidArchivePhaseTimeout');
      }
      if (s.type === 'archive.indexRead') {
        const known = node.adapters.storage.archives(s.communityId);
        const ids = new Set(known.map((a) => a.id));
        if (known.length === s.ids.length && s.ids.some((id) => !ids.has(id)))
          quirks.add('noNewArchivesByCount');
      } else if (s.type === 'archive.importFailed' && s.reason === 'corrupt') {
        quirks.add('retryUndecodableForever');
      } else if (s.type === 'community.historyArchivesSeeding' && owners.has(nameOf(node.id))) {
        seedings.push({ node: nameOf(node.id), communityId: s.communityId, t: s.t - scenario.start });
      } else if (s.type === 'archive.roundCreated') {
        for (const a of s.archives) {
          const raw = a.size - a.padding;
          if (raw > pieceLength && raw % pieceLength === 0) quirks.add('extraPaddingPiece');
        }
      }
    },
    finish(details) {
      for (const x of seedings) {
        const name = details.communityNames[x.communityId];
        if (name !== undefined && !memberAt(scenario, x.node, name, x.t))
          quirks.add('dispatchCrashOnMissingCommunity');
      }
      const { states } = universe();
      return {
        // a snapshot names the machine's root too, which is no state of its own
        states: [...machines.states].filter((id) => states.has(id)),
        transitions: [...machines.transitions],
        faults: [...new Set(details.faults.map((w) => w.kind))],
        quirks: [...quirks],
      };
    },
  };
}
