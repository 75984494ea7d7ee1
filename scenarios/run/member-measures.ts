// Per member and community, what the node expectations beyond the counts measure: how long
// it took to hold the full history after the node (re)started, how long its import ran and
// how long after its start it began, the largest archive it read whole for an import (the
// reference reads and decodes an archive at once, so that is its import's memory), its
// progress through the latest index it read, its failed imports, what still waits for
// import, and how often its torrent client failed to start. Time to history is judged live
// (at each import and each task's end), the rest from the signal log at the end.

import type { NodeSignal } from '../../machines/signals.ts';
import type { ObservedMember } from '../expectations.ts';
import type { HarnessCommunity, HarnessNode } from '../harness.ts';
import type { ArchiveCatalog } from './archive-catalog.ts';
import type { RequiredHistory } from './history.ts';
import { memberKey } from './membership.ts';

export type MemberMeasure = Pick<
  ObservedMember,
  | 'timeToHistory'
  | 'importDuration'
  | 'importStartedAfter'
  | 'peakImportBytes'
  | 'progress'
  | 'pendingImports'
  | 'importFailures'
  | 'torrentClientFailures'
>;

export class MemberMeasures {
  readonly #catalog: ArchiveCatalog;
  #communities = new Map<string, HarnessCommunity>();
  #history: RequiredHistory | undefined;
  /** Node id -> the virtual ms of each start of its actor. */
  readonly #boots = new Map<string, number[]>();
  /** (node, community) -> ms from the latest start to holding the full history. */
  readonly #timeToHistory = new Map<string, number>();

  constructor(catalog: ArchiveCatalog) {
    this.#catalog = catalog;
  }

  /** The history members must hold and the communities (built with the world, so given late). */
  use(history: RequiredHistory, communities: HarnessCommunity[]): void {
    this.#history = history;
    this.#communities = new Map(communities.map((c) => [c.id, c]));
  }

  onBoot(n: HarnessNode, t: number): void {
    const boots = this.#boots.get(n.id) ?? [];
    boots.push(t);
    this.#boots.set(n.id, boots);
    for (const c of this.#communities.values()) this.#timeToHistory.delete(memberKey(n.id, c.id));
  }

  onSignal(n: HarnessNode, s: NodeSignal): void {
    if (s.type !== 'archive.archiveImported' && s.type !== 'archive.taskEnded') return;
    const key = memberKey(n.id, s.communityId);
    const c = this.#communities.get(s.communityId);
    const history = this.#history;
    if (!c || !history || this.#timeToHistory.has(key)) return;
    history.refresh();
    if (history.of(c.id).length === 0 || !history.holdsFull(n, c)) return;
    this.#timeToHistory.set(key, s.t - (this.#boots.get(n.id)?.at(-1) ?? 0));
  }

  /** The start of the node's actor at or before `t`. */
  #bootBefore(nodeId: string, t: number): number | undefined {
    let at: number | undefined;
    for (const b of this.#boots.get(nodeId) ?? []) if (b <= t) at = b;
    return at;
  }

  measure(n: HarnessNode, c: HarnessCommunity): MemberMeasure {
    let firstImport: number | undefined;
    let lastImported: number | undefined;
    let peak = 0;
    let latestIndex: string[] | undefined;
    const imported = new Set<string>();
    const failures: Record<string, number> = {};
    let torrentFailures = 0;
    for (const s of n.log) {
      if (s.type === 'archive.torrentClientFailed') torrentFailures++;
      if (!('communityId' in s) || s.communityId !== c.id) continue;
      if (s.type === 'community.importingHistoryArchiveMessages') firstImport ??= s.t;
      else if (s.type === 'archive.archiveImported') {
        lastImported = s.t;
        imported.add(s.id);
        const a = this.#catalog.get(s.id);
        if (a) peak = Math.max(peak, a.size - a.padding);
      } else if (s.type === 'archive.indexRead') latestIndex = s.ids;
      else if (s.type === 'archive.importFailed') failures[s.reason] = (failures[s.reason] ?? 0) + 1;
    }
    const out: MemberMeasure = {
      peakImportBytes: peak,
      pendingImports: n.adapters.storage.archives(c.id).filter((a) => !a.imported).length,
      importFailures: failures,
      torrentClientFailures: torrentFailures,
    };
    const toHistory = this.#timeToHistory.get(memberKey(n.id, c.id));
    if (toHistory !== undefined) out.timeToHistory = toHistory;
    if (firstImport !== undefined) {
      const boot = this.#bootBefore(n.id, firstImport);
      if (boot !== undefined) out.importStartedAfter = firstImport - boot;
      if (lastImported !== undefined) out.importDuration = lastImported - firstImport;
    }
    if (latestIndex !== undefined)
      out.progress =
        latestIndex.length === 0
          ? 100
          : Math.floor((100 * latestIndex.filter((id) => imported.has(id)).length) / latestIndex.length);
    return out;
  }
}
