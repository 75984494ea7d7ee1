// A member's local archive files go missing after the download (a user or a cleaner deletes
// `<dataDir>/<communityId>/index` or `data`; protocol.md §4): the import reads both (§6.3),
// and nothing in the protocol fetches an archive again once it is recorded as downloaded.

import { communityFolder } from '../../archive/index.ts';
import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const deleteFile: FaultKind = {
  name: 'deleteFile',
  summary: "a member's local index or data file of the community is deleted",
  actsOn: 'disk',
  knobs: { node: 'the member', file: 'index or data (explorer: even amount index, odd data)' },
  persistent: false,
  drawnByDefault: false,
  draw: (f, { member, community, at }) =>
    member
      ? [{ at, do: 'deleteFile', node: member.name, community, file: f.amount % 2 === 0 ? 'index' : 'data' }]
      : [],
};

export const localFileHandlers: { deleteFile: ActionHandler<'deleteFile'> } = {
  deleteFile: (a, run) => {
    const node = run.h.node(run.plan.id(a.node));
    const c = run.community(a.community);
    if (node.sim.sim.keys.communityPrivateKey(c.id)) {
      // a control node's folder is the archive itself (§10.1 would break by design)
      run.skipped(a, 'the node is the control node');
      return;
    }
    const path = `${communityFolder(node.adapters.dataDir, c.id)}/${a.file}`;
    if (!node.adapters.fs.exists(path)) {
      run.skipped(a, `no ${a.file} file yet`);
      return;
    }
    node.adapters.fs.remove(path);
    // the protocol has no repair for a verified archive whose bytes are gone: §10.9 is not
    // demanded of this member (as with `corruptStoredArchive`)
    run.disk.lost(node.id, c.id);
  },
};
