// Faults of a node itself: it goes offline (its actor runs on, the network does not reach
// it) or its process dies and later restarts over the same storage and files.

import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const offline: FaultKind = {
  name: 'offline',
  summary: 'a node drops off the network and comes back',
  actsOn: 'node',
  knobs: { node: 'which node', forMs: 'how long it stays offline' },
  persistent: true,
  drawnByDefault: true,
  draw: (_f, { anyNode, at, end }) => [
    { at, do: 'offline', node: anyNode.name },
    { at: end, do: 'online', node: anyNode.name },
  ],
  mark: (a) =>
    a.do === 'offline'
      ? { subject: a.node, edge: 'open' }
      : a.do === 'online'
        ? { subject: a.node, edge: 'close' }
        : undefined,
};

export const crash: FaultKind = {
  name: 'crash',
  summary: "a node's process dies (nothing is shut down) and restarts later",
  actsOn: 'node',
  knobs: { node: 'which node', forMs: 'how long it stays down' },
  persistent: true,
  drawnByDefault: true,
  draw: (_f, { anyNode, at, end }) => [
    { at, do: 'crash', node: anyNode.name },
    { at: end, do: 'restart', node: anyNode.name },
  ],
  mark: (a) =>
    a.do === 'crash'
      ? { subject: a.node, edge: 'open' }
      : a.do === 'restart'
        ? { subject: a.node, edge: 'close' }
        : undefined,
};

export const nodeHandlers: {
  offline: ActionHandler<'offline'>;
  online: ActionHandler<'online'>;
  crash: ActionHandler<'crash'>;
  restart: ActionHandler<'restart'>;
} = {
  offline: (a, run) => run.h.offline(run.plan.id(a.node)),
  online: (a, run) => run.h.online(run.plan.id(a.node)),
  crash: (a, run) => run.h.crash(run.plan.id(a.node)),
  restart: (a, run) => {
    // the harness boots the node with its communities from the start
    const id = run.plan.id(a.node);
    if (!run.h.node(id).sim.crashed) {
      // a second actor on a running node would be two apps on one storage
      run.skipped(a, 'node is running');
      return;
    }
    run.h.restart(id);
    for (const c of run.h.communities) run.membership.set(id, c.id, undefined);
    for (const i of run.plan.joinedAtStart(run.plan.node(a.node)))
      run.membership.set(id, run.h.communities[i]!.id, true);
  },
};
