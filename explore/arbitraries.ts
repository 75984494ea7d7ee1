// fast-check arbitraries of whole scenarios, in the input shape of a scenario file
// (scenarios/schema.ts): the community's shape (members, late joiners, a second control
// node, chats, import rates), its traffic, a fault schedule drawn from the kinds asked
// for, and — when the shape allows more than the torrent — the distribution backend of the
// run (`backend: torrent | cid | both`, protocol.md §11; machine option `archiveBackends`)
// with the content-addressed backend's quirk switches (`cidArchivePhaseTimeout`,
// `cidInvertedUnseed`). A generated scenario is a plain object that `yaml` writes as a
// scenario file.
// Faults happen in [0, duration - settle); every one is recovered by then, and the last
// `settle` of the run is healthy so that convergence (§10.9) can be demanded at the end.

import fc from 'fast-check';
import type { ScenarioInput } from '../scenarios/schema.ts';
import { formatDuration, parseDuration } from '../scenarios/units.ts';
import { FAULT_KINDS, type Fault, type FaultKind, type NodeRef, toTimeline } from './faults.ts';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The distribution backends of a run (§11): the scenario's `backend`, the machines' `archiveBackends`. */
export const BACKENDS = ['torrent', 'cid', 'both'] as const;
export type Backend = (typeof BACKENDS)[number];

/** The content-addressed backend's reference quirks, drawn when the run uses that backend. */
export const CID_QUIRKS = ['cidArchivePhaseTimeout', 'cidInvertedUnseed'] as const;
export type CidQuirk = (typeof CID_QUIRKS)[number];

/**
 * The scenario fields of the content-addressed backend. Written only into scenarios that
 * use it, so a torrent-only exploration generates the very files it did before them.
 */
export interface BackendFields {
  backend?: Backend;
  quirks?: ScenarioInput['quirks'] & Partial<Record<CidQuirk, boolean>>;
}

export interface ScenarioShape {
  /** Members (besides the control nodes), bounds included. */
  members: { min: number; max: number };
  /** Length of the run in days, bounds included. */
  days: { min: number; max: number };
  /** Healthy time at the end of the run in which members must converge (ms). */
  settleMs: number;
  /** Fault kinds to draw from (`secondControlNode` allows a second control node). */
  faults: readonly FaultKind[];
  /** At most this many faults per scenario. */
  maxFaults: number;
  /** Messages per day, bounds included. */
  rate: { min: number; max: number };
  /** `mode`, `options` and `quirks` of every generated scenario. */
  settings: Pick<ScenarioInput, 'mode' | 'options' | 'quirks'>;
  /**
   * Backends a run may use, one drawn per scenario (default: the torrent only). A cid quirk
   * the settings' `quirks` set is kept; an unset one is drawn for each run that uses cid.
   */
  backends: readonly Backend[];
}

/** The reference bugs the explorer looks for; off unless the settings turn them on. */
export const BUGS_OFF = {
  noNewArchivesByCount: false,
  retryUndecodableForever: false,
  dispatchCrashOnMissingCommunity: false,
} as const;

export const DEFAULT_SHAPE: ScenarioShape = {
  members: { min: 1, max: 5 },
  days: { min: 14, max: 28 },
  settleMs: 8 * DAY,
  faults: FAULT_KINDS,
  maxFaults: 6,
  rate: { min: 4, max: 40 },
  // An archive that does not decode is retried hourly, not every second: the same loop
  // (with `retryUndecodableForever`) at a pace a simulated fortnight can afford.
  settings: {
    mode: 'reference',
    options: { importRate: 'fast', corruptRetry: '1h' },
    quirks: { ...BUGS_OFF },
  },
  backends: ['torrent'],
};

/** The generated parts of a scenario before it is laid out as a file. */
export interface ScenarioDraft {
  seed: number;
  members: number;
  /** Offset (whole hours) at which each member joins; 0 = from the start. */
  joinAt: number[];
  secondControlNode: boolean;
  secondControlNodeAt: number;
  chats: number;
  days: number;
  rate: number;
  maxSize: number;
  slowImport: boolean[];
  faults: Fault[];
  /** Default: the torrent. */
  backend?: Backend;
  /** The cid quirks' switches for a run that uses the content-addressed backend (default: the settings'). */
  cidQuirks?: Partial<Record<CidQuirk, boolean>>;
}

