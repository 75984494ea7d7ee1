// What every part of the swarm shares: the world's kernel, trace and network, the options,
// the nodes and torrents, and the transfer engine (the part that moves pieces; the
// piece-level one is sim/swarm/transfers.ts). Sessions, metadata, wants, files and
// announces talk to transfers only through the engine.

import type { Kernel } from '../kernel.ts';
import type { SimNetwork } from '../network.ts';
import type { Trace } from '../trace.ts';
import type { SwarmOptions } from './options.ts';
import type { Session, SwarmNode, Torrent } from './sessions.ts';
import { IntLists, NodeTable, PEER_MEMO, SessionTable, TransferTable } from './tables.ts';

export interface TransferEngine {
  /** Start downloads for a node while it has free download slots and peers to fetch from. */
  fillDown(node: SwarmNode): void;
  /** Start uploads for a node while it has free upload slots and peers that need its pieces. */
  fillUp(node: SwarmNode): void;
  /** fillDown then fillUp. */
  refill(node: SwarmNode): void;
  /** Cut short every transfer of a session (it leaves); the nodes touched go into `affected`. */
  abortSession(s: Session, affected: Set<SwarmNode>): void;
  /** Cut short the session's downloads that carry a piece it no longer wants. */
  abortUnwanted(s: Session, affected: Set<SwarmNode>): void;
  /** Cut short the transfers of these nodes whose ends cannot reach each other any more. */
  abortCut(nodes: SwarmNode[], affected: Set<SwarmNode>): void;
  /** A node's bandwidth changed (already set on the node): running transfers adapt. */
  bandwidthChanged(node: SwarmNode): void;
  /** Transfers running across the world. */
  active(): number;
}

export class SwarmCore {
  readonly kernel: Kernel;
  readonly trace: Trace;
  readonly net: SimNetwork;
  readonly seed: number;
  readonly opts: SwarmOptions;
  readonly nodes = new Map<string, SwarmNode>();
  readonly nodeList: SwarmNode[] = [];
  /** The node ids and latency samplers (SimNetwork.latencyFrom), by node number. */
  readonly nodeIds: string[] = [];
  readonly latencyOf: ((to: string) => number)[] = [];
  readonly torrents = new Map<string, Torrent>();
  /** The hot fields of nodes, sessions and transfers (sim/swarm/tables.ts). */
  readonly nt: NodeTable;
  readonly st = new SessionTable();
  readonly tt = new TransferTable();
  /** Each session's peers and each node's sessions, by number, in connection / join order. */
  readonly peerLists = new IntLists(PEER_MEMO);
  readonly nodeSessions = new IntLists();
  /** The pieces each session gained from transfers, in order (the picker's memo reads it). */
  readonly gainLog = new IntLists();
  /** Every session, and its torrent, by number (undefined once it left: nothing looks it up then). */
  readonly sessionById: (Session | undefined)[] = [];
  readonly torrentOf: (Torrent | undefined)[] = [];
  /** Set by the swarm's owner (the world): called whenever a promise of the swarm settles. */
  onSettle: () => void = () => {};
  /** The part that moves pieces (set by the swarm). */
  engine!: TransferEngine;
  /** What an announce does (sim/swarm/peers.ts; set by the swarm, so the announce timer need not import it). */
  announce!: (s: Session) => void;
  constructor(kernel: Kernel, trace: Trace, net: SimNetwork, seed: number, opts: SwarmOptions) {
    this.kernel = kernel;
    this.trace = trace;
    this.net = net;
    this.seed = seed;
    this.opts = opts;
    this.nt = new NodeTable(opts.uploadSlots, opts.downloadSlots);
  }
}
