// Faults of the simulated network, all through the `network` action (latency, loss,
// duplication, reordering of relay messages; bandwidth of every node's swarm links; the
// torrent clients' seeding delay) except partitions, which have actions of their own.

import { networkOptions } from '../run/plan.ts';
import type { NetworkConditions } from '../schema.ts';
import type {
  ActionHandler,
  DrawContext,
  DrawnFault,
  FaultKind,
  NetworkBaseline,
  TimedAction,
} from './fault-kind.ts';

const HOUR = 3_600_000;

/** Network conditions once the faults have stopped. */
export const HEALTHY_LATENCY = { min: 40, max: 120 };
/** Bytes/s each way after a bandwidth fault (the simulator's default upload rate). */
export const HEALTHY_BANDWIDTH = 2_500_000;

/**
 * A `network` fault: `conditions` from `at`, `recovered` at the end. `faulty` tells, for a
 * `network` action's conditions, whether they set this fault (a detail), clear it (false) or
 * leave it alone (undefined).
 */
function conditionFault(
  name: string,
  summary: string,
  actsOn: FaultKind['actsOn'],
  knob: string,
  during: (f: DrawnFault) => TimedAction & { do: 'network' },
  recovered: TimedAction & { do: 'network' },
  faulty: (c: NetworkConditions, baseline: NetworkBaseline) => string | false | undefined,
): FaultKind {
  return {
    name,
    summary,
    actsOn,
    knobs: { amount: knob, forMs: 'how long it lasts' },
    persistent: false,
    drawnByDefault: true,
    draw: (f: DrawnFault, { at, end }: DrawContext) => [
      { ...during(f), at },
      { ...recovered, at: end },
    ],
    mark: (a, baseline) => {
      if (a.do !== 'network') return undefined;
      const detail = faulty(a.conditions, baseline);
      if (detail === undefined) return undefined;
      return detail === false
        ? { subject: 'network', edge: 'close' }
        : { subject: 'network', edge: 'open', detail };
    },
  };
}

const probability = (field: 'loss' | 'duplication' | 'reordering') =>
  conditionFault(
    field,
    `relay messages suffer ${field}`,
    'network',
    `${field} probability = amount / 1000`,
    (f) => ({ at: 0, do: 'network', conditions: { [field]: Math.min(1, f.amount / 1000) } }),
    { at: 0, do: 'network', conditions: { [field]: 0 } },
    (c) => {
      const p = c[field];
      return p === undefined ? undefined : p > 0 ? `${field} ${p}` : false;
    },
  );

export const loss = probability('loss');
export const duplication = probability('duplication');
export const reordering = probability('reordering');

export const latency = conditionFault(
  'latency',
  'every link gets slow',
  'network',
  'latency uniform in [500, 500 + 30 × amount] ms',
  (f) => ({ at: 0, do: 'network', conditions: { latency: { min: 500, max: 500 + f.amount * 30 } } }),
  { at: 0, do: 'network', conditions: { latency: HEALTHY_LATENCY } },
  (c, baseline) => {
    if (c.latency === undefined) return undefined;
    const max = typeof c.latency === 'number' ? c.latency : c.latency.max;
    return max > baseline.latencyMaxMs ? `latency up to ${max} ms` : false;
  },
);

export const bandwidth = conditionFault(
  'bandwidth',
  "every node's swarm links get narrow",
  'network',
  'bytes/s each way = max(1000, 100 × amount)',
  (f) => ({ at: 0, do: 'network', conditions: { bandwidth: Math.max(1000, f.amount * 100) } }),
  { at: 0, do: 'network', conditions: { bandwidth: HEALTHY_BANDWIDTH } },
  (c, baseline) =>
    c.bandwidth === undefined ? undefined : c.bandwidth < baseline.bandwidth ? `${c.bandwidth} B/s` : false,
);

export const slowSeeding = conditionFault(
  'slowSeeding',
  'torrent clients take hours to start seeding a torrent',
  'torrent client',
  'seeding delay = (1 + amount mod 24) hours',
  (f) => ({ at: 0, do: 'network', conditions: { seedDelay: (1 + (f.amount % 24)) * HOUR } }),
  { at: 0, do: 'network', conditions: { seedDelay: 0 } },
  (c) =>
    c.seedDelay === undefined ? undefined : c.seedDelay > 0 ? `seeding takes ${c.seedDelay / HOUR} h` : false,
);

export const partition: FaultKind = {
  name: 'partition',
  summary: 'the network splits into two groups that cannot reach each other, then heals',
  actsOn: 'network',
  knobs: { amount: 'bit mask of the nodes in the first group', forMs: 'how long it lasts' },
  persistent: false,
  drawnByDefault: true,
  draw: (f, { nodes, at, end }) => {
    const a = nodes.filter((_, i) => (f.amount >> i) & 1).map((n) => n.name);
    const b = nodes.filter((_, i) => !((f.amount >> i) & 1)).map((n) => n.name);
    if (a.length === 0 || b.length === 0) return [];
    return [
      { at, do: 'partition', groups: [a, b] },
      { at: end, do: 'heal' },
    ];
  },
  mark: (a) =>
    a.do === 'partition'
      ? { subject: 'network', edge: 'open', detail: a.groups.map((g) => g.join(' ')).join(' | ') }
      : a.do === 'heal'
        ? { subject: 'network', edge: 'close' }
        : undefined,
};

export const networkHandlers: {
  partition: ActionHandler<'partition'>;
  heal: ActionHandler<'heal'>;
  network: ActionHandler<'network'>;
} = {
  partition: (a, run) => run.world.network.partition(a.groups.map((g) => g.map(run.plan.id))),
  heal: (_a, run) => run.world.network.heal(),
  network: (a, run) => {
    run.world.network.setDefaults(networkOptions(a.conditions));
    if (a.conditions.bandwidth !== undefined)
      for (const n of run.allNodes)
        run.world.swarm.setBandwidth(n.id, a.conditions.bandwidth, a.conditions.bandwidth);
    if (a.conditions.seedDelay !== undefined) run.setSeedDelay(a.conditions.seedDelay);
  },
};
