// No import before the initial delay (§6.3, 5 min after the node starts): a member's first
// `importingHistoryArchiveMessages` after each start of its node comes no earlier than
// `importDelayMs` after that start. Safety, checked at every import signal.

import type { MonitorFailure, RunMonitor } from './run-monitor.ts';

export function importDelayMonitor(importDelayMs: number): RunMonitor {
  const startedAt = new Map<string, number>();
  const failures: MonitorFailure[] = [];
  let exercised = false;
  return {
    name: 'noImportBeforeDelay',
    onBoot: (n, t) => {
      startedAt.set(n.id, t);
    },
    onSignal: (_n, s) => {
      if (s.type !== 'community.importingHistoryArchiveMessages') return;
      const start = startedAt.get(s.node);
      if (start === undefined) return;
      exercised = true;
      if (s.t - start < importDelayMs)
        failures.push({
          node: s.node,
          t: s.t,
          text: `imported ${s.t - start} ms after its start at t=${start}, before the ${importDelayMs} ms delay`,
        });
    },
    failures: () => failures,
    exercised: () => exercised,
  };
}
