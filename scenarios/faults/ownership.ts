// The control node of a community is handed over (the owner transfers ownership): another
// node receives the community key and becomes its control node; the nodes that held the key
// lose it and carry on as members. Each affected node's community actor starts again in its
// new role (as the host app does when the role changes). By default the new owner starts
// without the archive folder and torrent it had as a member, so its first round archives
// everything it holds from its oldest message: a re-based index, whose archive ids differ
// from the old owner's.

import { communityFolder, torrentPath } from '../../archive/index.ts';
import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const handOver: FaultKind = {
  name: 'handOver',
  summary: 'the community key is handed to another node, which becomes the control node',
  actsOn: 'community',
  knobs: { node: 'the new owner', keepData: 'whether it keeps its archive folder (default false)' },
  persistent: false,
  drawnByDefault: false,
  draw: (_f, { member, community, at }) =>
    member ? [{ at, do: 'handOver', node: member.name, community, keepData: false }] : [],
};

export const ownershipHandlers: { handOver: ActionHandler<'handOver'> } = {
  handOver: (a, run) => {
    const { h, plan } = run;
    const c = run.community(a.community);
    const next = h.node(plan.id(a.node));
    if (!next.archive) {
      run.skipped(a, 'the new owner is not running');
      return;
    }
    if (next.sim.sim.keys.communityPrivateKey(c.id)) {
      run.skipped(a, 'the node is the control node already');
      return;
    }
    const previous = run.allNodes.filter((n) => n !== next && n.sim.sim.keys.communityPrivateKey(c.id));
    for (const n of previous) n.sim.sim.keys.delete(c.id);
    // the new owner's member actor stops first (it unseeds what it downloaded)
    next.archive.setArchiveSupport(c.id, false);
    next.sim.sim.keys.set(c.id, c.key);
    if (!a.keepData) {
      const { fs, dataDir, torrentDir } = next.adapters;
      fs.remove(communityFolder(dataDir, c.id));
      fs.remove(torrentPath(torrentDir, c.id));
      // its archive folder starts over: what the monitors knew of the old one is gone
      h.monitor.nodeReplaced(next.id, c.id);
    }
    next.archive.setArchiveSupport(c.id, true);
    for (const n of previous) {
      n.archive?.setArchiveSupport(c.id, false);
      n.archive?.setArchiveSupport(c.id, true);
    }
  },
};
