// Gaps in the imported history: for every member and community, the union of the time
// ranges of the archives it imported must cover the ranges of the latest index it read, up
// to the newest archive it imported. A part of that history left out while a later part
// was imported is a gap of messages the member will never get from this index (an archive
// skipped as undecodable, "no new archives" by count while ids differ, a download policy
// that takes only some archives). Ranges are compared by time, so archives of another
// control node (a re-based or diverging index, §9) count for the range they cover.
// Judged at every import and once more at the end (the latest index may have changed).
// What is still waiting for import after the newest imported archive is no gap.

import type { NodeSignal } from '../../machines/signals.ts';
import type { ArchiveCatalog } from '../run/archive-catalog.ts';
import { memberKey } from '../run/membership.ts';
import type { MonitorFailure, RunMonitor } from './run-monitor.ts';

interface Reader {
  node: string;
  communityId: string;
  latestIndex: string[];
  imported: Set<string>;
}

type Interval = [from: number, to: number];

function merged(intervals: Interval[]): Interval[] {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Interval[] = [];
  for (const [from, to] of sorted) {
    const last = out.at(-1);
    if (last && from <= last[1]) last[1] = Math.max(last[1], to);
    else out.push([from, to]);
  }
  return out;
}

/** The first part of `want` (clipped below `upTo`) that `have` (merged) does not cover. */
export function firstUncovered(want: Interval[], have: Interval[], upTo: number): Interval | undefined {
  const cover = merged(have);
  for (const [from, to] of merged(want)) {
    let at = from;
    const end = Math.min(to, upTo);
    for (const [a, b] of cover) {
      if (at >= end) break;
      if (b <= at) continue;
      if (a > at) return [at, Math.min(a, end)];
      at = b;
    }
    if (at < end) return [at, end];
  }
  return undefined;
}

const date = (unixS: number): string => new Date(unixS * 1000).toISOString().replace('.000Z', 'Z');

export function importedRangesMonitor(catalog: ArchiveCatalog): RunMonitor {
  const readers = new Map<string, Reader>();
  const failures: MonitorFailure[] = [];
  const failed = new Set<string>();
  let exercised = false;

  const reader = (node: string, communityId: string): Reader => {
    const key = memberKey(node, communityId);
    let r = readers.get(key);
    if (!r) {
      r = { node, communityId, latestIndex: [], imported: new Set() };
      readers.set(key, r);
    }
    return r;
  };

  const judge = (r: Reader, t: number): void => {
    const key = memberKey(r.node, r.communityId);
    if (failed.has(key) || r.imported.size === 0 || r.latestIndex.length === 0) return;
    exercised = true;
    const range = (id: string): Interval[] => {
      const a = catalog.get(id);
      return a ? [[a.from, a.to]] : [];
    };
    const have = [...r.imported].flatMap(range);
    const upTo = Math.max(...have.map((i) => i[1]));
    const hole = firstUncovered(r.latestIndex.flatMap(range), have, upTo);
    if (!hole) return;
    failed.add(key);
    failures.push({
      node: r.node,
      t,
      text: `imported archives leave [${date(hole[0])}, ${date(hole[1])}) of the latest index it read uncovered, below its newest import`,
    });
  };

  const onSignal = (s: NodeSignal): void => {
    if (s.type === 'archive.indexRead') reader(s.node, s.communityId).latestIndex = s.ids;
    else if (s.type === 'archive.archiveImported') {
      const r = reader(s.node, s.communityId);
      r.imported.add(s.id);
      judge(r, s.t);
    }
  };

  return {
    name: 'importedRangesCover',
    onSignal: (_n, s) => onSignal(s),
    finish: (t) => {
      for (const r of readers.values()) judge(r, t);
    },
    failures: () => failures,
    exercised: () => exercised,
  };
}
