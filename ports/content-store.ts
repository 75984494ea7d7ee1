// Content-addressed distribution (protocol.md §11, docs/content-addressed.md): the local
// store node of the reference's second archive backend (Codex / Logos Storage), which
// archivist implements on a simulated content network (sim/content-network.ts) and on
// Helia (adapters/real/helia-content-store.ts). Both pass test/contract/content-store.contract.ts.
//
// The port is what the reference asks of its storage node, no more: upload bytes and get a
// content id; fetch a content id from the network (the node keeps what it fetched); read
// what is held locally; keep ("seed": fetch if needed and serve) and drop ("unseed":
// delete and stop serving) a content id. Everything held whole is served and announced:
// a node does not hold content it hides. Waiting policy (the 20 s index timeout, the one
// timer of the archive phase, polling) belongs to the machines: every wait here takes an
// AbortSignal and otherwise lasts as long as it takes.

import type { TransferStats } from './torrent.ts';

export type { TransferStats } from './torrent.ts';

export interface FetchProgress {
  cid: string;
  /** Bytes of the content held so far. */
  bytes: number;
  /** Size of the content once known (after its root/manifest arrived). */
  total?: number;
}

export interface FetchOptions {
  signal?: AbortSignal;
  onProgress?: (progress: FetchProgress) => void;
}

export interface ContentStore {
  readonly running: boolean;
  start(): Promise<void>;
  /** Stops serving and fetching; fetches under way reject with ContentStoreStopped. Held content stays. */
  stop(): Promise<void>;
  /** Stores `bytes` (held and served from now on) and resolves with their content id. */
  upload(bytes: Uint8Array): Promise<string>;
  /**
   * The content of `cid`, from the local store when held whole, else from the network. What
   * arrives is verified block by block against the id and kept (held and served afterwards).
   * Rejects with InvalidContentId, ContentStoreStopped, or the signal's reason when aborted.
   */
  fetch(cid: string, options?: FetchOptions): Promise<Uint8Array>;
  /** The content of `cid` from the local store only; rejects with ContentNotHeld when not held whole. */
  readLocal(cid: string): Promise<Uint8Array>;
  /** Whether the whole content of `cid` is held locally (the reference's HasCid). */
  has(cid: string): Promise<boolean>;
  /**
   * Seeding (the reference's TriggerDownload of the index): make sure the content is held,
   * fetching it when it is not, and serve it. Resolves once it is held.
   */
  keep(cid: string, options?: FetchOptions): Promise<void>;
  /** Unseeding (RemoveCid): delete the content locally and stop serving it. No-op when not held. */
  drop(cid: string): Promise<void>;
  /** Content ids held whole (and so served), sorted. */
  held(): Promise<string[]>;
  stats(): TransferStats;
}

/** A call needing a running store found it stopped (or stopped while waiting). */
export class ContentStoreStopped extends Error {
  constructor(what: string) {
    super(`content store is not running (${what})`);
    this.name = 'ContentStoreStopped';
  }
}

/** A string that is not a content id this store can use. */
export class InvalidContentId extends Error {
  readonly cid: string;
  constructor(cid: string, why = 'not a content id') {
    super(`${JSON.stringify(cid.length > 80 ? `${cid.slice(0, 80)}…` : cid)}: ${why}`);
    this.name = 'InvalidContentId';
    this.cid = cid;
  }
}

/** readLocal of a content id that is not held whole. */
export class ContentNotHeld extends Error {
  readonly cid: string;
  constructor(cid: string) {
    super(`content ${cid} is not held locally`);
    this.name = 'ContentNotHeld';
    this.cid = cid;
  }
}