function draftArbitrary(shape: ScenarioShape): fc.Arbitrary<ScenarioDraft> {
  const timelineKinds = shape.faults.filter((k) => k !== 'secondControlNode');
  const allowSecond = shape.faults.includes('secondControlNode');
  const maxMembers = shape.members.max;
  const backends = shape.backends ?? ['torrent'];
  const fixed = shape.settings.quirks as Partial<Record<CidQuirk, boolean>> | undefined;
  const usesCid = backends.some((b) => b !== 'torrent');
  // the reference's value (on) for a torrent-only shape, where it decides nothing
  const cidQuirk = (q: CidQuirk): fc.Arbitrary<boolean> =>
    fixed?.[q] !== undefined ? fc.constant(fixed[q]) : usesCid ? fc.boolean() : fc.constant(true);
  return fc
    .record({
      seed: fc.nat({ max: 1_000_000 }),
      members: fc.integer({ min: shape.members.min, max: maxMembers }),
      days: fc.integer({ min: shape.days.min, max: shape.days.max }),
      joinAt: fc.array(
        fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, fc.integer({ min: 1, max: 20 * 24 })),
        {
          minLength: maxMembers,
          maxLength: maxMembers,
        },
      ),
      secondControlNode: allowSecond ? fc.boolean() : fc.constant(false),
      secondControlNodeAt: fc.integer({ min: 0, max: 10 * 24 }),
      chats: fc.integer({ min: 1, max: 2 }),
      rate: fc.integer({ min: shape.rate.min, max: shape.rate.max }),
      maxSize: fc.integer({ min: 200, max: 4000 }),
      slowImport: fc.array(fc.boolean(), { minLength: maxMembers + 2, maxLength: maxMembers + 2 }),
      faultSeeds: fc.array(
        fc.record({
          kind:
            timelineKinds.length > 0 ? fc.constantFrom(...timelineKinds) : fc.constant('offline' as const),
          at: fc.integer({ min: 0, max: 1000 }),
          forMs: fc.integer({ min: 1, max: 10 * 24 }),
          node: fc.nat({ max: 63 }),
          amount: fc.nat({ max: 1000 }),
        }),
        { maxLength: timelineKinds.length > 0 ? shape.maxFaults : 0 },
      ),
      // last, and constant for a torrent-only shape, so the fields above draw as before
      backend: backends.length > 1 ? fc.constantFrom(...backends) : fc.constant(backends[0] ?? 'torrent'),
      cidQuirks: fc.record({
        cidArchivePhaseTimeout: cidQuirk('cidArchivePhaseTimeout'),
        cidInvertedUnseed: cidQuirk('cidInvertedUnseed'),
      }),
    })
    .map((r) => {
      // Fault times are per-mille of the fault window, so shrinking the run keeps them inside.
      const window = r.days * DAY - shape.settleMs;
      const faults: Fault[] = r.faultSeeds.map((f) => ({
        kind: f.kind,
        at: Math.max(0, Math.floor((window * f.at) / 1000 / HOUR) * HOUR),
        forMs: f.forMs * HOUR,
        node: f.node,
        amount: f.amount,
      }));
      return {
        seed: r.seed,
        members: r.members,
        joinAt: r.joinAt.slice(0, r.members),
        secondControlNode: r.secondControlNode,
        secondControlNodeAt: r.secondControlNodeAt,
        chats: r.chats,
        days: r.days,
        rate: r.rate,
        maxSize: r.maxSize,
        slowImport: r.slowImport,
        faults,
        backend: r.backend,
        cidQuirks: r.cidQuirks,
      };
    });
}

