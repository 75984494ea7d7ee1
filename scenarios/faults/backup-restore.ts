// A member restores its account on a new device from a backup: the backup brings back its
// communities (and their settings), not its messages, its archive folder or its archive
// records, and not the channel keys of an encrypted community (the keys of archives made
// before the restore; the current one comes with the community). The new device starts
// where the old process stopped; a node that is down at the time stays down until its
// `restart`, and comes back on the new device.

import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const restoreFromBackup: FaultKind = {
  name: 'restoreFromBackup',
  summary: 'a member is restored on a new device from a backup, without messages, files or channel keys',
  actsOn: 'node',
  knobs: { node: 'the member' },
  persistent: false,
  drawnByDefault: false,
  draw: (_f, { member, at }) => (member ? [{ at, do: 'restoreFromBackup', node: member.name }] : []),
};

export const backupHandlers: { restoreFromBackup: ActionHandler<'restoreFromBackup'> } = {
  restoreFromBackup: (a, run) => {
    const { plan, h } = run;
    if (plan.node(a.node).role === 'owner') {
      run.skipped(a, 'a control node is handed over, not restored (handOver)');
      return;
    }
    const id = plan.id(a.node);
    const node = h.node(id);
    // a node that is down gets its new device when it comes back (its `restart`)
    const wasDown = node.sim.crashed || node.archive === undefined;
    if (!wasDown) h.crash(id);
    const { fs, storage, dataDir, torrentDir } = node.adapters;
    fs.remove(dataDir);
    fs.remove(torrentDir);
    for (const c of h.communities) {
      storage.forgetCommunity(c.id);
      storage.deleteMessagesInRange(c.topics, 0, Number.MAX_SAFE_INTEGER);
    }
    run.keys?.restored(
      id,
      h.communities.map((c) => c.id),
      run.world.kernel.now(),
    );
    // a new device: what the monitors knew of the old one's storage is gone with it
    h.monitor.nodeReplaced(id);
    if (wasDown) return;
    h.restart(id);
    for (const c of h.communities) run.membership.set(id, c.id, undefined);
    for (const i of plan.joinedAtStart(plan.node(a.node))) run.membership.set(id, h.communities[i]!.id, true);
  },
};
