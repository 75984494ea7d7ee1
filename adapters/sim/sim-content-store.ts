// The ContentStore port on the simulated content network (sim/content-network.ts). One
// store per node. Every promise settles from a kernel event or at once, and tells the
// kernel, so awaiting code resumes at the virtual time the network reached. A node crash
// drops every fetch without settling it (the port contract of a dead process); `stop()`
// rejects them with ContentStoreStopped; held content stays (the store is a disk).

import {
  ContentNotHeld,
  type ContentStore,
  ContentStoreStopped,
  type FetchOptions,
  InvalidContentId,
  type TransferStats,
} from '../../ports/content-store.ts';
import { isContentId } from '../../sim/content-id.ts';
import type { ContentNetwork } from '../../sim/content-network.ts';
import type { Kernel } from '../../sim/kernel.ts';

export class SimContentStore implements ContentStore {
  readonly #nodeId: string;
  readonly #net: ContentNetwork;
  readonly #kernel: Kernel;

  constructor(nodeId: string, net: ContentNetwork, kernel: Kernel) {
    this.#nodeId = nodeId;
    this.#net = net;
    this.#kernel = kernel;
  }

  get running(): boolean {
    return this.#net.isRunning(this.#nodeId);
  }

  /** Settles `p` through the kernel's async bookkeeping (runAsync drains after it). */
  #settled<T>(p: Promise<T>): Promise<T> {
    const note = () => this.#kernel.noteAsyncWork();
    p.then(note, note);
    return p;
  }

  #now<T>(fn: () => T): Promise<T> {
    return this.#settled(new Promise<T>((resolve) => resolve(fn())));
  }

  #check(cid: string): void {
    if (typeof cid !== 'string' || !isContentId(cid)) throw new InvalidContentId(String(cid));
  }

  #runningOrThrow(what: string): void {
    if (!this.running) throw new ContentStoreStopped(what);
  }

  start(): Promise<void> {
    return this.#now(() => this.#net.start(this.#nodeId));
  }

  stop(): Promise<void> {
    return this.#now(() => this.#net.stop(this.#nodeId));
  }

  upload(bytes: Uint8Array): Promise<string> {
    return this.#now(() => this.#net.upload(this.#nodeId, bytes));
  }

  fetch(cid: string, options: FetchOptions = {}): Promise<Uint8Array> {
    try {
      this.#check(cid);
    } catch (error) {
      return this.#settled(Promise.reject(error));
    }
    return this.#settled(this.#net.fetch(this.#nodeId, cid, options.signal, options.onProgress));
  }

  readLocal(cid: string): Promise<Uint8Array> {
    return this.#now(() => {
      this.#check(cid);
      this.#runningOrThrow('readLocal');
      const bytes = this.#net.readLocal(this.#nodeId, cid);
      if (!bytes) throw new ContentNotHeld(cid);
      return bytes;
    });
  }

  has(cid: string): Promise<boolean> {
    return this.#now(() => {
      this.#check(cid);
      this.#runningOrThrow('has');
      return this.#net.has(this.#nodeId, cid);
    });
  }

  async keep(cid: string, options: FetchOptions = {}): Promise<void> {
    await this.fetch(cid, options);
  }

  drop(cid: string): Promise<void> {
    return this.#now(() => {
      this.#runningOrThrow('drop');
      if (isContentId(cid)) this.#net.drop(this.#nodeId, cid);
    });
  }

  held(): Promise<string[]> {
    return this.#now(() => this.#net.heldBy(this.#nodeId));
  }

  stats(): TransferStats {
    const s = this.#net.stats(this.#nodeId);
    return { bytesDown: s.bytesDown, bytesUp: s.bytesUp };
  }

  /** Node crash: fetches vanish unsettled; the store keeps what it held. */
  crash(): void {
    this.#net.crash(this.#nodeId);
  }

  /** After a crash: the node runs again; the store is stopped until start(). */
  restart(): void {
    this.#net.restart(this.#nodeId);
  }
}
