// Seeded pseudo-random numbers. Each component draws from its own named stream whose seed
// is derived by hashing (world seed, stream name), so adding a node or a component never
// shifts the numbers another stream produces.
//
// Generator: sfc32 (Chris Doty-Humphrey's small fast counting generator, 128-bit state),
// written from its published description.

import { createHash } from 'node:crypto';

export class Prng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  /** Four 32-bit words of state; use `Prng.stream` rather than this constructor. */
  constructor(a: number, b: number, c: number, d: number) {
    this.#a = a >>> 0;
    this.#b = b >>> 0;
    this.#c = c >>> 0;
    this.#d = d >>> 0 || 1;
    // Discard the first outputs: they still correlate with the seed words.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /** The stream called `name` of the world seeded with `seed`. */
  static stream(seed: number, name: string): Prng {
    const digest = createHash('sha256').update(`archivist-sim\u0000${seed}\u0000${name}`).digest();
    return new Prng(
      digest.readUInt32LE(0),
      digest.readUInt32LE(4),
      digest.readUInt32LE(8),
      digest.readUInt32LE(12),
    );
  }

  nextUint32(): number {
    const a = this.#a;
    const b = this.#b;
    const c = this.#c;
    const d = this.#d;
    const t = (((a + b) | 0) + d) | 0;
    this.#d = (d + 1) | 0;
    this.#a = b ^ (b >>> 9);
    this.#b = (c + (c << 3)) | 0;
    this.#c = ((c << 21) | (c >>> 11)) + t;
    this.#c |= 0;
    return t >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /** Uniform integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`Prng.int: empty range [${lo}, ${hi}]`);
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && (p >= 1 || this.next() < p);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: empty array');
    return items[Math.floor(this.next() * items.length)] as T;
  }

  /** Standard normal deviate (Box–Muller, one of the pair). */
  normal(): number {
    let u = this.next();
    while (u === 0) u = this.next();
    const v = this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    for (; i + 4 <= n; i += 4) {
      const w = this.nextUint32();
      out[i] = w & 0xff;
      out[i + 1] = (w >>> 8) & 0xff;
      out[i + 2] = (w >>> 16) & 0xff;
      out[i + 3] = w >>> 24;
    }
    if (i < n) {
      let w = this.nextUint32();
      for (; i < n; i++) {
        out[i] = w & 0xff;
        w >>>= 8;
      }
    }
    return out;
  }

  /** In-place Fisher–Yates shuffle. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}
