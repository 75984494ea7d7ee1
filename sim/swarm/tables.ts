// The swarm's hot state as tables of typed arrays, one array per field, indexed by node,
// session or transfer number (a struct-of-arrays layout). The piece picker and the
// refills look at a few fields of many peers per event; read from objects each of those
// looks is a cache miss (a peer's session, then its node), read from these arrays they
// stay in the CPU's caches (5,000 sessions are 20 KB per field). The objects (SwarmNode,
// Session) keep the rest and read their hot fields through accessors.

import type { EventHandler, SimEvent } from '../kernel.ts';

function grownI32(a: Int32Array, n: number): Int32Array<ArrayBuffer> {
  const b = new Int32Array(n);
  b.set(a);
  return b;
}

function grownU32(a: Uint32Array, n: number): Uint32Array<ArrayBuffer> {
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}

function grownF64(a: Float64Array, n: number): Float64Array<ArrayBuffer> {
  const b = new Float64Array(n);
  b.set(a);
  return b;
}

function grownU8(a: Uint8Array, n: number): Uint8Array<ArrayBuffer> {
  const b = new Uint8Array(n);
  b.set(a);
  return b;
}

/**
 * Columns of an entry of a session's peer list (SwarmCore.peerLists): what the piece
 * picker remembers of its last pick that found nothing, per direction: the uploader's
 * count of pieces held and the torrent's need epoch then (see pick).
 */
export const PEER_MEMO = 4;
/** The session uploads to the peer. */
export const MEMO_UP = 0;
/** The peer uploads to the session. */
export const MEMO_DOWN = 2;

/** SessionTable.due of a session without waits. */
export const NO_WAIT = 0x3fffffff;

/** Per node: slot counts, reachability, rates, and the transfers holding its slots. */
export class NodeTable {
  readonly upSlots: number;
  readonly downSlots: number;
  count = 0;
  #cap = 0;
  /** Transfers holding an upload / download slot (requested or sending). */
  upN = new Int32Array(0);
  downN = new Int32Array(0);
  /** Of those, how many are sending bytes (they share the bandwidth). */
  sendingUp = new Int32Array(0);
  sendingDown = new Int32Array(0);
  /** 1 while online, not crashed. */
  reach = new Uint8Array(0);
  /** Partition group (0 when not partitioned). */
  group = new Int32Array(0);
  upBps = new Float64Array(0);
  downBps = new Float64Array(0);
  /** The next pieces this node uploads that arrive corrupted (a fault). */
  corruptNext = new Int32Array(0);
  /** Torrent bytes (pieces and metadata) sent and received. */
  bytesUp = new Float64Array(0);
  bytesDown = new Float64Array(0);
  /** Transfer numbers of the upload slots: [node * upSlots, node * upSlots + upN). */
  upList = new Int32Array(0);
  /** Transfer numbers of the download slots: [node * downSlots, node * downSlots + downN). */
  downList = new Int32Array(0);
  /** The uploading session of each download slot (side by side with downList). */
  downFrom = new Int32Array(0);

  constructor(upSlots: number, downSlots: number) {
    this.upSlots = upSlots;
    this.downSlots = downSlots;
  }

  add(): number {
    const i = this.count++;
    if (i >= this.#cap) {
      const cap = Math.max(64, this.#cap * 2);
      this.#cap = cap;
      this.upN = grownI32(this.upN, cap);
      this.downN = grownI32(this.downN, cap);
      this.sendingUp = grownI32(this.sendingUp, cap);
      this.sendingDown = grownI32(this.sendingDown, cap);
      this.reach = grownU8(this.reach, cap);
      this.group = grownI32(this.group, cap);
      this.upBps = grownF64(this.upBps, cap);
      this.downBps = grownF64(this.downBps, cap);
      this.corruptNext = grownI32(this.corruptNext, cap);
      this.bytesUp = grownF64(this.bytesUp, cap);
      this.bytesDown = grownF64(this.bytesDown, cap);
      this.upList = grownI32(this.upList, cap * this.upSlots);
      this.downList = grownI32(this.downList, cap * this.downSlots);
      this.downFrom = grownI32(this.downFrom, cap * this.downSlots);
    }
    return i;
  }
}

/** Per session (numbers are never reused, so a left session's accessors stay its own). */
export class SessionTable {
  count = 0;
  #cap = 0;
  /** Word offset of the session's rows in the torrent's bitsets; -1 before the metadata. */
  base = new Int32Array(0);
  /** Word offset of its rows in the torrent's summaries; -1 before the metadata. */
  sumBase = new Int32Array(0);
  /** Wanted pieces not held (some may be in flight). */
  missing = new Int32Array(0);
  inflight = new Int32Array(0);
  have = new Int32Array(0);
  /** The piece picker's rotating start. */
  rot = new Uint32Array(0);
  /** Round-robin positions over the peers (they only grow: whole numbers kept exact in doubles). */
  rrDown = new Float64Array(0);
  rrUp = new Float64Array(0);
  /** Words [wantLo, wantHi) of the rows hold every wanted piece. */
  wantLo = new Int32Array(0);
  wantHi = new Int32Array(0);
  /** The session's node number. */
  node = new Int32Array(0);
  /** 1 until the session leaves. */
  active = new Uint8Array(0);
  /** 1 once the session knows the metadata. */
  hasMeta = new Uint8Array(0);
  /** 1 while someone listens to the session's progress. */
  watched = new Uint8Array(0);
  /** Bumped whenever the session gains pieces (announces look for progress). */
  mark = new Float64Array(0);
  /**
   * Pieces the session must still gain before any of its waits can be complete: the
   * fewest missing pieces of a wait when last counted (NO_WAIT without waits), counted
   * down per piece gained, so waits are looked at only when one may be done.
   */
  due = new Int32Array(0);

