// The scenario's timeline on the kernel: the first owner's start-up settings, then every
// action at its offset, recorded in the trace and carried out by its handler
// (scenarios/faults/index.ts).

import type { ActionHandler } from '../faults/fault-kind.ts';
import { ACTION_HANDLERS } from '../faults/index.ts';
import type { Action } from '../schema.ts';
import type { ActionContext, RunContext } from './context.ts';

/** Carries out one action now. */
export function applyAction(action: Action, run: ActionContext): void {
  const { at: _at, ...fields } = action;
  run.world.trace.record('scenario.action', fields);
  (ACTION_HANDLERS[action.do] as ActionHandler<Action['do']>)(action, run);
}

export function scheduleTimeline(run: RunContext): void {
  const { h, plan } = run;
  const { primary } = plan;
  if (!primary.protocolEnabled) h.at(0, () => h.owner.archive?.disableProtocol());
  if (!primary.archiveSupport)
    h.at(0, () => {
      for (const c of h.communities) h.owner.archive?.setArchiveSupport(c.id, false);
    });
  if (primary.importRate)
    h.at(0, () => h.owner.archive?.setImportRate(primary.importRate as 'slow' | 'fast'));
  for (const action of plan.scenario.timeline)
    h.at(action.at, () => {
      run.applied.push({ t: run.world.kernel.now(), action });
      applyAction(action, run);
    });
}
