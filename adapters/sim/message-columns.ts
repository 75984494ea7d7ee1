// Stored messages of one topic, packed: a year of a busy community is hundreds of thousands
// of messages, and one JS object per message (plus its byte views and a key string) cost
// several times the message itself. Here each field is a column: timestamps in a
// Float64Array, hashes and signatures copied into growing byte buffers, the payload kept by
// reference as (buffer, offset, length) into the buffers it arrived in (the simulation hands
// every node the same immutable bytes), and an order index sorted by (timestamp, hash).
// WakuMessage objects are made again only when messages are read.

import type { WakuMessage } from '../../proto/types.ts';

const NO_BYTES = new Uint8Array(0);

/** Lexicographic order of two 32-byte hashes at offsets `a` and `b` of `hashes`. */
function compareHashes(hashes: Uint8Array, a: number, b: number): number {
  for (let i = 0; i < 32; i++) {
    const d = (hashes[a + i] as number) - (hashes[b + i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

function grow<T extends Float64Array | Int32Array | Uint8Array>(a: T, need: number): T {
  if (need <= a.length) return a;
  const next = new (a.constructor as new (n: number) => T)(Math.max(need, a.length * 2, 64));
  next.set(a);
  return next;
}

/** The buffers payloads arrived in, each kept once. */
export class BufferRegistry {
  readonly #buffers: ArrayBufferLike[] = [];
  readonly #ids = new Map<ArrayBufferLike, number>();

  idOf(buffer: ArrayBufferLike): number {
    let id = this.#ids.get(buffer);
    if (id === undefined) {
      id = this.#buffers.length;
      this.#buffers.push(buffer);
      this.#ids.set(buffer, id);
    }
    return id;
  }

  view(id: number, offset: number, length: number): Uint8Array {
    return new Uint8Array(this.#buffers[id] as ArrayBufferLike, offset, length);
  }
}

export class MessageColumns {
  readonly topic: Uint8Array;
  readonly #payloads: BufferRegistry;
  /** Rows appended so far (deleted ones included); a row number never changes. */
  #rows = 0;
  #ts = new Float64Array(0);
  #hashes = new Uint8Array(0);
  #sigs = new Uint8Array(0);
  #sigEnd = 0;
  /** Start of each row's signature in #sigs, and its end (the next row's start). */
  #sigAt = new Int32Array(0);
  #sigLen = new Int32Array(0);
  #payloadBuf = new Int32Array(0);
  #payloadOff = new Int32Array(0);
  #payloadLen = new Int32Array(0);
  /** Rare fields, by row. */
  readonly #padding = new Map<number, Uint8Array>();
  readonly #thirdPartyId = new Map<number, string>();
  /** Live rows in (timestamp, hash) order. */
  #order = new Int32Array(0);
  #live = 0;

  constructor(topic: Uint8Array, payloads: BufferRegistry) {
    this.topic = topic;
    this.#payloads = payloads;
  }

  get size(): number {
    return this.#live;
  }

  /** The 32-byte hash column (read-only; rows at multiples of 32). */
  get hashes(): Uint8Array {
    return this.#hashes;
  }

  /** True when the hash of `row` equals the 32 bytes of `hash`. */
  hashEquals(row: number, hash: Uint8Array): boolean {
    const h = this.#hashes;
    const at = row * 32;
    for (let i = 0; i < 32; i++) if (h[at + i] !== hash[i]) return false;
    return true;
  }

  /** Appends a message (its hash must have 32 bytes); returns its row. */
  add(m: WakuMessage): number {
    const row = this.#rows++;
    this.#ts = grow(this.#ts, row + 1);
    this.#ts[row] = m.timestamp;
    this.#hashes = grow(this.#hashes, (row + 1) * 32);
    this.#hashes.set(m.hash, row * 32);
    this.#sigs = grow(this.#sigs, this.#sigEnd + m.sig.length);
    this.#sigs.set(m.sig, this.#sigEnd);
    this.#sigAt = grow(this.#sigAt, row + 1);
    this.#sigLen = grow(this.#sigLen, row + 1);
    this.#sigAt[row] = this.#sigEnd;
    this.#sigLen[row] = m.sig.length;
    this.#sigEnd += m.sig.length;
    this.#payloadBuf = grow(this.#payloadBuf, row + 1);
    this.#payloadOff = grow(this.#payloadOff, row + 1);
    this.#payloadLen = grow(this.#payloadLen, row + 1);
    this.#payloadBuf[row] = this.#payloads.idOf(m.payload.buffer);
    this.#payloadOff[row] = m.payload.byteOffset;
    this.#payloadLen[row] = m.payload.length;
    if (m.padding.length > 0) this.#padding.set(row, m.padding.slice());
    if (m.thirdPartyId !== '') this.#thirdPartyId.set(row, m.thirdPartyId);
    this.#insertInOrder(row);
    return row;
  }

  /** Row `a` sorts before row `b`: by timestamp, then hash. */
  #before(a: number, b: number): boolean {
    const ta = this.#ts[a] as number;
    const tb = this.#ts[b] as number;
    return ta < tb || (ta === tb && compareHashes(this.#hashes, a * 32, b * 32) < 0);
  }

  #insertInOrder(row: number): void {
    const n = this.#live;
    this.#order = grow(this.#order, n + 1);
    const order = this.#order;
    // Live traffic arrives in order: append; history from a store or an import goes in place.
    if (n === 0 || this.#before(order[n - 1] as number, row)) {
      order[n] = row;
    } else {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (this.#before(order[mid] as number, row)) lo = mid + 1;
        else hi = mid;
      }
      order.copyWithin(lo + 1, lo, n);
      order[lo] = row;
    }
    this.#live = n + 1;
  }

  /** Position in the order of the first live row with timestamp >= `ts`. */
  #lowerBound(ts: number): number {
    let lo = 0;
    let hi = this.#live;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((this.#ts[this.#order[mid] as number] as number) < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Live rows with from <= timestamp < to, in order. */
  rowsInRange(from: number, to: number): number[] {
    const out: number[] = [];
    for (let i = this.#lowerBound(from); i < this.#live; i++) {
      const row = this.#order[i] as number;
      if ((this.#ts[row] as number) >= to) break;
      out.push(row);
    }
    return out;
  }

  /** Removes the live rows with from <= timestamp < to; returns them. */
  removeRange(from: number, to: number): number[] {
    const a = this.#lowerBound(from);
    let b = a;
    while (b < this.#live && (this.#ts[this.#order[b] as number] as number) < to) b++;
    const removed = Array.from(this.#order.subarray(a, b));
    this.#order.copyWithin(a, b, this.#live);
    this.#live -= b - a;
    return removed;
  }

  timestampOf(row: number): number {
    return this.#ts[row] as number;
  }

  oldest(): number | undefined {
    return this.#live === 0 ? undefined : this.timestampOf(this.#order[0] as number);
  }

  newest(): number | undefined {
    return this.#live === 0 ? undefined : this.timestampOf(this.#order[this.#live - 1] as number);
  }

  /** Orders rows of different columns (used when merging topics). */
  static compare(a: MessageColumns, ra: number, b: MessageColumns, rb: number): number {
    const ta = a.timestampOf(ra);
    const tb = b.timestampOf(rb);
    if (ta !== tb) return ta - tb;
    const ha = a.#hashes;
    const hb = b.#hashes;
    for (let i = 0; i < 32; i++) {
      const d = (ha[ra * 32 + i] as number) - (hb[rb * 32 + i] as number);
      if (d !== 0) return d;
    }
    return 0;
  }

  /** The message of a row, as a fresh object over the stored bytes (treat as immutable). */
  message(row: number): WakuMessage {
    const sigAt = this.#sigAt[row] as number;
    return {
      sig: this.#sigs.subarray(sigAt, sigAt + (this.#sigLen[row] as number)),
      timestamp: this.#ts[row] as number,
      topic: this.topic,
      payload: this.#payloads.view(
        this.#payloadBuf[row] as number,
        this.#payloadOff[row] as number,
        this.#payloadLen[row] as number,
      ),
      padding: this.#padding.get(row) ?? NO_BYTES,
      hash: this.#hashes.subarray(row * 32, row * 32 + 32),
      thirdPartyId: this.#thirdPartyId.get(row) ?? '',
    };
  }
}
