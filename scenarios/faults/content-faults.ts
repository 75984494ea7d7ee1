// Faults of the simulated content network (sim/content-network.ts), the store nodes of the
// content-addressed backend (protocol.md §11): a store node lacking blocks of what it holds
// (it answers "don't have" for them), serving corrupted blocks (they fail their digest and
// are fetched again), answering every request late, or leaving the network for good (its
// store wiped, its provider records gone) and joining again empty. A node going offline or
// crashing needs no kind of its own here: `offline` and `crash` reach the content network
// through the network's reachability and the world's crash of the node's store.
//
// They act whatever the run's backend: on a run that never uploads content, a node holds
// nothing and serves nothing, so a fault changes no transfer (only the trace records it).

import type { ActionHandler, FaultKind } from './fault-kind.ts';

const SECOND = 1000;

export const contentMissingBlocks: FaultKind = {
  name: 'contentMissingBlocks',
  summary: 'a store node lacks the first blocks of every dataset it holds, then is repaired',
  actsOn: 'content network',
  knobs: {
    node: 'the store node',
    blocks: 'how many leading blocks of each dataset it lacks (explorer: 1 + amount mod 4)',
    forMs: 'until it is repaired (blocks: 0)',
  },
  persistent: true,
  drawnByDefault: false,
  draw: (f, { anyNode, at, end }) => [
    { at, do: 'contentMissingBlocks', node: anyNode.name, blocks: 1 + (f.amount % 4) },
    { at: end, do: 'contentMissingBlocks', node: anyNode.name, blocks: 0 },
  ],
  mark: (a) =>
    a.do === 'contentMissingBlocks'
      ? a.blocks > 0
        ? { subject: a.node, edge: 'open', detail: `lacks ${a.blocks} blocks` }
        : { subject: a.node, edge: 'close' }
      : undefined,
};

export const contentCorruptBlocks: FaultKind = {
  name: 'contentCorruptBlocks',
  summary: 'the next blocks a store node serves arrive corrupted',
  actsOn: 'content network',
  knobs: { node: 'the serving store node', blocks: 'how many blocks (explorer: 1 + amount mod 8)' },
  persistent: false,
  drawnByDefault: false,
  draw: (f, { anyNode, at }) => [
    { at, do: 'contentCorruptBlocks', node: anyNode.name, blocks: 1 + (f.amount % 8) },
  ],
  mark: (a) =>
    a.do === 'contentCorruptBlocks'
      ? { subject: a.node, edge: 'instant', detail: `${a.blocks} blocks` }
      : undefined,
};

export const contentSlowProvider: FaultKind = {
  name: 'contentSlowProvider',
  summary: 'a store node answers every content request late, then on time again',
  actsOn: 'content network',
  knobs: {
    node: 'the store node',
    delay: 'how late it answers each request (explorer: (1 + amount mod 30) s)',
    forMs: 'until it answers on time again (delay: 0)',
  },
  persistent: true,
  drawnByDefault: false,
  draw: (f, { anyNode, at, end }) => [
    { at, do: 'contentSlowProvider', node: anyNode.name, delay: (1 + (f.amount % 30)) * SECOND },
    { at: end, do: 'contentSlowProvider', node: anyNode.name, delay: 0 },
  ],
  mark: (a) =>
    a.do === 'contentSlowProvider'
      ? a.delay > 0
        ? { subject: a.node, edge: 'open', detail: `${a.delay / SECOND} s late` }
        : { subject: a.node, edge: 'close' }
      : undefined,
};

export const storeNodeLeaves: FaultKind = {
  name: 'storeNodeLeaves',
  summary: "a node's store node leaves the content network (store wiped, records gone) and joins again empty",
  actsOn: 'content network',
  knobs: { node: 'whose store node', forMs: 'how long it stays away' },
  persistent: true,
  drawnByDefault: false,
  draw: (_f, { anyNode, at, end }) => [
    { at, do: 'storeNodeLeaves', node: anyNode.name },
    { at: end, do: 'storeNodeJoins', node: anyNode.name },
  ],
  mark: (a) =>
    a.do === 'storeNodeLeaves'
      ? { subject: a.node, edge: 'open' }
      : a.do === 'storeNodeJoins'
        ? { subject: a.node, edge: 'close' }
        : undefined,
};

export const contentHandlers: {
  contentMissingBlocks: ActionHandler<'contentMissingBlocks'>;
  contentCorruptBlocks: ActionHandler<'contentCorruptBlocks'>;
  contentSlowProvider: ActionHandler<'contentSlowProvider'>;
  storeNodeLeaves: ActionHandler<'storeNodeLeaves'>;
  storeNodeJoins: ActionHandler<'storeNodeJoins'>;
} = {
  contentMissingBlocks: (a, run) => run.world.content.setMissingBlocks(run.plan.id(a.node), a.blocks),
  contentCorruptBlocks: (a, run) => run.world.content.corruptNextBlocks(run.plan.id(a.node), a.blocks),
  contentSlowProvider: (a, run) => run.world.content.setServeDelay(run.plan.id(a.node), a.delay),
  storeNodeLeaves: (a, run) => {
    const id = run.plan.id(a.node);
    if (!run.world.content.isMember(id)) {
      run.skipped(a, 'its store node has already left');
      return;
    }
    run.world.content.leave(id);
  },
  storeNodeJoins: (a, run) => {
    const id = run.plan.id(a.node);
    if (run.world.content.isMember(id)) {
      run.skipped(a, 'its store node is on the network');
      return;
    }
    // The node's process went on (unless it crashed): its store comes back as it left, running or not.
    run.world.content.rejoin(id, { resume: true });
  },
};