  add(node: number): number {
    const i = this.count++;
    if (i >= this.#cap) {
      const cap = Math.max(64, this.#cap * 2);
      this.#cap = cap;
      this.base = grownI32(this.base, cap);
      this.sumBase = grownI32(this.sumBase, cap);
      this.missing = grownI32(this.missing, cap);
      this.inflight = grownI32(this.inflight, cap);
      this.have = grownI32(this.have, cap);
      this.rot = grownU32(this.rot, cap);
      this.rrDown = grownF64(this.rrDown, cap);
      this.rrUp = grownF64(this.rrUp, cap);
      this.wantLo = grownI32(this.wantLo, cap);
      this.wantHi = grownI32(this.wantHi, cap);
      this.node = grownI32(this.node, cap);
      this.active = grownU8(this.active, cap);
      this.hasMeta = grownU8(this.hasMeta, cap);
      this.watched = grownU8(this.watched, cap);
      this.mark = grownF64(this.mark, cap);
      this.due = grownI32(this.due, cap);
    }
    this.base[i] = -1;
    this.sumBase[i] = -1;
    this.node[i] = node;
    this.active[i] = 1;
    this.due[i] = NO_WAIT;
    return i;
  }
}

/** TransferTable.ti / tf hold TSTRIDE slots per transfer, at these offsets. */
export const TSTRIDE = 8;
/** 0 while the request travels to the uploader, 1 while bytes flow. */
export const T_SENDING = 0;
/** Uploading and downloading node. */
export const T_UP_NODE = 1;
export const T_DOWN_NODE = 2;
/** Uploading and downloading session. */
export const T_FROM = 3;
export const T_TO = 4;
/** The run of pieces [first, end). */
export const T_FIRST = 5;
export const T_END = 6;
/** Pieces [first, arrived) were already taken in (an abort's kept pieces). */
export const T_ARRIVED = 7;
/** Fair shares of the two ends when last computed (bytes/s). */
export const T_UP_SHARE = 0;
export const T_DOWN_SHARE = 1;
export const T_RATE = 2;
/** When progress was last accounted (virtual ms). */
export const T_LAST = 3;
export const T_REMAINING = 4;
export const T_SIZE = 5;

/**
 * Per transfer slot: a transfer moves the run of pieces [first, end) from one session to
 * another. The fields a reshare reads sit side by side (`ti` integers, `tf` doubles,
 * TSTRIDE of each per transfer: one cache line each). Slots are reused (a free list);
 * there are at most upSlots per node at a time, so the table grows with the nodes, never
 * while transfers start.
 */
export class TransferTable {
  #cap = 0;
  readonly #free: number[] = [];
  #next = 0;
  ti = new Int32Array(0);
  tf = new Float64Array(0);
  /** Pieces [first, first + corrupt) arrive corrupted. */
  corrupt = new Int32Array(0);
  /** Positions in the nodes' slot lists. */
  upIdx = new Int32Array(0);
  downIdx = new Int32Array(0);
  /**
   * Flow-level swarm only (sim/swarm/flows.ts): the transfer to the uploader this one
   * streams behind (-1: none), the first of the transfers streaming behind this one and
   * the next of its source's (a list through the table), the piece time it must end after
   * its source ends (bytes at its rate), and the source's end then.
   */
  src = new Int32Array(0);
  depHead = new Int32Array(0);
  depNext = new Int32Array(0);
  tail = new Float64Array(0);
  srcEnd = new Float64Array(0);
  /** Transfers may stream behind others (the flow-level swarm). */
  coupled = false;
  /** The slot's kernel event, reused by every transfer of the slot (request, then completion). */
  ev: (SimEvent | undefined)[] = [];
  /** The kernel handlers of a request's arrival and a transfer's completion (set by the engine). */
  onRequest: EventHandler<number> = () => {};
  onDone: EventHandler<number> = () => {};

