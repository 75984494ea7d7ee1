// What a fault kind is: its name, where in the world it acts, its knobs, the timeline
// actions that inject it and recover from it, and how one is drawn by the explorer. Every
// kind is declared once, in a file of this folder, and registered in index.ts; scenarios
// (their timeline), the explorer (explore/faults.ts) and the model-based worlds all go
// through that registry.

import type { ActionContext } from '../run/context.ts';
import type { Action } from '../schema.ts';

/** Where a fault acts. */
export type FaultLayer =
  | 'node' // the node's process or its actor: crash, restart, offline
  | 'host app' // a setting the host app changes: protocol, archive support, membership
  | 'network' // the simulated network: loss, latency, partitions, bandwidth
  | 'swarm' // the simulated BitTorrent swarm: corrupt pieces
  | 'torrent client' // the node's torrent client: slow seeding
  | 'content network' // the simulated content network's store nodes: lost, corrupt or slow blocks, leaving
  | 'disk' // the node's files: damage after download
  | 'ports' // any port call of a node: fails or hangs
  | 'keys' // the decryption keys of an encrypted community a node holds
  | 'relay adversary' // messages on the magnetlink channel nobody honest sent
  | 'community'; // the community's shape: a second control node

/**
 * One fault as the explorer draws and shrinks it. `node` is an index into the scenario's
 * nodes, taken modulo their number (so a fault stays valid while shrinking removes
 * members); `at` and `forMs` are ms offsets; `amount` is the kind's one number knob.
 */
export interface DrawnFault {
  kind: string;
  at: number;
  forMs: number;
  node: number;
  amount: number;
}

/** A node as the timeline names it, and whether it is a control node. */
export interface NodeRef {
  name: string;
  owner: boolean;
  /** When the node comes up (ms); a fault on it starts no earlier. */
  joinAt?: number;
}

/** What a kind needs to turn a drawn fault into timeline actions. */
export interface DrawContext {
  /** The node `f.node` names among all nodes, the members and the owners. */
  anyNode: NodeRef;
  member: NodeRef | undefined;
  owner: NodeRef;
  nodes: readonly NodeRef[];
  community: string;
  /** Start and end of the fault, already clipped to the fault window. */
  at: number;
  end: number;
}

export type TimedAction = Action & { at: number };

export type ActionOf<D extends Action['do']> = Extract<Action, { do: D }>;

/** How the runner carries out one `do` of the timeline. */
export type ActionHandler<D extends Action['do']> = (action: ActionOf<D>, run: ActionContext) => void;

/**
 * What a timeline action is to a fault kind on the run's time axis: it opens a window of
 * the fault on `subject` (a node, or "network"), closes the one open there, or is a fault
 * of one instant.
 */
export interface FaultMark {
  subject: string;
  edge: 'open' | 'close' | 'instant';
  /** A few words on the fault's setting ("loss 0.2", "3 pieces"). */
  detail?: string;
}

/** The network the run started with, against which a `network` action is a fault or a recovery. */
export interface NetworkBaseline {
  /** Largest one-way latency (ms) that is not a fault. */
  latencyMaxMs: number;
  /** Bytes/s per node below which the swarm links are a fault. */
  bandwidth: number;
}

export interface FaultKind {
  readonly name: string;
  readonly summary: string;
  readonly actsOn: FaultLayer;
  /** Each knob and what it means (the fields of its actions; how a drawn `amount` maps). */
  readonly knobs: Readonly<Record<string, string>>;
  /**
   * Lasts until its recovery action (the explorer merges overlapping faults of such a
   * kind on one node and starts them no earlier than the node comes up).
   */
  readonly persistent: boolean;
  /** Drawn by the explorer unless `--faults` names the kinds (false: only when named). */
  readonly drawnByDefault: boolean;
  /** The timeline actions of a drawn fault, recovery included; [] when it cannot apply. */
  draw?(f: DrawnFault, ctx: DrawContext): TimedAction[];
  /**
   * Whether a timeline action injects this kind, recovers from it or neither (undefined):
   * the report's fault windows and the explorer's coverage of fault kinds read it.
   */
  mark?(action: Action, baseline: NetworkBaseline): FaultMark | undefined;
}
