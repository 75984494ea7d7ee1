// Archive creation finishes (§5.1 step 6): every `creatingHistoryArchives` of a control node
// is answered, for the same community, by `historyArchivesCreated` or
// `noHistoryArchivesCreated` before the node starts creating again or the run ends (a long
// tail of empty weeks must end in "no archives created", not in a creation that never
// returns). A node that crashed meanwhile owes nothing.

import { memberKey } from '../run/membership.ts';
import type { MonitorFailure, RunMonitor } from './run-monitor.ts';

export function creationFinishesMonitor(): RunMonitor {
  /** (node, community) -> start of the open creation. */
  const open = new Map<string, { node: string; t: number }>();
  const failures: MonitorFailure[] = [];
  let exercised = false;
  return {
    name: 'archiveCreationFinishes',
    onBoot: (n) => {
      for (const [k, v] of open) if (v.node === n.id) open.delete(k);
    },
    onSignal: (_n, s) => {
      if (!('communityId' in s)) return;
      const key = memberKey(s.node, s.communityId);
      if (s.type === 'community.creatingHistoryArchives') {
        exercised = true;
        const was = open.get(key);
        if (was)
          failures.push({
            node: s.node,
            t: s.t,
            text: `creation started at t=${was.t} never finished before the next one`,
          });
        open.set(key, { node: s.node, t: s.t });
      } else if (
        s.type === 'community.historyArchivesCreated' ||
        s.type === 'community.noHistoryArchivesCreated'
      )
        open.delete(key);
    },
    finish: (t) => {
      for (const v of open.values())
        failures.push({ node: v.node, t, text: `creation started at t=${v.t} never finished` });
      open.clear();
    },
    failures: () => failures,
    exercised: () => exercised,
  };
}