/** Lays a draft out as a scenario file's content. */
export function draftToScenario(d: ScenarioDraft, shape: ScenarioShape, name = 'explored'): ScenarioInput {
  const duration = d.days * DAY;
  const faultEnd = Math.max(0, duration - shape.settleMs);
  const nodes: NonNullable<ScenarioInput['nodes']> = [{ name: 'owner', role: 'owner' }];
  const refs: NodeRef[] = [{ name: 'owner', owner: true }];
  if (d.secondControlNode) {
    nodes.push({ name: 'owner2', role: 'owner', joinAt: Math.min(faultEnd, d.secondControlNodeAt * HOUR) });
    refs.push({
      name: 'owner2',
      owner: true,
      joinAt: Math.max(1, Math.min(faultEnd, d.secondControlNodeAt * HOUR)),
    });
  }
  for (let i = 0; i < d.members; i++) {
    const name = `m${i + 1}`;
    const joinAt = Math.min(faultEnd, (d.joinAt[i] ?? 0) * HOUR);
    nodes.push({
      name,
      role: 'member',
      ...(joinAt > 0 ? { joinAt } : {}),
      ...(d.slowImport[i] ? { importRate: 'slow' as const } : {}),
    });
    refs.push({ name, owner: false, joinAt });
  }
  const chats = Array.from({ length: d.chats }, (_, i) => `chat${i + 1}`);
  const scenario: ScenarioInput = {
    name,
    description: `generated by archivist explore: ${d.members} members, ${d.days} days, ${d.faults.length} faults`,
    seed: d.seed,
    duration,
    ...shape.settings,
    communities: [{ id: 'c1', chats }],
    nodes,
    traffic: [{ community: 'c1', rate: `${d.rate}/d`, size: { min: 100, max: Math.max(100, d.maxSize) } }],
    timeline: toTimeline(d.faults, refs, 'c1', faultEnd),
    ...backendFields(d, shape),
  };
  return scenario;
}

/** The backend fields of a draft's scenario: none for a torrent run. */
export function backendFields(
  d: Pick<ScenarioDraft, 'backend' | 'cidQuirks'>,
  shape: ScenarioShape,
): Partial<ScenarioInput> {
  if (d.backend === undefined || d.backend === 'torrent') return {};
  const fields: BackendFields = {
    backend: d.backend,
    quirks: { ...shape.settings.quirks, ...d.cidQuirks },
  };
  // `backend` and the cid quirks are scenario fields of §11 (scenarios/schema.ts)
  return fields as Partial<ScenarioInput>;
}

/** Whole scenarios of the given shape. */
export function scenarioArbitrary(shape: ScenarioShape = DEFAULT_SHAPE): fc.Arbitrary<ScenarioInput> {
  return draftArbitrary(shape).map((d) => draftToScenario(d, shape));
}

/** How big a scenario is, for reports and for bounding shrunk ones in tests. */
export interface ScenarioSize {
  nodes: number;
  actions: number;
  days: number;
  messagesPerDay: number;
}

export function scenarioSize(s: ScenarioInput): ScenarioSize {
  const rate = s.traffic?.[0]?.rate;
  return {
    nodes: s.nodes.length,
    actions: s.timeline?.length ?? 0,
    days: Math.round((typeof s.duration === 'string' ? (parseDuration(s.duration) ?? 0) : s.duration) / DAY),
    messagesPerDay: typeof rate === 'string' ? Number(rate.split('/')[0]) : 0,
  };
}

/** A scenario with its durations in words ("28d", "3d4h", seeding delays too), as a person would write it. */
export function readableScenario(s: ScenarioInput): ScenarioInput {
  const d = (v: unknown) => (typeof v === 'number' ? formatDuration(v) : v);
  return {
    ...s,
    duration: d(s.duration) as ScenarioInput['duration'],
    nodes: s.nodes.map((n) => (n.joinAt === undefined ? n : { ...n, joinAt: d(n.joinAt) as string })),
    timeline: (s.timeline ?? []).map((a) =>
      a.do === 'network' && typeof a.conditions.seedDelay === 'number'
        ? {
            ...a,
            at: d(a.at) as string,
            conditions: { ...a.conditions, seedDelay: d(a.conditions.seedDelay) as string },
          }
        : { ...a, at: d(a.at) as string },
    ),
  };
}
