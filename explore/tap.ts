// A tap on the signals a run's monitors see, taken from outside the runner: the harness
// attaches every node to an `InvariantMonitor` and hands it every node signal, so wrapping
// `attach` and `observe` for the length of one run shows the explorer what `RunResult`
// does not carry (node failures; a "no new archives" conclusion while the index held
// archives the member lacks) and lets it keep `archive.indexRead` from the monitor when a
// scenario has several control nodes. The original method is restored when the run ends; runs under a tap must not
// overlap (the explorer runs them one after another).
// TODO(hook): replace by a runner option (`RunOptions.onSignal`) when scenarios/ has one.

import { InvariantMonitor, type MonitoredNode } from '../machines/invariants.ts';
import type { NodeSignal } from '../machines/signals.ts';

export interface NodeFailure {
  node: string;
  error: string;
  t: number;
}

/** A member concluded "no new archives" (§6.2 step 4) while the index held archives it lacks. */
export interface MissedArchives {
  node: string;
  t: number;
  missing: number;
  indexSize: number;
}

export interface TapOptions {
  /** Do not pass `archive.indexRead` to the monitors (several control nodes, §9). */
  hideIndexReads?: boolean;
}

export interface TapResult<T> {
  value: T;
  failures: NodeFailure[];
  missed: MissedArchives[];
}

let active = false;

export async function withSignalTap<T>(options: TapOptions, run: () => Promise<T>): Promise<TapResult<T>> {
  if (active) throw new Error('withSignalTap: runs under a tap must not overlap');
  active = true;
  const failures: NodeFailure[] = [];
  const missed: MissedArchives[] = [];
  const nodes = new Map<string, MonitoredNode>();
  const lastIndex = new Map<string, string[]>();
  const proto = InvariantMonitor.prototype as {
    observe(s: NodeSignal): void;
    attach(node: MonitoredNode): (s: NodeSignal) => void;
  };
  const original = proto.observe;
  const originalAttach = proto.attach;
  proto.attach = function tappedAttach(this: InvariantMonitor, node: MonitoredNode) {
    nodes.set(node.id, node);
    return originalAttach.call(this, node);
  };
  proto.observe = function tapped(this: InvariantMonitor, s: NodeSignal): void {
    if (s.type === 'archive.nodeFailed') failures.push({ node: s.node, error: s.error, t: s.t });
    if (s.type === 'archive.indexRead') lastIndex.set(`${s.node}\u0000${s.communityId}`, s.ids);
    if (s.type === 'archive.taskEnded' && s.status === 'noNewArchives') {
      const ids = lastIndex.get(`${s.node}\u0000${s.communityId}`) ?? [];
      const node = nodes.get(s.node);
      if (node) {
        const known = new Set(node.adapters.storage.archives(s.communityId).map((a) => a.id));
        const missing = ids.filter((id) => !known.has(id)).length;
        if (missing > 0) missed.push({ node: s.node, t: s.t, missing, indexSize: ids.length });
      }
    }
    if (options.hideIndexReads && s.type === 'archive.indexRead') return;
    original.call(this, s);
  };
  try {
    const value = await run();
    return { value, failures, missed };
  } finally {
    proto.observe = original;
    proto.attach = originalAttach;
    active = false;
  }
}
