// The content network: a deterministic model of the reference's content-addressed storage
// network (Codex / Logos Storage nodes) at block level, on the kernel, the PRNG streams and
// the network's reachability and latencies.
//
// - Content is cut into blocks (sim/content-id.ts); a node holding a whole dataset (it
//   uploaded or fetched it) serves it and has a provider record for it. Records are a
//   global directory (the DHT); a lookup costs `lookupRoundTrips` round trips. Records of
//   a provider unreachable for longer than `recordTtlMs` expire (checked at lookup time);
//   until then fetchers find stale ones and skip them.
// - A fetch is a session per (node, content id), shared by every caller waiting on it: a
//   lookup, the manifest from a provider, then blocks in runs of up to `blocksPerTransfer`
//   from providers picked at random among the reachable, running ones that are not known to
//   lack them, `parallelTransfers` runs at a time. Blocks received stay on the node even
//   when the fetch is given up (a later fetch resumes). When no provider can serve a block
//   the session looks up again after `retryMs`, doubling up to `maxRetryMs`.
// - Bandwidth: the swarm's model (sim/fair-share.ts): a transfer waits its request latency
//   (plus the provider's serve delay), then runs at min(upload share, download share).
// - Verification: a block is checked against its digest on arrival. Block bytes are shared
//   by reference (immutable), so a block arriving as the very bytes of the dataset passes
//   without hashing; a corrupted block arrives as a modified copy, is hashed for real,
//   fails, and is fetched again.
// - Faults: blocks a provider lacks (it answers "don't have" for them, until repaired), slow providers
//   (serve delay, bandwidth), corrupted blocks, store nodes leaving for good (store wiped,
//   records gone) or joining, offline and crashed nodes (through the network).
// - Crash: the node's sessions vanish without settling their promises; its store (a disk)
//   stays. Stop: sessions reject with ContentStoreStopped; the store stays.

import { ContentStoreStopped, type FetchProgress } from '../ports/content-store.ts';
import { chunkContent, DEFAULT_BLOCK_SIZE, type Manifest, sha256 } from './content-id.ts';
import { type Endpoint, FairShare, type Flow } from './fair-share.ts';
import type { Kernel, SimEvent } from './kernel.ts';
import type { SimNetwork } from './network.ts';
import { Prng } from './prng.ts';
import type { Trace } from './trace.ts';

export interface ContentNetworkOptions {
  blockSize: number;
  /** Most consecutive blocks one transfer carries (fewer kernel events per byte). */
  blocksPerTransfer: number;
  /** Transfers one fetch keeps running at once. */
  parallelTransfers: number;
  /** Round trips of a provider lookup (a DHT query). */
  lookupRoundTrips: number;
  /** First wait before looking up again when no provider could serve; doubles up to maxRetryMs. */
  retryMs: number;
  maxRetryMs: number;
  /** A provider record expires once its provider has been unreachable this long. */
  recordTtlMs: number;
  /** Record every transfer in the trace. */
  traceTransfers: boolean;
  /**
   * A node still fetching a dataset answers for the blocks it already has (as bitswap and
   * Codex's block exchange do), and fetchers find it among the dataset's fetchers. Off
   * (default): only nodes holding a dataset whole serve it, the providers of its record.
   */
  serveUnfinished: boolean;
}

export const DEFAULT_CONTENT_NETWORK: ContentNetworkOptions = {
  blockSize: DEFAULT_BLOCK_SIZE,
  blocksPerTransfer: 16,
  parallelTransfers: 4,
  lookupRoundTrips: 2,
  retryMs: 5000,
  maxRetryMs: 60_000,
  recordTtlMs: 24 * 3600 * 1000,
  traceTransfers: false,
  serveUnfinished: false,
};

interface Dataset {
  manifest: Manifest;
  blocks: Uint8Array[];
}

interface Waiter {
  resolve: (bytes: Uint8Array) => void;
  reject: (error: unknown) => void;
  signal?: AbortSignal;
  onAbort?: () => void;
  onProgress?: (p: FetchProgress) => void;
}

