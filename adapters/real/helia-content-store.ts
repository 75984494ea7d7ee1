// The ContentStore port on Helia (IPFS in JavaScript): UnixFS files in a blockstore,
// exchanged with bitswap over libp2p (TCP + noise + yamux + identify). No Codex / Logos
// Storage node exists for JavaScript; Helia plays the local store node's part: content ids
// are IPFS CIDs (not Codex's), and content is exchanged block by block and verified
// against its id, as in Codex.
//
// Loopback only by default and no discovery at all (no bootstrap list, no DHT, no mDNS, no
// delegated routing): peers are given as multiaddrs and dialled directly; bitswap asks the
// connected peers for the blocks it wants.
//
// Held content = pinned content (pinned once held whole: after an upload or a finished
// fetch). Drop unpins and collects garbage, so the blocks go. With `dir`, blocks and pins
// live on disk (`<dir>/blocks`, `<dir>/data`) and survive a restart of the process; without
// it they live in memory for the life of this object (they survive stop/start).

import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { withBitswap } from '@helia/bitswap';
import { type HeliaWithLibp2p, withLibp2pLight } from '@helia/libp2p';
import { type UnixFS, unixfs } from '@helia/unixfs';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { MemoryBlockstore } from 'blockstore-core';
import { FsBlockstore } from 'blockstore-fs';
import { MemoryDatastore } from 'datastore-core';
import { FsDatastore } from 'datastore-fs';
import { createHeliaLight } from 'helia';
import type { Blockstore } from 'interface-blockstore';
import type { Datastore } from 'interface-datastore';
import type { CID } from 'multiformats/cid';
import {
  ContentNotHeld,
  type ContentStore,
  ContentStoreStopped,
  type FetchOptions,
  InvalidContentId,
  type TransferStats,
} from '../../ports/content-store.ts';
import { parseContentId } from '../../proto/archive-link.ts';
import { TransferCounter } from './transfer-counter.ts';

export interface HeliaContentStoreOptions {
  /** Folder of the persistent store; in memory when absent. */
  dir?: string;
  /** Address to listen on (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 0: any free one). */
  port?: number;
  /** Multiaddrs (with /p2p/<peer id>) of peers to connect to at start and before fetches. */
  peers?: string[];
}

type Node = HeliaWithLibp2p<{ identify: ReturnType<ReturnType<typeof identify>> }>;

export class HeliaContentStore implements ContentStore {
  readonly #options: HeliaContentStoreOptions;
  readonly #counter = new TransferCounter();
  readonly #peers: string[];
  #blockstore: Blockstore | undefined;
  #datastore: Datastore | undefined;
  #node: Node | undefined;
  #fs: UnixFS | undefined;
  /** Aborted by stop(): every wait under way ends with ContentStoreStopped. */
  #running = new AbortController();
  readonly #fetches = new Map<
    string,
    { promise: Promise<Uint8Array>; giveUp: AbortController; waiters: number }
  >();

  constructor(options: HeliaContentStoreOptions = {}) {
    this.#options = options;
    this.#peers = [...(options.peers ?? [])];
  }

  get running(): boolean {
    return this.#node !== undefined;
  }

  /** Addresses peers can dial this store on (after start()), with its peer id. */
  multiaddrs(): string[] {
    return this.#node ? this.#node.libp2p.getMultiaddrs().map(String) : [];
  }

