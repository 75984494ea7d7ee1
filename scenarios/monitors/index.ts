// The monitors of a run beyond §10 and the runner's checks (scenarios/checks.ts), each in a
// file of this folder: their names (a scenario's `check:` may name them), and one watch that
// feeds them the run's signals and boots and words their verdicts.
// Unlike the checks, the explorer does not judge these (its properties are fixed in
// explore/properties.ts, so its draws and verdicts stay as they were).

import type { NodeSignal } from '../../machines/signals.ts';
import type { HarnessNode } from '../harness.ts';
import type { ArchiveCatalog } from '../run/archive-catalog.ts';
import { creationFinishesMonitor } from './creation-finishes.ts';
import { importDelayMonitor } from './import-delay.ts';
import { importedRangesMonitor } from './imported-ranges.ts';
import type { MonitorFailure, RunMonitor } from './run-monitor.ts';
import { type TemperatureMonitor, temperatureMonitor } from './temperature.ts';

export const MONITORS = [
  'temperatureBounded',
  'importedRangesCover',
  'noImportBeforeDelay',
  'archiveCreationFinishes',
] as const;
export type MonitorName = (typeof MONITORS)[number];

export interface MonitorWatch {
  onSignal(node: HarnessNode, signal: NodeSignal): void;
  onBoot(node: HarnessNode, t: number): void;
  finish(t: number): void;
  temperature: TemperatureMonitor;
  /** Every failure of a monitor so far, in order. */
  failures(name: MonitorName): readonly MonitorFailure[];
  /** "ok", "not checked" or the first failure of each monitor (node names from `nameOf`). */
  verdicts(nameOf: (id: string) => string, node?: string): Record<MonitorName, string>;
}

export function watchMonitors(args: { importDelayMs: number; catalog: ArchiveCatalog }): MonitorWatch {
  const temperature = temperatureMonitor();
  const all: RunMonitor[] = [
    temperature,
    importedRangesMonitor(args.catalog),
    importDelayMonitor(args.importDelayMs),
    creationFinishesMonitor(),
  ];
  const byName = new Map(all.map((m) => [m.name, m]));
  const monitor = (name: MonitorName): RunMonitor => byName.get(name) as RunMonitor;
  return {
    onSignal: (n, s) => {
      for (const m of all) m.onSignal(n, s);
    },
    onBoot: (n, t) => {
      for (const m of all) m.onBoot?.(n, t);
    },
    finish: (t) => {
      for (const m of all) m.finish?.(t);
    },
    temperature,
    failures: (name) => monitor(name).failures(),
    verdicts: (nameOf, node) => {
      const out = {} as Record<MonitorName, string>;
      for (const name of MONITORS) {
        const m = monitor(name);
        const f = m.failures().find((x) => node === undefined || nameOf(x.node) === node);
        out[name] = f ? `${nameOf(f.node)}: ${f.text}` : m.exercised() ? 'ok' : 'not checked';
      }
      return out;
    },
  };
}