interface Transfer {
  session: FetchSession;
  provider: CasNode;
  /** manifest transfer when first === -1 */
  first: number;
  end: number;
  /** Blocks of [first, end) the provider can serve, and how many of them arrive corrupted. */
  serves: boolean[];
  corrupt: number;
}

class CasNode {
  readonly id: string;
  readonly ep: Endpoint;
  readonly rng: Prng;
  running = false;
  dead = false;
  /** false after leave(): gone from the network, store wiped */
  member = true;
  /** Whether the store was running when it left (a rejoin with `resume` starts it again). */
  runningWhenLeft = false;
  /** Whole datasets held, by content id. */
  readonly held = new Map<string, Dataset>();
  /** Blocks of datasets not held whole yet (kept when a fetch is given up). */
  readonly partial = new Map<string, (Uint8Array | undefined)[]>();
  readonly sessions = new Map<string, FetchSession>();
  /** Fault: blocks of a held dataset this node has lost (it answers "don't have"). */
  readonly lost = new Map<string, Set<number>>();
  /** Fault: the node lacks the first this many blocks of every dataset (setMissingBlocks). */
  missingFirst = 0;
  corruptNext = 0;
  serveDelayMs = 0;
  badBlocks = 0;
  unreachableSince: number | undefined;
  constructor(id: string, ep: Endpoint, rng: Prng) {
    this.id = id;
    this.ep = ep;
    this.rng = rng;
  }
}

class FetchSession {
  readonly node: CasNode;
  readonly cid: string;
  readonly startedAt: number;
  manifest: Manifest | undefined;
  blocks: (Uint8Array | undefined)[] = [];
  have = 0;
  bytesHave = 0;
  readonly inflight = new Set<number>();
  readonly flows = new Set<Flow<Transfer>>();
  readonly waiters = new Set<Waiter>();
  /** Providers from the last lookup, in the order to try them. */
  providers: string[] = [];
  /** Blocks each provider said it lacks. */
  readonly lacking = new Map<string, Set<number>>();
  timer: SimEvent | undefined;
  retryMs: number;
  looking = false;
  constructor(node: CasNode, cid: string, now: number, retryMs: number) {
    this.node = node;
    this.cid = cid;
    this.startedAt = now;
    this.retryMs = retryMs;
  }
}

