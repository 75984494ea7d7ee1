// The swarm's knobs and defaults (docs/simulation.md, "Swarm").

/**
 * The swarm's model: `piece`, transfers of runs of pieces with per-run events (the
 * default); `flow`, transfers as fluid flows of whole chunks that stream through peers
 * still downloading them (sim/swarm/flows.ts), for large runs.
 */
export type SwarmModel = 'piece' | 'flow';

export interface SwarmOptions {
  model: SwarmModel;
  /** Flow-level swarm: pieces of a chunk, the most one flow carries. */
  flowPieces: number;
  /**
   * Flow-level swarm: a flow streaming behind its uploader's own download ends at least
   * this many pieces (at its own rate) after that download: the delay a hop adds. The
   * piece-level swarm forwards what arrived in runs, about two pieces long in a contested
   * swarm, so two.
   */
  flowTail: number;
  /** Concurrent transfers (runs of pieces) a node uploads. */
  uploadSlots: number;
  /** Concurrent transfers (runs of pieces) a node downloads. */
  downloadSlots: number;
  /** Concurrent transfers between one uploader and one downloader. */
  pipeline: number;
  /**
   * Most consecutive pieces one transfer carries (1 = a transfer per piece). Larger runs
   * mean fewer kernel events per byte; a piece becomes shareable when its run completes.
   */
  piecesPerTransfer: number;
  /**
   * Fidelity of contested swarms: while other sessions want a block, a run over it may
   * have one piece per `rareCopies` copies per piece the block has (rare blocks travel
   * piece by piece, as in the per-piece model, so they spread as early). 0 = runs are as
   * long as allowed at once: fewest events, but a flash crowd finishes later (a run's
   * pieces are shared only when it completes).
   */
  rareCopies: number;
  /** Peers a session tries to keep per torrent. */
  peersPerTorrent: number;
  /** Connections a session accepts from joining peers (re-announcing starving peers may exceed it). */
  maxConnections: number;
  /** First re-announce interval; doubles while a session makes no progress, up to maxAnnounceMs. */
  announceMs: number;
  maxAnnounceMs: number;
  /** Record every run of pieces delivered or cut short in the trace (off for big benchmarks). */
  tracePieces: boolean;
}

export const DEFAULT_SWARM: SwarmOptions = {
  model: 'piece',
  flowPieces: 16,
  flowTail: 2,
  uploadSlots: 4,
  downloadSlots: 8,
  pipeline: 2,
  piecesPerTransfer: 16,
  rareCopies: 8,
  peersPerTorrent: 20,
  maxConnections: 40,
  announceMs: 30_000,
  maxAnnounceMs: 30 * 60_000,
  tracePieces: true,
};

/** Default bandwidths (bytes/s): a residential line, 20 Mbit/s up, 100 Mbit/s down. */
export const DEFAULT_UPLOAD_BPS = 2_500_000;
export const DEFAULT_DOWNLOAD_BPS = 12_500_000;

/** A usable rate in bytes/s: anything not a positive finite number means 0 (none). */
export function bandwidth(bps: number): number {
  return Number.isFinite(bps) && bps > 0 ? bps : 0;
}

/** The options with defaults filled in, checked. */
export function swarmOptions(opts: Partial<SwarmOptions>): SwarmOptions {
  const o = { ...DEFAULT_SWARM, ...opts };
  const k = o.piecesPerTransfer;
  if (!Number.isSafeInteger(k) || k < 1) {
    throw new RangeError(`swarm: piecesPerTransfer must be a whole number >= 1, got ${k}`);
  }
  if (o.model !== 'piece' && o.model !== 'flow') {
    throw new RangeError(`swarm: model must be 'piece' or 'flow', got ${String(o.model)}`);
  }
  if (!Number.isSafeInteger(o.flowPieces) || o.flowPieces < 1) {
    throw new RangeError(`swarm: flowPieces must be a whole number >= 1, got ${o.flowPieces}`);
  }
  if (!Number.isFinite(o.flowTail) || o.flowTail < 0) {
    throw new RangeError(`swarm: flowTail must be a number >= 0, got ${o.flowTail}`);
  }
  const rc = o.rareCopies;
  if (!Number.isFinite(rc) || rc < 0) {
    throw new RangeError(`swarm: rareCopies must be a number >= 0, got ${rc}`);
  }
  return o;
}
