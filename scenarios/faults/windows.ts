// Fault windows on a run's time axis: the timeline actions a run carried out, read through
// the registry of fault kinds (each kind's `mark`), as the spans during which each fault
// held — from its injection to its recovery, or to the end of the run — and the faults of
// one instant. The report draws them; the explorer counts the kinds a run reached.

import type { Action } from '../schema.ts';
import type { FaultLayer, NetworkBaseline } from './fault-kind.ts';
import { FAULTS } from './index.ts';

/** A timeline action as the run carried it out. */
export interface AppliedAction {
  /** Virtual ms since the epoch. */
  t: number;
  action: Action;
  /** Why the action could not be carried out (then it injected nothing). */
  skipped?: string;
}

export interface FaultWindow {
  kind: string;
  layer: FaultLayer;
  /** The node it acts on, or "network". */
  subject: string;
  /** Virtual ms since the epoch; `from === to` for a fault of one instant. */
  from: number;
  to: number;
  instant: boolean;
  /** Still in force when the run ended (`to` is the end). */
  unrecovered: boolean;
  detail?: string;
}

/** The windows of the applied actions, ordered by start; windows still open end at `end`. */
export function faultWindows(
  applied: readonly AppliedAction[],
  end: number,
  baseline: NetworkBaseline,
): FaultWindow[] {
  const out: FaultWindow[] = [];
  const open = new Map<string, FaultWindow>();
  for (const { t, action, skipped } of applied) {
    if (skipped !== undefined) continue;
    for (const kind of FAULTS) {
      const mark = kind.mark?.(action, baseline);
      if (!mark) continue;
      const key = `${kind.name}\u0000${mark.subject}`;
      const current = open.get(key);
      if (mark.edge === 'instant') {
        out.push({
          kind: kind.name,
          layer: kind.actsOn,
          subject: mark.subject,
          from: t,
          to: t,
          instant: true,
          unrecovered: false,
          ...(mark.detail !== undefined ? { detail: mark.detail } : {}),
        });
        continue;
      }
      if (current) {
        // a new setting of an open fault ends its window; an `open` starts the next one
        current.to = t;
        current.unrecovered = false;
        open.delete(key);
      }
      if (mark.edge === 'open') {
        const w: FaultWindow = {
          kind: kind.name,
          layer: kind.actsOn,
          subject: mark.subject,
          from: t,
          to: end,
          instant: false,
          unrecovered: true,
          ...(mark.detail !== undefined ? { detail: mark.detail } : {}),
        };
        out.push(w);
        open.set(key, w);
      }
    }
  }
  return out.sort(
    (a, b) => a.from - b.from || a.kind.localeCompare(b.kind) || a.subject.localeCompare(b.subject),
  );
}