  /** Connects to a peer now and before every later fetch. */
  async addPeer(address: string): Promise<void> {
    if (!this.#peers.includes(address)) this.#peers.push(address);
    if (this.#node) await this.#dial(this.#node, address);
  }

  async start(): Promise<void> {
    if (this.#node) return;
    const dir = this.#options.dir;
    this.#blockstore ??= dir ? new FsBlockstore(`${dir}/blocks`) : new MemoryBlockstore();
    this.#datastore ??= dir ? new FsDatastore(`${dir}/data`) : new MemoryDatastore();
    const host = this.#options.host ?? '127.0.0.1';
    const port = this.#options.port ?? 0;
    const node = withBitswap(
      withLibp2pLight(
        createHeliaLight({
          blockstore: this.#blockstore,
          datastore: this.#datastore,
          routers: [],
        }),
        {
          addresses: { listen: [`/ip4/${host}/tcp/${port}`] },
          transports: [tcp()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          services: { identify: identify() },
          metrics: () => this.#counter.metrics(),
        },
      ),
    );
    await node.start();
    this.#running = new AbortController();
    this.#node = node;
    this.#fs = unixfs(node);
    for (const p of this.#peers) await this.#dial(node, p);
  }

  async stop(): Promise<void> {
    const node = this.#node;
    if (!node) return;
    this.#running.abort(new ContentStoreStopped('stopped'));
    this.#node = undefined;
    this.#fs = undefined;
    await node.stop();
  }

  async #dial(node: Node, address: string): Promise<void> {
    // A timer of our own, cleared at once: a pending timeout would keep the process alive.
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(new Error(`dial ${address}: timed out`)), 5000);
    try {
      await node.libp2p.dial(multiaddr(address), { signal: abort.signal });
    } catch {
      // A peer that is not up yet is tried again before the next fetch.
    } finally {
      clearTimeout(timer);
    }
  }

  #live(what: string): { node: Node; fs: UnixFS } {
    if (!this.#node || !this.#fs) throw new ContentStoreStopped(what);
    return { node: this.#node, fs: this.#fs };
  }

  #cid(text: string): CID {
    const cid = typeof text === 'string' ? parseContentId(text) : undefined;
    if (!cid) throw new InvalidContentId(String(text));
    return cid as unknown as CID;
  }

  async upload(bytes: Uint8Array): Promise<string> {
    const { node, fs } = this.#live('upload');
    const cid = await fs.addBytes(bytes, { cidVersion: 1, rawLeaves: true });
    await this.#pin(node, cid);
    return cid.toString();
  }

  async #pin(node: Node, cid: CID): Promise<void> {
    if (await node.pins.isPinned(cid)) return;
    for await (const _ of node.pins.add(cid)) {
      // pins.add yields every block it pinned; nothing to do with them
    }
  }

  async has(cid: string): Promise<boolean> {
    const c = this.#cid(cid);
    const { node } = this.#live('has');
    return node.pins.isPinned(c);
  }

  async readLocal(cid: string): Promise<Uint8Array> {
    const c = this.#cid(cid);
    const { node, fs } = this.#live('readLocal');
    if (!(await node.pins.isPinned(c))) throw new ContentNotHeld(cid);
    return collect(fs.cat(c, { offline: true }));
  }

  fetch(cid: string, options: FetchOptions = {}): Promise<Uint8Array> {
    let c: CID;
    try {
      c = this.#cid(cid);
      this.#live('fetch');
    } catch (error) {
      return Promise.reject(error);
    }
    const { signal, onProgress } = options;
    if (signal?.aborted) return Promise.reject(signal.reason);
    // One network fetch per content id; every caller waits on it with its own signal, and
    // it is given up when its last waiter gives up.
    let f = this.#fetches.get(cid);
    if (!f) {
      const giveUp = new AbortController();
      const promise = this.#fetchOnce(c, cid, giveUp.signal, onProgress).finally(() =>
        this.#fetches.delete(cid),
      );
      promise.catch(() => {}); // every waiter has its own handler; a given-up fetch has none
      f = { promise, giveUp, waiters: 0 };
      this.#fetches.set(cid, f);
    }
    if (!signal) {
      f.waiters = Number.POSITIVE_INFINITY;
      return f.promise;
    }
    f.waiters++;
    const shared = f;
    return abortable(shared.promise, signal, () => {
      shared.waiters--;
      if (shared.waiters === 0) shared.giveUp.abort(signal.reason);
    });
  }

  async #fetchOnce(
    c: CID,
    cid: string,
    giveUp: AbortSignal,
    onProgress: FetchOptions['onProgress'],
  ): Promise<Uint8Array> {
    const { node, fs } = this.#live('fetch');
    const stopped = this.#running.signal;
    if (await node.pins.isPinned(c)) {
      const bytes = await collect(fs.cat(c, { offline: true }));
      onProgress?.({ cid, bytes: bytes.length, total: bytes.length });
      return bytes;
    }
    for (const p of this.#peers) if (!isConnected(node, p)) await this.#dial(node, p);
    const signal = AbortSignal.any([stopped, giveUp]);
    try {
      const stat = await fs.stat(c, { signal });
      const total = Number(stat.type === 'directory' ? 0 : stat.size);
      let bytes = 0;
      const chunks: Uint8Array[] = [];
      for await (const chunk of fs.cat(c, { signal })) {
        chunks.push(chunk);
        bytes += chunk.length;
        onProgress?.({ cid, bytes, total });
      }
      await this.#pin(node, c);
      if (chunks.length === 0) onProgress?.({ cid, bytes: 0, total: 0 });
      return concat(chunks, bytes);
    } catch (error) {
      if (stopped.aborted) throw stopped.reason;
      if (giveUp.aborted) throw giveUp.reason;
      throw error;
    }
  }

  async keep(cid: string, options: FetchOptions = {}): Promise<void> {
    await this.fetch(cid, options);
  }

  async drop(cid: string): Promise<void> {
    const { node } = this.#live('drop');
    const c = parseContentId(cid) as unknown as CID | undefined;
    if (!c) return;
    this.#fetches.get(cid)?.giveUp.abort(new ContentStoreStopped(`drop of ${cid} while fetching it`));
    if (await node.pins.isPinned(c)) {
      for await (const _ of node.pins.rm(c)) {
        // rm yields every block it unpinned
      }
    }
    await node.gc();
  }

  async held(): Promise<string[]> {
    const { node } = this.#live('held');
    const out: string[] = [];
    for await (const pin of node.pins.ls()) out.push(pin.cid.toString());
    return out.sort();
  }

  stats(): TransferStats {
    return { bytesDown: this.#counter.bytesDown, bytesUp: this.#counter.bytesUp };
  }
}

function isConnected(node: Node, address: string): boolean {
  const id = multiaddr(address)
    .getComponents()
    .find((c) => c.name === 'p2p')?.value;
  return id !== undefined && node.libp2p.getConnections().some((c) => c.remotePeer.toString() === id);
}

async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const c of chunks) {
    parts.push(c);
    n += c.length;
  }
  return concat(parts, n);
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `p`, or the signal's reason once it is aborted (p goes on for other waiters). */
function abortable<T>(p: Promise<T>, signal: AbortSignal, aborted: () => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      aborted();
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