/** The bytes of a dataset's blocks: a view when they are one stretch of one buffer, else a copy. */
function assemble(blocks: Uint8Array[], size: number): Uint8Array {
  if (blocks.length === 0) return new Uint8Array(0);
  const first = blocks[0]!;
  let contiguous = true;
  let at = first.byteOffset;
  for (const b of blocks) {
    if (b.buffer !== first.buffer || b.byteOffset !== at) {
      contiguous = false;
      break;
    }
    at += b.length;
  }
  if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, size);
  const out = new Uint8Array(size);
  let o = 0;
  for (const b of blocks) {
    out.set(b, o);
    o += b.length;
  }
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export class ContentNetwork {
  readonly #kernel: Kernel;
  readonly #trace: Trace;
  readonly #net: SimNetwork;
  readonly #seed: number;
  readonly #share: FairShare;
  readonly opts: ContentNetworkOptions;
  readonly #nodes = new Map<string, CasNode>();
  readonly #order: CasNode[] = [];
  /** Provider records: content id -> providers (node ids). */
  readonly #records = new Map<string, Set<string>>();
  /** Fetch sessions under way, by content id (who to wake when a holder comes back). */
  readonly #fetching = new Map<string, Set<FetchSession>>();
  /** Set by the world: called whenever a promise of this network settles. */
  onSettle: () => void = () => {};

  constructor(
    kernel: Kernel,
    trace: Trace,
    net: SimNetwork,
    seed: number,
    opts: Partial<ContentNetworkOptions> = {},
  ) {
    this.#kernel = kernel;
    this.#trace = trace;
    this.#net = net;
    this.#seed = seed;
    this.opts = { ...DEFAULT_CONTENT_NETWORK, ...opts };
    for (const k of ['blockSize', 'blocksPerTransfer', 'parallelTransfers', 'lookupRoundTrips'] as const) {
      const v = this.opts[k];
      if (!Number.isSafeInteger(v) || v < 1)
        throw new RangeError(`content network: ${k} must be a whole number >= 1, got ${v}`);
    }
    this.#share = new FairShare(kernel, 'cas');
    net.onChange((id) => this.#connectivityChanged(id));
  }

  // ---------------- nodes and knobs ----------------

  addNode(id: string, upBps: number, downBps: number): void {
    if (this.#nodes.has(id)) throw new Error(`content network: node ${id} already exists`);
    const n = new CasNode(id, this.#share.endpoint(id, upBps, downBps), Prng.stream(this.#seed, `cas:${id}`));
    if (!this.#net.isOnline(id)) n.unreachableSince = this.#kernel.now();
    this.#nodes.set(id, n);
    this.#order.push(n);
  }

  #node(id: string): CasNode {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`content network: unknown node ${id}`);
    return n;
  }

  /** The store node leaves for good: its store is wiped, its records withdrawn, its fetches stopped. */
  leave(id: string): void {
    const n = this.#node(id);
    if (!n.member) return;
    this.#stopSessions(n, new ContentStoreStopped('the store node left the network'));
    this.#abortServing(n);
    for (const cid of n.held.keys()) this.#withdraw(n, cid);
    n.held.clear();
    n.partial.clear();
    n.lost.clear();
    n.member = false;
    n.runningWhenLeft = n.running;
    n.running = false;
    this.#trace.record('cas.leave', { node: id });
  }

  /**
   * A node that left comes back, with an empty store: stopped until started, or — with
   * `resume` — running again at once when it was running as it left and has not crashed
   * since (the node's process went on and reconnects its store).
   */
  rejoin(id: string, options: { resume?: boolean } = {}): void {
    const n = this.#node(id);
    if (n.member) return;
    n.member = true;
    this.#trace.record('cas.join', { node: id });
    if (options.resume && n.runningWhenLeft && !n.dead) this.start(id);
  }

  isMember(id: string): boolean {
    return this.#node(id).member;
  }

  /** Bandwidth of the node's content transfers (bytes/s; 0 = none); running transfers adapt. */
  setBandwidth(id: string, upBps: number, downBps: number): void {
    const n = this.#node(id);
    this.#share.setBandwidth(n.ep, upBps, downBps);
    this.#trace.record('cas.bandwidth', { node: id, up: n.ep.upBps, down: n.ep.downBps });
  }

  /** Fault: a slow provider, answering each request `ms` late. */
  setServeDelay(id: string, ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`serve delay must be >= 0 ms, got ${ms}`);
    this.#node(id).serveDelayMs = ms;
    this.#trace.record('cas.fault.slow', { node: id, ms });
  }

  /** Fault: the next `count` blocks this node serves arrive corrupted. */
  corruptNextBlocks(id: string, count = 1): void {
    this.#node(id).corruptNext += count;
    this.#trace.record('cas.fault.corrupt', { node: id, count });
  }

  /** Fault: the node loses these blocks of a dataset it holds (it still announces the dataset). */
  loseBlocks(id: string, cid: string, blocks: number[]): void {
    const n = this.#node(id);
    let lost = n.lost.get(cid);
    if (!lost) {
      lost = new Set();
      n.lost.set(cid, lost);
    }
    for (const b of blocks) lost.add(b);
    this.#trace.record('cas.fault.missing', { node: id, cid, blocks: [...lost].sort((a, b) => a - b) });
  }

  /**
   * Fault: from now on the node lacks the first `count` blocks of every dataset it holds,
   * those it gets later included (it answers "don't have" for them); 0 = repaired, the
   * blocks given by loseBlocks too. On repair, fetchers told it lacked blocks may ask it
   * again, and those waiting for a provider look up at once.
   */
  setMissingBlocks(id: string, count: number): void {
    if (!Number.isSafeInteger(count) || count < 0)
      throw new RangeError(`missing blocks must be a whole number >= 0, got ${count}`);
    const n = this.#node(id);
    const fewer = count < n.missingFirst || (count === 0 && n.lost.size > 0);
    n.missingFirst = count;
    if (count === 0) n.lost.clear();
    this.#trace.record(count > 0 ? 'cas.fault.missing' : 'cas.fault.repaired', {
      node: id,
      ...(count > 0 ? { first: count } : {}),
    });
    if (!fewer) return;
    for (const cid of [...this.#fetching.keys()].sort())
      for (const s of this.#fetching.get(cid) ?? []) {
        if (!s.lacking.delete(id)) continue;
        if (s.flows.size === 0 && s.timer && !s.looking) {
          this.#kernel.cancel(s.timer);
          s.timer = undefined;
          this.#lookup(s);
        }
      }
  }

  /** Number of blocks of a held dataset (0 when not held). */
  blockCount(id: string, cid: string): number {
    return this.#node(id).held.get(cid)?.manifest.digests.length ?? 0;
  }

  stats(id: string): { bytesUp: number; bytesDown: number; badBlocks: number } {
    const n = this.#node(id);
    return {
      bytesUp: Math.round(n.ep.bytesUp),
      bytesDown: Math.round(n.ep.bytesDown),
      badBlocks: n.badBlocks,
    };
  }

  /** Providers with a record for a content id, sorted. */
  providers(cid: string): string[] {
    return [...(this.#records.get(cid) ?? [])].sort();
  }

  // ---------------- lifecycle of a node's store ----------------

  start(id: string): void {
    const n = this.#node(id);
    if (n.dead) throw new ContentStoreStopped('start: the node crashed');
    if (!n.member) throw new ContentStoreStopped('start: the store node left the network');
    if (n.running) return;
    n.running = true;
    this.#wakeSessionsFor(n);
  }

  stop(id: string): void {
    const n = this.#node(id);
    n.running = false;
    this.#stopSessions(n, new ContentStoreStopped('stopped'));
    this.#abortServing(n);
  }

  isRunning(id: string): boolean {
    return this.#node(id).running;
  }

  /** Process death: sessions vanish without settling; the store stays. */
  crash(id: string): void {
    const n = this.#node(id);
    n.dead = true;
    n.running = false;
    for (const s of [...n.sessions.values()]) this.#endSession(s);
    this.#abortServing(n);
  }

  restart(id: string): void {
    this.#node(id).dead = false;
  }

  // ---------------- content ----------------

  #running(n: CasNode, what: string): void {
    if (!n.running) throw new ContentStoreStopped(what);
  }

  upload(id: string, bytes: Uint8Array): string {
    const n = this.#node(id);
    this.#running(n, 'upload');
    const { manifest, blocks } = chunkContent(bytes, this.opts.blockSize);
    if (!n.held.has(manifest.cid)) {
      n.held.set(manifest.cid, { manifest, blocks });
      n.partial.delete(manifest.cid);
      this.#announce(n, manifest.cid);
    }
    this.#trace.record('cas.upload', {
      node: id,
      cid: manifest.cid,
      bytes: bytes.length,
      blocks: blocks.length,
    });
    return manifest.cid;
  }

  has(id: string, cid: string): boolean {
    return this.#node(id).held.has(cid);
  }

  readLocal(id: string, cid: string): Uint8Array | undefined {
    const d = this.#node(id).held.get(cid);
    return d ? assemble(d.blocks, d.manifest.size) : undefined;
  }

  heldBy(id: string): string[] {
    return [...this.#node(id).held.keys()].sort();
  }

  /** Deletes a dataset from a node (its blocks too) and withdraws its record. */
  drop(id: string, cid: string): void {
    const n = this.#node(id);
    const s = n.sessions.get(cid);
    if (s) this.#rejectAll(s, new ContentStoreStopped(`drop of ${cid} while fetching it`));
    n.partial.delete(cid);
    n.lost.delete(cid);
    if (!n.held.delete(cid)) return;
    this.#withdraw(n, cid);
    for (const f of [...n.ep.ups]) {
      const t = f.arg as Transfer;
      if (t.session.cid === cid) this.#abortTransfer(f as Flow<Transfer>);
    }
    this.#trace.record('cas.drop', { node: id, cid });
  }

  /** The content of `cid`: at once when held, else fetched from the network (and then held). */
  fetch(
    id: string,
    cid: string,
    signal?: AbortSignal,
    onProgress?: (p: FetchProgress) => void,
  ): Promise<Uint8Array> {
    const n = this.#node(id);
    const now = (): void => this.onSettle();
    if (!n.running) return Promise.reject(new ContentStoreStopped('fetch')).finally(now);
    if (signal?.aborted) return Promise.reject(signal.reason).finally(now);
    const d = n.held.get(cid);
    if (d) {
      onProgress?.({ cid, bytes: d.manifest.size, total: d.manifest.size });
      this.onSettle();
      return Promise.resolve(assemble(d.blocks, d.manifest.size));
    }
    let s = n.sessions.get(cid);
    if (!s) {
      s = new FetchSession(n, cid, this.#kernel.now(), this.opts.retryMs);
      n.sessions.set(cid, s);
      let all = this.#fetching.get(cid);
      if (!all) {
        all = new Set();
        this.#fetching.set(cid, all);
      }
      all.add(s);
      this.#trace.record('cas.fetch', { node: id, cid });
      this.#lookup(s);
    }
    const session = s;
    return new Promise<Uint8Array>((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      if (onProgress) w.onProgress = onProgress;
      if (signal) {
        w.signal = signal;
        w.onAbort = () => {
          session.waiters.delete(w);
          this.onSettle();
          reject(signal.reason);
          if (session.waiters.size === 0) {
            this.#trace.record('cas.fetch.abort', { node: id, cid, have: session.have });
            this.#endSession(session);
          }
        };
        signal.addEventListener('abort', w.onAbort, { once: true });
      }
      session.waiters.add(w);
      if (onProgress && session.manifest)
        onProgress({ cid, bytes: session.bytesHave, total: session.manifest.size });
    });
  }

  // ---------------- records ----------------

  #announce(n: CasNode, cid: string): void {
    let r = this.#records.get(cid);
    if (!r) {
      r = new Set();
      this.#records.set(cid, r);
    }
    r.add(n.id);
  }

  #withdraw(n: CasNode, cid: string): void {
    const r = this.#records.get(cid);
    if (!r) return;
    r.delete(n.id);
    if (r.size === 0) this.#records.delete(cid);
  }

  /** Record holders for a lookup, stale records past their time removed, in random order. */
  #candidates(s: FetchSession): string[] {
    const r = this.#records.get(s.cid);
    if (!r) return [];
    const now = this.#kernel.now();
    const out: string[] = [];
    for (const id of [...r].sort()) {
      if (id === s.node.id) continue;
      const p = this.#nodes.get(id)!;
      if (p.unreachableSince !== undefined && now - p.unreachableSince > this.opts.recordTtlMs) {
        r.delete(id);
        continue;
      }
      out.push(id);
    }
    return s.node.rng.shuffle(out);
  }

  /**
   * Whom a fetch may ask for blocks: the record holders of its last lookup and, with
   * `serveUnfinished`, every other node fetching the dataset with its manifest known (the
   * peers a bitswap want-have reaches; idealised: every fetcher is a connected peer).
   */
  #providersOf(s: FetchSession): string[] {
    if (!this.opts.serveUnfinished) return s.providers;
    const listed = new Set(s.providers);
    const fetchers: string[] = [];
    for (const other of this.#fetching.get(s.cid) ?? []) {
      if (other !== s && other.manifest && !listed.has(other.node.id)) fetchers.push(other.node.id);
    }
    return fetchers.length === 0 ? s.providers : [...s.providers, ...fetchers.sort()];
  }

  // ---------------- fetching ----------------

  #lookup(s: FetchSession): void {
    if (s.looking) return;
    s.looking = true;
    let ms = 0;
    for (let i = 0; i < this.opts.lookupRoundTrips; i++)
      ms += 2 * this.#net.sampleLatencyWith(s.node.id, s.node.id, s.node.rng);
    s.timer = this.#kernel.after(ms, 'cas.lookup', () => {
      s.timer = undefined;
      s.looking = false;
      if (!this.#live(s)) return;
      s.providers = this.#candidates(s);
      this.#trace.record('cas.lookup', { node: s.node.id, cid: s.cid, providers: s.providers.length });
      this.#pump(s);
    });
  }

  #live(s: FetchSession): boolean {
    return s.node.sessions.get(s.cid) === s;
  }

  /**
   * A provider that can serve now: a running member holding the dataset (or, with
   * `serveUnfinished`, fetching it with its manifest known), reachable from the fetcher.
   */
  #serving(s: FetchSession, id: string): CasNode | undefined {
    const p = this.#nodes.get(id);
    if (!p?.running || !p.member || !this.#source(p, s.cid)) return undefined;
    return this.#net.reachable(s.node.id, id) ? p : undefined;
  }

  /** What `p` can serve of `cid`: the dataset it holds whole, or the blocks of its unfinished fetch. */
  #source(p: CasNode, cid: string): { manifest: Manifest; blocks: (Uint8Array | undefined)[] } | undefined {
    const held = p.held.get(cid);
    if (held) return held;
    if (!this.opts.serveUnfinished) return undefined;
    const fetching = p.sessions.get(cid);
    return fetching?.manifest ? { manifest: fetching.manifest, blocks: fetching.blocks } : undefined;
  }

  /** Start what can be started; look up again later when nothing can be. */
  #pump(s: FetchSession): void {
    if (!this.#live(s) || !s.node.running) return;
    if (!s.manifest) {
      if (s.flows.size > 0) return;
      for (const id of s.providers) {
        const p = this.#serving(s, id);
        if (!p) continue;
        this.#startTransfer(s, p, -1, -1, [], this.#source(p, s.cid)!.manifest.bytes.length);
        return;
      }
      this.#retry(s);
      return;
    }
    const m = s.manifest;
    const n = m.digests.length;
    if (s.have === n) {
      this.#complete(s);
      return;
    }
    const providers = this.#providersOf(s);
    let idx = 0;
    while (s.flows.size < this.opts.parallelTransfers) {
      while (idx < n && (s.blocks[idx] !== undefined || s.inflight.has(idx))) idx++;
      if (idx >= n) break;
      const choices: CasNode[] = [];
      for (const id of providers) {
        const p = this.#serving(s, id);
        if (p && !s.lacking.get(id)?.has(idx) && this.#source(p, s.cid)!.blocks[idx] !== undefined)
          choices.push(p);
      }
      if (choices.length === 0) {
        idx++;
        continue;
      }
      const p = choices[s.node.rng.int(0, choices.length - 1)]!;
      const known = s.lacking.get(p.id);
      const has = this.#source(p, s.cid)!.blocks;
      let end = idx + 1;
      while (
        end < n &&
        end - idx < this.opts.blocksPerTransfer &&
        s.blocks[end] === undefined &&
        !s.inflight.has(end) &&
        !known?.has(end) &&
        has[end] !== undefined
      )
        end++;
      const lost = p.lost.get(s.cid);
      const serves: boolean[] = [];
      let size = 0;
      for (let b = idx; b < end; b++) {
        const ok = b >= p.missingFirst && !lost?.has(b);
        serves.push(ok);
        if (ok) size += Math.min(m.blockSize, m.size - b * m.blockSize);
      }
      this.#startTransfer(s, p, idx, end, serves, size);
      idx = end;
    }
    if (s.flows.size === 0) this.#retry(s);
  }

  #startTransfer(
    s: FetchSession,
    p: CasNode,
    first: number,
    end: number,
    serves: boolean[],
    size: number,
  ): void {
    let corrupt = 0;
    if (first >= 0 && p.corruptNext > 0) {
      const served = serves.filter(Boolean).length;
      corrupt = Math.min(p.corruptNext, served);
      p.corruptNext -= corrupt;
    }
    for (let b = first; b >= 0 && b < end; b++) s.inflight.add(b);
    const latency = this.#net.sampleLatencyWith(s.node.id, p.id, s.node.rng) + p.serveDelayMs;
    const t: Transfer = { session: s, provider: p, first, end, serves, corrupt };
    const f = this.#share.start(p.ep, s.node.ep, size, latency, t, (flow) => this.#transferDone(flow));
    s.flows.add(f);
  }

  #release(f: Flow<Transfer>): void {
    const t = f.arg;
    t.session.flows.delete(f);
    for (let b = t.first; b >= 0 && b < t.end; b++) t.session.inflight.delete(b);
  }

  #abortTransfer(f: Flow<Transfer>): void {
    this.#share.abort(f);
    this.#release(f);
  }

  #transferDone(f: Flow<Transfer>): void {
    this.#release(f);
    const t = f.arg;
    const s = t.session;
    if (!this.#live(s)) return;
    const held = this.#source(t.provider, s.cid);
    if (t.first < 0) {
      if (held) {
        s.manifest = held.manifest;
        const prior = s.node.partial.get(s.cid);
        s.blocks = prior ?? new Array(held.manifest.digests.length).fill(undefined);
        s.node.partial.set(s.cid, s.blocks);
        s.have = 0;
        s.bytesHave = 0;
        for (const b of s.blocks) {
          if (b === undefined) continue;
          s.have++;
          s.bytesHave += b.length;
        }
        this.#progress(s);
      }
      this.#pump(s);
      return;
    }
    let corrupt = t.corrupt;
    let gained = 0;
    for (let b = t.first; b < t.end; b++) {
      const k = b - t.first;
      if (!t.serves[k] || !held) {
        let lacking = s.lacking.get(t.provider.id);
        if (!lacking) {
          lacking = new Set();
          s.lacking.set(t.provider.id, lacking);
        }
        lacking.add(b);
        continue;
      }
      const sent = held.blocks[b];
      if (sent === undefined) {
        // an unfinished provider gave up the block meanwhile (its fetch restarted)
        continue;
      }
      let bytes = sent;
      if (corrupt > 0) {
        corrupt--;
        const copy = bytes.slice();
        copy[0] = (copy[0] ?? 0) ^ 0xff;
        bytes = copy;
      }
      // The very bytes of the dataset pass; anything else is hashed against the manifest.
      if (bytes !== sent && !sameBytes(sha256(bytes), s.manifest!.digests[b]!)) {
        s.node.badBlocks++;
        this.#trace.record('cas.bad', { node: s.node.id, from: t.provider.id, cid: s.cid, block: b });
        continue;
      }
      if (s.blocks[b] === undefined) {
        s.blocks[b] = bytes;
        s.have++;
        s.bytesHave += bytes.length;
        gained++;
      }
    }
    if (this.opts.traceTransfers)
      this.#trace.record('cas.transfer', {
        from: t.provider.id,
        to: s.node.id,
        cid: s.cid,
        first: t.first,
        end: t.end,
        gained,
      });
    if (gained > 0) {
      s.retryMs = this.opts.retryMs;
      this.#progress(s);
    }
    this.#pump(s);
  }

  #progress(s: FetchSession): void {
    const total = s.manifest?.size;
    for (const w of s.waiters)
      w.onProgress?.({ cid: s.cid, bytes: s.bytesHave, ...(total === undefined ? {} : { total }) });
  }

  #retry(s: FetchSession): void {
    if (s.timer || s.looking) return;
    const ms = s.retryMs;
    s.retryMs = Math.min(s.retryMs * 2, this.opts.maxRetryMs);
    s.timer = this.#kernel.after(ms, 'cas.retry', () => {
      s.timer = undefined;
      if (this.#live(s)) this.#lookup(s);
    });
  }

  #complete(s: FetchSession): void {
    const n = s.node;
    const m = s.manifest!;
    const blocks = s.blocks as Uint8Array[];
    n.held.set(s.cid, { manifest: m, blocks });
    n.partial.delete(s.cid);
    this.#announce(n, s.cid);
    this.#trace.record('cas.fetched', {
      node: n.id,
      cid: s.cid,
      bytes: m.size,
      ms: this.#kernel.now() - s.startedAt,
    });
    const bytes = assemble(blocks, m.size);
    const waiters = [...s.waiters];
    this.#endSession(s);
    for (const w of waiters) {
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.resolve(bytes);
    }
    if (waiters.length > 0) this.onSettle();
  }

  /** The session is over: transfers stopped, timers cancelled, waiters left as they are. */
  #endSession(s: FetchSession): void {
    if (this.#live(s)) s.node.sessions.delete(s.cid);
    const all = this.#fetching.get(s.cid);
    all?.delete(s);
    if (all?.size === 0) this.#fetching.delete(s.cid);
    if (s.timer) this.#kernel.cancel(s.timer);
    s.timer = undefined;
    s.looking = false;
    for (const f of [...s.flows]) this.#abortTransfer(f);
  }

  #rejectAll(s: FetchSession, error: unknown): void {
    const waiters = [...s.waiters];
    s.waiters.clear();
    this.#endSession(s);
    for (const w of waiters) {
      if (w.signal && w.onAbort) w.signal.removeEventListener('abort', w.onAbort);
      w.reject(error);
    }
    if (waiters.length > 0) this.onSettle();
  }

  #stopSessions(n: CasNode, error: unknown): void {
    for (const s of [...n.sessions.values()]) this.#rejectAll(s, error);
  }

  /** The node stops serving: transfers from it are cut (their fetchers pick other providers). */
  #abortServing(n: CasNode): void {
    const touched = new Set<FetchSession>();
    for (const f of [...n.ep.ups]) {
      const t = f.arg as Transfer;
      this.#abortTransfer(f as Flow<Transfer>);
      touched.add(t.session);
    }
    for (const s of touched) this.#pump(s);
  }

  #wakeSessionsFor(n: CasNode): void {
    for (const s of n.sessions.values()) {
      s.retryMs = this.opts.retryMs;
      if (s.timer) {
        this.#kernel.cancel(s.timer);
        s.timer = undefined;
      }
      this.#lookup(s);
    }
  }

  #connectivityChanged(id: string | undefined): void {
    const now = this.#kernel.now();
    const changed = id === undefined ? this.#order : [this.#nodes.get(id)].filter((n) => n !== undefined);
    for (const n of changed) {
      const online = this.#net.isOnline(n.id);
      if (!online && n.unreachableSince === undefined) n.unreachableSince = now;
      if (online) n.unreachableSince = undefined;
    }
    const touched = new Set<FetchSession>();
    for (const n of changed) {
      for (const f of [...n.ep.ups, ...n.ep.downs]) {
        if (this.#net.reachable(f.from.id, f.to.id)) continue;
        const t = f.arg as Transfer;
        this.#abortTransfer(f as Flow<Transfer>);
        touched.add(t.session);
      }
    }
    for (const s of touched) this.#pump(s);
    // Nodes back on the network look again at once; so do fetchers of what they hold.
    for (const n of changed) {
      if (!this.#net.isOnline(n.id)) continue;
      if (n.running) this.#wakeSessionsFor(n);
      for (const cid of n.held.keys()) {
        for (const s of this.#fetching.get(cid) ?? []) {
          if (s.flows.size === 0 && s.timer && !s.looking) {
            this.#kernel.cancel(s.timer);
            s.timer = undefined;
            this.#lookup(s);
          }
        }
      }
    }
  }
}
