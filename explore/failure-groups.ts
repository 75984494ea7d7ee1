// Identical failures grouped, as a fast-check user expects of a long exploration: failures
// of the same property whose messages differ only in numbers (times, counts, node numbers)
// are one finding, reported once with how many runs hit it and the smallest shrunk world
// that shows it. A pure function of the failures, so a merge of shards groups them exactly
// as one run over the same seeds does.

import type { ScenarioSize } from './arbitraries.ts';
import type { PropertyName } from './properties.ts';

export interface GroupedFailure {
  property: PropertyName;
  message: string;
  run: number;
  size: ScenarioSize;
}

export interface FailureGroup {
  property: PropertyName;
  /** The message with every number written as "#": what the failures of the group share. */
  signature: string;
  count: number;
  /** Run numbers of the failures, ascending. */
  runs: number[];
  /** The run whose shrunk scenario is the smallest (fewest nodes, then actions, days, run). */
  smallest: number;
}

/** "m12: no new archives at t=1768179600470" -> "m#: no new archives at t=#". */
export function failureSignature(message: string): string {
  return message.replace(/\d+(\.\d+)?/g, '#');
}

const weight = (s: ScenarioSize): number[] => [s.nodes, s.actions, s.days, s.messagesPerDay];

function smaller(a: GroupedFailure, b: GroupedFailure): boolean {
  const wa = weight(a.size);
  const wb = weight(b.size);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return (wa[i] as number) < (wb[i] as number);
  return a.run < b.run;
}

/** The groups of `failures`, most frequent first (then by property and first run). */
export function groupFailures(failures: readonly GroupedFailure[]): FailureGroup[] {
  const groups = new Map<string, { group: FailureGroup; best: GroupedFailure }>();
  for (const f of [...failures].sort((a, b) => a.run - b.run)) {
    const signature = failureSignature(f.message);
    const key = `${f.property}\u0000${signature}`;
    const g = groups.get(key);
    if (!g) {
      groups.set(key, {
        group: { property: f.property, signature, count: 1, runs: [f.run], smallest: f.run },
        best: f,
      });
      continue;
    }
    g.group.count++;
    g.group.runs.push(f.run);
    if (smaller(f, g.best)) {
      g.best = f;
      g.group.smallest = f.run;
    }
  }
  return [...groups.values()]
    .map((g) => g.group)
    .sort(
      (a, b) =>
        b.count - a.count ||
        a.property.localeCompare(b.property) ||
        (a.runs[0] as number) - (b.runs[0] as number),
    );
}
