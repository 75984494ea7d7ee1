// What the host app changes at run time (§8): leaving and joining a community, the
// protocol on or off, a community's archive support, the import rate. The explorer draws
// the first three as faults: each is undone before the fault window ends.

import type { ActionHandler, FaultKind } from './fault-kind.ts';

export const leave: FaultKind = {
  name: 'leave',
  summary: 'a node leaves the community and joins it again',
  actsOn: 'host app',
  knobs: { node: 'which node', forMs: 'how long it stays out' },
  persistent: true,
  drawnByDefault: true,
  draw: (_f, { anyNode, community, at, end }) => [
    { at, do: 'leave', node: anyNode.name, community },
    { at: end, do: 'join', node: anyNode.name, community },
  ],
  mark: (a) =>
    a.do === 'leave'
      ? { subject: a.node, edge: 'open', detail: a.community }
      : a.do === 'join'
        ? { subject: a.node, edge: 'close' }
        : undefined,
};

export const protocol: FaultKind = {
  name: 'protocol',
  summary: 'a node disables the archive protocol (torrent client off) and enables it again',
  actsOn: 'host app',
  knobs: { node: 'which node', forMs: 'how long it stays off' },
  persistent: true,
  drawnByDefault: true,
  draw: (_f, { anyNode, at, end }) => [
    { at, do: 'protocol', node: anyNode.name, enabled: false },
    { at: end, do: 'protocol', node: anyNode.name, enabled: true },
  ],
  mark: (a) => (a.do === 'protocol' ? { subject: a.node, edge: a.enabled ? 'close' : 'open' } : undefined),
};

export const archiveSupport: FaultKind = {
  name: 'archiveSupport',
  summary: "a node turns the community's history archive support off and on again",
  actsOn: 'host app',
  knobs: { node: 'which node', forMs: 'how long it stays off' },
  persistent: true,
  drawnByDefault: true,
  draw: (_f, { anyNode, community, at, end }) => [
    { at, do: 'archiveSupport', node: anyNode.name, community, enabled: false },
    { at: end, do: 'archiveSupport', node: anyNode.name, community, enabled: true },
  ],
  mark: (a) =>
    a.do === 'archiveSupport'
      ? { subject: a.node, edge: a.enabled ? 'close' : 'open', detail: a.community }
      : undefined,
};

export const importRate: FaultKind = {
  name: 'importRate',
  summary: "a node's host switches the import rate (slow: 1 chunk/s, fast: 100 chunks/s)",
  actsOn: 'host app',
  knobs: { node: 'which node', rate: 'slow or fast' },
  persistent: false,
  drawnByDefault: false,
  mark: (a) =>
    a.do === 'importRate' ? { subject: a.node, edge: a.rate === 'slow' ? 'open' : 'close' } : undefined,
};

export const hostHandlers: {
  join: ActionHandler<'join'>;
  leave: ActionHandler<'leave'>;
  protocol: ActionHandler<'protocol'>;
  archiveSupport: ActionHandler<'archiveSupport'>;
  importRate: ActionHandler<'importRate'>;
} = {
  join: (a, run) => {
    const c = run.community(a.community);
    const node = run.h.node(run.plan.id(a.node));
    if (!node.archive) {
      run.skipped(a, 'node not running');
      return;
    }
    node.archive.join(c.config);
    run.membership.set(node.id, c.id, true);
  },
  leave: (a, run) => {
    const c = run.community(a.community);
    run.h.node(run.plan.id(a.node)).archive?.leave(c.id);
    run.membership.set(run.plan.id(a.node), c.id, false);
  },
  protocol: (a, run) => {
    const archive = run.h.node(run.plan.id(a.node)).archive;
    if (a.enabled) archive?.enableProtocol();
    else archive?.disableProtocol();
  },
  archiveSupport: (a, run) =>
    run.h.node(run.plan.id(a.node)).archive?.setArchiveSupport(run.community(a.community).id, a.enabled),
  importRate: (a, run) => run.h.node(run.plan.id(a.node)).archive?.setImportRate(a.rate),
};
