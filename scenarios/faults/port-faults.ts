// A host's own failures, which the machines must survive like the world's: any port call
// of a node (a disk error, a torrent library refusing to start, a store query that never
// returns) fails or hangs for its next `times` calls (adapters/sim/faulty-adapters.ts).
// A run wraps its nodes' ports only when its timeline has a port fault.

import { PORT_CALLS } from '../../adapters/sim/faulty-adapters.ts';
import type { ActionHandler, FaultKind } from './fault-kind.ts';

/** The calls the explorer draws from: the port calls that return a promise. */
export const DRAWN_PORT_CALLS = [
  'torrent.seed',
  'download.metadata',
  'download.downloadFile',
  'download.downloadPieces',
  'messaging.queryStore',
] as const;

export const portFault: FaultKind = {
  name: 'portFault',
  summary: "a node's next calls of one port method fail or hang",
  actsOn: 'ports',
  knobs: {
    node: 'which node',
    call: `the port call (${PORT_CALLS.length} of them, e.g. torrent.seed, download.downloadPieces)`,
    mode: 'fail (throw / reject) or hang (never settle; still honours its AbortSignal)',
    times: 'how many calls it hits (explorer: 1 + amount mod 3)',
    amount: `explorer: which of ${DRAWN_PORT_CALLS.join(', ')}; odd amounts hang`,
  },
  persistent: false,
  drawnByDefault: false,
  draw: (f, { anyNode, at }) => [
    {
      at,
      do: 'portFault',
      node: anyNode.name,
      call: DRAWN_PORT_CALLS[f.amount % DRAWN_PORT_CALLS.length] as (typeof DRAWN_PORT_CALLS)[number],
      mode: f.amount % 2 === 1 ? 'hang' : 'fail',
      times: 1 + (f.amount % 3),
    },
  ],
  mark: (a) =>
    a.do === 'portFault'
      ? {
          subject: a.node,
          edge: 'instant',
          detail: `${a.call} ${a.mode ?? 'fail'}${a.times !== undefined ? ` ×${a.times}` : ''}`,
        }
      : undefined,
};

export const portHandlers: { portFault: ActionHandler<'portFault'> } = {
  portFault: (a, run) => {
    const ports = run.h.node(run.plan.id(a.node)).faults;
    if (!ports) throw new Error(`portFault on ${a.node}: the run did not wrap its ports`);
    ports.arm({ call: a.call, mode: a.mode, ...(a.times !== undefined ? { times: a.times } : {}) });
  },
};
