// §10.9 at the end of a run: every member that is up, online, joined, has the feature on
// (at the end of the timeline), whose node did not fail, whose disk did not destroy a
// verified archive and who is not missing decryption keys, holds the history of the latest index (merge: a superset; spec: exactly).

import type { RunContext } from './context.ts';
import { memberKey } from './membership.ts';

export function checkConvergence(run: RunContext): void {
  const { plan, h, allNodes } = run;
  const ownerIds = new Set(plan.owners.map((n) => plan.id(n.name)));
  const supportOff = new Set<string>();
  for (const n of plan.scenario.nodes)
    if (!n.archiveSupport) for (const c of h.communities) supportOff.add(memberKey(plan.id(n.name), c.id));
  for (const a of plan.scenario.timeline)
    if (a.do === 'archiveSupport') {
      const k = memberKey(plan.id(a.node), run.community(a.community).id);
      if (a.enabled) supportOff.delete(k);
      else supportOff.add(k);
    }
  for (const c of h.communities) {
    const readers = allNodes.filter(
      (n) =>
        !ownerIds.has(n.id) &&
        n.archive !== undefined &&
        !n.sim.crashed &&
        n.sim.online &&
        run.membership.isMember(n.id, c) &&
        !supportOff.has(memberKey(n.id, c.id)) &&
        // its disk destroyed an archive it had verified (`corruptStoredArchive`): the
        // protocol has no repair for that, so §10.9 cannot be demanded of it
        !run.disk.damaged(n.id, c.id) &&
        // it lacks the decryption keys (`withholdKey`, `restoreFromBackup`): no protocol
        // step can import what it cannot decrypt
        !run.keys?.lacks(n.id, c.id) &&
        n.archive.state() === 'enabled' &&
        !n.log.some((s) => s.type === 'archive.nodeFailed'),
    );
    h.monitor.checkConvergence({
      owner: h.owner,
      communityId: c.id,
      members: readers,
      mode: h.options.importMode,
    });
  }
}
