// The discrete-event kernel: one queue ordered by (virtual time, sequence number).
// Virtual time is integer milliseconds since the Unix epoch; a time in the past is clamped
// to now and a fractional one rounded up.
//
// The queue has two parts. Events due within WHEEL ms of the wheel's cursor sit in a
// timing wheel: one bucket per millisecond, each an array in sequence order (a new event
// always has the highest sequence number so far, so appending keeps the order). Events
// further ahead sit in a 4-ary heap. The next event is the earlier of the two heads, by
// (time, sequence), so which part holds an event never changes the order. Cancelling or
// moving an event is O(1) in the wheel (its slot is emptied) and O(log n) in the heap.
//
// Handlers take one argument so that hot paths (the swarm) can schedule a shared function
// with a per-event object instead of allocating a closure per event.

export type EventHandler<A = unknown> = (arg: A) => void;

export interface SimEvent {
  /** Virtual time (ms) at which it fires. */
  readonly at: number;
  readonly label: string;
  /** Waiting in the queue (not fired, not cancelled). */
  readonly queued: boolean;
}

class Entry implements SimEvent {
  at: number;
  seq: number;
  label: string;
  fn: EventHandler<unknown>;
  arg: unknown;
  /** >= 0: heap index; -1: not queued; <= -2: index -2 - pos in its wheel bucket. */
  pos = -1;
  constructor(at: number, seq: number, label: string, fn: EventHandler<unknown>, arg: unknown) {
    this.at = at;
    this.seq = seq;
    this.label = label;
    this.fn = fn;
    this.arg = arg;
  }
  get queued(): boolean {
    return this.pos !== -1;
  }
}

export interface RunOptions {
  /** Process events with time <= until, then leave the clock at `until`. */
  until?: number;
  /** Stop after this many events. */
  maxEvents?: number;
}

const WHEEL = 1 << 14;
const MASK = WHEEL - 1;

function before(a: Entry, b: Entry): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

export class Kernel {
  #now: number;
  #seq = 0;
  #heap: Entry[] = [];
  /**
   * One bucket per ms of [wcur, wcur + WHEEL); slots of removed entries are stale (the
   * entry's pos no longer names the slot) until the cursor passes and clears them. A bucket
   * is made the first time an event lands in it: a short run (an explored scenario) touches
   * few of them, and making all 16,384 up front cost more than the run's kernel work.
   */
  readonly #buckets: ((Entry | null)[] | undefined)[] = new Array(WHEEL);
  /**
   * Slots in use of each bucket: a spent bucket is emptied by setting this to 0, not its
   * length, so its array keeps its room (an emptied JS array drops its storage, and the
   * next events of that millisecond slot would allocate it again).
   */
  readonly #blen = new Int32Array(WHEEL);
  /** Next unread slot of the bucket of wcur. */
  #whead = 0;
  /** Bit per bucket: set while the bucket array is not empty (it may hold only stale slots). */
  readonly #wbits = new Uint32Array(WHEEL >>> 5);
  #wcur: number;
  #wcount = 0;
  /** Some bucket may still hold stale slots (see #wheelHead). */
  #wdirty = false;
  #processed = 0;
  #drains = 0;
  #asyncWork = false;
  #running = false;

  constructor(startTime = 0) {
    this.#now = Math.ceil(startTime);
    this.#wcur = this.#now;
  }

  /** Current virtual time, integer ms. */
  now(): number {
    return this.#now;
  }

  /** Number of events waiting. */
  get pending(): number {
    return this.#heap.length + this.#wcount;
  }

  /** Events fired since creation. */
  get processed(): number {
    return this.#processed;
  }

  /** Microtask drains `runAsync` made (each is a turn of the event loop). */
  get drains(): number {
    return this.#drains;
  }

  /** Time of the next event, or undefined when the queue is empty. */
  nextTime(): number | undefined {
    return this.#peek()?.at;
  }