  /** Room for `n` transfers at once. */
  reserve(n: number): void {
    if (n <= this.#cap) return;
    const cap = Math.max(64, this.#cap * 2, n);
    this.#cap = cap;
    this.ti = grownI32(this.ti, cap * TSTRIDE);
    this.tf = grownF64(this.tf, cap * TSTRIDE);
    this.corrupt = grownI32(this.corrupt, cap);
    this.upIdx = grownI32(this.upIdx, cap);
    this.downIdx = grownI32(this.downIdx, cap);
    this.src = grownI32(this.src, cap);
    this.depHead = grownI32(this.depHead, cap);
    this.depNext = grownI32(this.depNext, cap);
    this.tail = grownF64(this.tail, cap);
    this.srcEnd = grownF64(this.srcEnd, cap);
  }

  alloc(): number {
    const t = this.#free.pop();
    if (t !== undefined) return t;
    if (this.#next >= this.#cap) throw new Error('swarm: more transfers than upload slots');
    return this.#next++;
  }

  release(t: number): void {
    this.#free.push(t);
  }
}

/**
 * Many short ordered lists of numbers (a session's peers, a node's sessions) in one
 * typed array: list i is slab[off[i], off[i] + len[i]). A list that outgrows its room
 * moves to a room twice as large; freed rooms are reused by size. The hot loops read a
 * list without going through an array object per list. Each entry may carry `columns`
 * more numbers (aux[(position) * columns + c], -1 when added) that move with it.
 */
export class IntLists {
  readonly columns: number;
  slab = new Int32Array(1024);
  aux: Int32Array;
  off = new Int32Array(0);
  len = new Int32Array(0);
  cap = new Int32Array(0);
  #top = 0;
  /** Freed rooms by log2 of their size. */
  readonly #free: number[][] = [];

  constructor(columns = 0) {
    this.columns = columns;
    this.aux = new Int32Array(1024 * columns);
  }

  /** Make room for lists [0, n). */
  reserve(n: number): void {
    if (n <= this.off.length) return;
    const c = Math.max(64, this.off.length * 2, n);
    this.off = grownI32(this.off, c);
    this.len = grownI32(this.len, c);
    this.cap = grownI32(this.cap, c);
  }

  #room(size: number): number {
    const k = 31 - Math.clz32(size);
    const reused = this.#free[k]?.pop();
    if (reused !== undefined) return reused;
    const at = this.#top;
    this.#top += size;
    if (this.#top > this.slab.length) {
      const n = Math.max(this.slab.length * 2, this.#top);
      this.slab = grownI32(this.slab, n);
      this.aux = grownI32(this.aux, n * this.columns);
    }
    return at;
  }

  #release(at: number, size: number): void {
    if (size === 0) return;
    const k = 31 - Math.clz32(size);
    const list = this.#free[k];
    if (list) list.push(at);
    else this.#free[k] = [at];
  }

  push(i: number, v: number): void {
    const n = this.len[i]!;
    const c = this.columns;
    if (n === this.cap[i]) {
      const size = Math.max(4, n * 2);
      const at = this.#room(size);
      const old = this.off[i]!;
      this.slab.copyWithin(at, old, old + n);
      if (c > 0) this.aux.copyWithin(at * c, old * c, (old + n) * c);
      this.#release(old, n);
      this.off[i] = at;
      this.cap[i] = size;
    }
    const k = this.off[i]! + n;
    this.slab[k] = v;
    if (c > 0) this.aux.fill(-1, k * c, (k + 1) * c);
    this.len[i] = n + 1;
  }

  /** Remove the first v of list i, keeping the order of the rest; false when absent. */
  remove(i: number, v: number): boolean {
    const at = this.off[i]!;
    const n = this.len[i]!;
    const c = this.columns;
    for (let k = at; k < at + n; k++) {
      if (this.slab[k] !== v) continue;
      this.slab.copyWithin(k, k + 1, at + n);
      if (c > 0) this.aux.copyWithin(k * c, (k + 1) * c, (at + n) * c);
      this.len[i] = n - 1;
      return true;
    }
    return false;
  }

  /** Empty list i and give its room back. */
  clear(i: number): void {
    this.#release(this.off[i]!, this.cap[i]!);
    this.off[i] = 0;
    this.len[i] = 0;
    this.cap[i] = 0;
  }

  /** List i as an array (for the cold paths). */
  toArray(i: number): number[] {
    return Array.from(this.slab.subarray(this.off[i]!, this.off[i]! + this.len[i]!));
  }
}
