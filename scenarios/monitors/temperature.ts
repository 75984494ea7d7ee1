// A liveness monitor with hot states, in the style of Coyote's liveness monitors: a member
// is "hot" for a community while it retries something — an import that failed (a missing
// key, an archive that does not decode), a download task that timed out or failed — and
// "cold" again as soon as it makes progress (an archive downloaded or imported, a task done
// or finding nothing new, or it left the community: nothing is owed any more). Each hot step
// without progress raises the member's temperature by one; above TEMPERATURE_BOUND the
// monitor reports a liveness failure: the member loops instead of getting anywhere.
//
// Coyote counts scheduler steps spent in a hot state; a simulated run has no scheduler
// steps of its own, so a step here is one retry the protocol itself makes, and the bound
// is chosen from the machines' slowest legitimate loop: the reference waits an hour after
// each import that misses its decryption key (§6.4), so a key that arrives within a day
// stays below the bound (24 steps), whereas the reference's retry of an undecodable archive
// every second (§6.3) crosses it within half a minute, and a download that times out on
// every weekly link without a seeder crosses it after half a year of links.
// The highest temperature each member reached is kept too (a node expectation reads it).

import type { NodeSignal } from '../../machines/signals.ts';
import { memberKey } from '../run/membership.ts';
import type { MonitorFailure, RunMonitor } from './run-monitor.ts';

/** Consecutive hot steps without progress above which a member is stuck (see above). */
export const TEMPERATURE_BOUND = 24;

interface Heat {
  temperature: number;
  highest: number;
  /** When the current hot streak started, and its last step. */
  since: number;
  last: string;
}

export interface TemperatureMonitor extends RunMonitor {
  /** The highest temperature a member reached in a community (0: never hot). */
  highest(nodeId: string, communityId: string): number;
}

function hotStep(s: NodeSignal): string | undefined {
  if (s.type === 'archive.importFailed') return `import of ${s.id.slice(0, 10)}… failed (${s.reason})`;
  if (s.type === 'archive.taskEnded' && (s.status === 'timeout' || s.status === 'error'))
    return `download task ended ${s.status}`;
  return undefined;
}

function progress(s: NodeSignal): boolean {
  switch (s.type) {
    case 'community.historyArchiveDownloaded':
    case 'archive.archiveImported':
      return true;
    case 'archive.taskEnded':
      return s.status === 'done' || s.status === 'noNewArchives' || s.status === 'notMember';
    default:
      return false;
  }
}

export function temperatureMonitor(bound = TEMPERATURE_BOUND): TemperatureMonitor {
  const heat = new Map<string, Heat>();
  const failures: MonitorFailure[] = [];
  const failed = new Set<string>();
  let exercised = false;
  return {
    name: 'temperatureBounded',
    onSignal(_n, s) {
      if (!('communityId' in s)) return;
      const key = memberKey(s.node, s.communityId);
      const step = hotStep(s);
      if (step !== undefined) {
        exercised = true;
        let h = heat.get(key);
        if (!h) {
          h = { temperature: 0, highest: 0, since: s.t, last: step };
          heat.set(key, h);
        }
        if (h.temperature === 0) h.since = s.t;
        h.temperature++;
        h.highest = Math.max(h.highest, h.temperature);
        h.last = step;
        if (h.temperature > bound && !failed.has(key)) {
          failed.add(key);
          failures.push({
            node: s.node,
            t: s.t,
            text: `${h.temperature} hot steps without progress since t=${h.since} (bound ${bound}); last: ${step}`,
          });
        }
      } else if (progress(s)) {
        exercised = true;
        const h = heat.get(key);
        if (h) h.temperature = 0;
      }
    },
    failures: () => failures,
    exercised: () => exercised,
    highest: (nodeId, communityId) => heat.get(memberKey(nodeId, communityId))?.highest ?? 0,
  };
}