  schedule<A>(atMs: number, label: string, fn: EventHandler<A>, arg?: A): SimEvent {
    let at = Math.ceil(atMs);
    if (!(at >= this.#now)) at = this.#now;
    const e = new Entry(at, this.#seq++, label, fn as EventHandler<unknown>, arg);
    this.#insert(e);
    return e;
  }

  /** Schedule `delayMs` from now. */
  after<A>(delayMs: number, label: string, fn: EventHandler<A>, arg?: A): SimEvent {
    return this.schedule(this.#now + delayMs, label, fn, arg);
  }

  /** Remove a queued event; false when it already fired or was cancelled. */
  cancel(event: SimEvent): boolean {
    const e = event as Entry;
    if (e.pos === -1) return false;
    this.#unqueue(e);
    return true;
  }

  /**
   * Move an event to a new time (queued or not; a fired event can be reused), optionally
   * with another handler. It takes a fresh sequence number, so it runs after events
   * already scheduled for that same millisecond.
   */
  reschedule<A>(event: SimEvent, atMs: number, fn?: EventHandler<A>): void {
    const e = event as Entry;
    if (fn) e.fn = fn as EventHandler<unknown>;
    let at = Math.ceil(atMs);
    if (!(at >= this.#now)) at = this.#now;
    if (e.pos >= 0 && at - this.#wcur >= WHEEL) {
      // stays in the heap: move it in place
      const later = at >= e.at;
      e.at = at;
      e.seq = this.#seq++;
      if (later) this.#siftDown(e.pos);
      else this.#siftUp(e.pos);
      return;
    }
    if (e.pos !== -1) this.#unqueue(e);
    e.at = at;
    e.seq = this.#seq++;
    this.#insert(e);
  }

  /**
   * Adapters call this when they settle a promise, so `runAsync` lets the microtask queue
   * drain (promise continuations run at the virtual time of the event that caused them).
   */
  noteAsyncWork(): void {
    this.#asyncWork = true;
  }

  /** Fire events synchronously. Returns how many fired. */
  run(opts: RunOptions = {}): number {
    if (this.#running) throw new Error('Kernel.run: already running (re-entrant call)');
    this.#running = true;
    const until = opts.until ?? Number.POSITIVE_INFINITY;
    const max = opts.maxEvents ?? Number.POSITIVE_INFINITY;
    let n = 0;
    try {
      while (n < max) {
        const top = this.#peek();
        if (top === undefined || top.at > until) break;
        this.#unqueue(top);
        this.#now = top.at;
        n++;
        top.fn(top.arg);
      }
    } finally {
      this.#processed += n;
      this.#running = false;
      this.#asyncWork = false;
    }
    if (n < max && until !== Number.POSITIVE_INFINITY && until > this.#now) this.#now = Math.floor(until);
    return n;
  }

  /**
   * Like `run`, but whenever an event settled a promise (see `noteAsyncWork`) the
   * microtask queue is drained before the next event, so awaiting code runs at the right
   * virtual time. Draining yields one macrotask turn (setImmediate): no real time is read
   * and the order of continuations stays deterministic.
   */
  async runAsync(opts: RunOptions = {}): Promise<number> {
    if (this.#running) throw new Error('Kernel.runAsync: already running (re-entrant call)');
    const until = opts.until ?? Number.POSITIVE_INFINITY;
    const max = opts.maxEvents ?? Number.POSITIVE_INFINITY;
    let n = 0;
    // Work queued before the call (a resolved promise, a fresh actor) runs first.
    await drainMicrotasks();
    for (;;) {
      this.#running = true;
      try {
        while (n < max && !this.#asyncWork) {
          const top = this.#peek();
          if (top === undefined || top.at > until) break;
          this.#unqueue(top);
          this.#now = top.at;
          n++;
          this.#processed++;
          top.fn(top.arg);
        }
      } finally {
        this.#running = false;
      }
      if (!this.#asyncWork) break;
      this.#asyncWork = false;
      this.#drains++;
      await drainMicrotasks();
    }
    if (n < max && until !== Number.POSITIVE_INFINITY && until > this.#now) {
      this.#now = Math.floor(until);
      await drainMicrotasks();
    }
    return n;
  }

  #insert(e: Entry): void {
    const d = e.at - this.#wcur;
    if (d >= 0 && d < WHEEL) {
      const b = e.at & MASK;
      let bucket = this.#buckets[b];
      if (bucket === undefined) {
        bucket = [];
        this.#buckets[b] = bucket;
      }
      const n = this.#blen[b]!;
      e.pos = -2 - n;
      if (n < bucket.length) bucket[n] = e;
      else bucket.push(e);
      this.#blen[b] = n + 1;
      this.#wbits[b >>> 5]! |= 1 << (b & 31);
      this.#wdirty = true;
      this.#wcount++;
      return;
    }
    const heap = this.#heap;
    e.pos = heap.length;
    heap.push(e);
    this.#siftUp(e.pos);
  }

  #unqueue(e: Entry): void {
    if (e.pos >= 0) {
      this.#removeAt(e.pos);
      return;
    }
    // Its slot is left as it is (not touching the bucket saves a cache miss per move): the
    // cursor passes over a slot whose entry no longer points back at it.
    e.pos = -1;
    this.#wcount--;
  }

  /** The next event of the wheel, moving the cursor over spent buckets. */
  #wheelHead(): Entry | undefined {
    if (this.#wcount === 0) {
      // Nothing near: let the cursor jump to now so the wheel covers the next WHEEL ms.
      if (this.#wcur !== this.#now) {
        this.#wcur = this.#now;
        this.#whead = 0;
        if (!this.#wdirty) return undefined;
        this.#wdirty = false;
        // Only stale slots can remain: empty every bucket still marked.
        const bits = this.#wbits;
        for (let w = 0; w < bits.length; w++) {
          let x = bits[w]!;
          while (x !== 0) {
            const low = x & -x;
            const b = (w << 5) + 31 - Math.clz32(low);
            this.#buckets[b]!.fill(null, 0, this.#blen[b]!);
            this.#blen[b] = 0;
            x ^= low;
          }
          bits[w] = 0;
        }
      }
      return undefined;
    }
    for (;;) {
      const b = this.#wcur & MASK;
      const bucket = this.#buckets[b];
      if (bucket !== undefined) {
        const n = this.#blen[b]!;
        while (this.#whead < n) {
          const e = bucket[this.#whead];
          // live: queued, in this very slot, due now (slots of moved or fired entries are stale)
          if (e && e.pos === -2 - this.#whead && e.at === this.#wcur) return e;
          bucket[this.#whead] = null;
          this.#whead++;
        }
        this.#blen[b] = 0;
      }
      this.#whead = 0;
      const cur = this.#wcur & MASK;
      this.#wbits[cur >>> 5]! &= ~(1 << (cur & 31));
      this.#wcur += (this.#nextMarked(cur) - cur) & MASK;
    }
  }

  /** The first marked bucket after `from`, cyclically (one exists: wcount > 0). */
  #nextMarked(from: number): number {
    const bits = this.#wbits;
    const words = bits.length;
    const start = ((from + 1) & MASK) >>> 5;
    // first word: only bits above `from`
    let x = bits[start]! & (start === from >>> 5 ? ~((2 << (from & 31)) - 1) : -1);
    if ((from & 31) === 31 && start === from >>> 5) x = 0;
    for (let k = 0; k <= words; k++) {
      const w = (start + k) % words;
      if (k > 0) x = bits[w]!;
      if (x !== 0) return (w << 5) + 31 - Math.clz32(x & -x);
    }
    throw new Error('kernel: wheel count and marks disagree');
  }

  #peek(): Entry | undefined {
    const w = this.#wheelHead();
    const h = this.#heap[0];
    if (w === undefined) return h;
    if (h === undefined) return w;
    return before(h, w) ? h : w;
  }

  #removeAt(i: number): void {
    const heap = this.#heap;
    const e = heap[i] as Entry;
    const last = heap.pop() as Entry;
    e.pos = -1;
    if (i < heap.length) {
      heap[i] = last;
      last.pos = i;
      this.#siftDown(i);
      if (last.pos === i) this.#siftUp(i);
    }
  }

  // A 4-ary heap: half the depth of a binary one, and the four children of a node sit
  // next to each other in the array.
  #siftUp(i: number): void {
    const heap = this.#heap;
    const e = heap[i] as Entry;
    while (i > 0) {
      const p = (i - 1) >> 2;
      const parent = heap[p] as Entry;
      if (!before(e, parent)) break;
      heap[i] = parent;
      parent.pos = i;
      i = p;
    }
    heap[i] = e;
    e.pos = i;
  }

  #siftDown(i: number): void {
    const heap = this.#heap;
    const n = heap.length;
    const e = heap[i] as Entry;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let c = first;
      let child = heap[first] as Entry;
      const last = Math.min(first + 4, n);
      for (let j = first + 1; j < last; j++) {
        const x = heap[j] as Entry;
        if (before(x, child)) {
          c = j;
          child = x;
        }
      }
      if (!before(child, e)) break;
      heap[i] = child;
      child.pos = i;
      i = c;
    }
    heap[i] = e;
    e.pos = i;
  }
}

function drainMicrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
