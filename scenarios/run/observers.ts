// Everything that watches a run's node signals besides the §10 monitors (which the harness
// runs): the checks beyond §10, the monitors of scenarios/monitors, the catalog of archives
// and the per-member measures the expectations and the report read, the disk damage that a
// `corruptStoredArchive` arms, and the history members should end up with. One place hands
// each signal to all of them, in a fixed order.

import type { SimWorld } from '../../adapters/sim/world.ts';
import { resolveOptions } from '../../machines/options.ts';
import type { NodeSignal } from '../../machines/signals.ts';
import { type CheckWatch, watchChecks } from '../checks.ts';
import type { HarnessNode } from '../harness.ts';
import { type MonitorWatch, watchMonitors } from '../monitors/index.ts';
import { ArchiveCatalog } from './archive-catalog.ts';
import { DiskDamage } from './disk-damage.ts';
import type { RequiredHistory } from './history.ts';
import { MemberMeasures } from './member-measures.ts';
import type { RunPlan } from './plan.ts';

export class RunObservers {
  readonly catalog = new ArchiveCatalog();
  // An archive held under the other backend's id (a member on both) counts by its range.
  readonly checks: CheckWatch = watchChecks((id) => this.catalog.get(id));
  readonly monitors: MonitorWatch;
  readonly measures: MemberMeasures;
  readonly disk: DiskDamage;
  /** Set once the run context exists (it reads the harness). */
  history: RequiredHistory | undefined;

  constructor(plan: RunPlan) {
    this.monitors = watchMonitors({
      importDelayMs: resolveOptions(plan.options).importDelayMs,
      catalog: this.catalog,
    });
    this.measures = new MemberMeasures(this.catalog);
    this.disk = new DiskDamage(plan.codec, plan.name);
  }

  onSignal(n: HarnessNode, signal: NodeSignal, w: SimWorld): void {
    if (signal.type === 'community.historyArchivesSeeding') this.disk.onSeeding(n, signal.communityId, w);
    this.catalog.onSignal(n.id, signal);
    if (signal.type === 'archive.roundCreated' || signal.type === 'archive.cidRoundCreated')
      this.history?.noteRound(n, signal.communityId);
    this.checks.onSignal(n, signal);
    this.monitors.onSignal(n, signal);
    this.measures.onSignal(n, signal);
  }

  onBoot(n: HarnessNode, now: number): void {
    this.monitors.onBoot(n, now);
    this.measures.onBoot(n, now);
  }
}
