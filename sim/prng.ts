// Seeded pseudo-random numbers. Each component draws from its own named stream whose seed
// is derived by hashing (world seed, stream name), so adding a node or a component never
// shifts the numbers another stream produces.
//
// Generator and integer distribution: pure-rand (the library fast-check draws with):
// xoroshiro128+ seeded with 128 bits of the stream's digest, and its unbiased uniformInt.
// What is built on them here (chance, pick, bytes, a normal deviate, a shuffle) is the
// simulator's own vocabulary.

import { createHash } from 'node:crypto';
import { uniformInt } from 'pure-rand/distribution/uniformInt';
import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';

type Generator = ReturnType<typeof xoroshiro128plusFromState>;

export class Prng {
  readonly #g: Generator;

  /** Four 32-bit words of state; use `Prng.stream` rather than this constructor. */
  constructor(a: number, b: number, c: number, d: number) {
    // xoroshiro128+ must not start from the all-zero state.
    this.#g = xoroshiro128plusFromState([a | 0, b | 0, c | 0, d | 0 || 1]);
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
    return this.#g.next() >>> 0;
  }

  /** Uniform in [0, 1), 53 bits. */
  next(): number {
    const hi = this.#g.next() >>> 5;
    const lo = this.#g.next() >>> 6;
    return (hi * 67108864 + lo) / 9007199254740992;
  }

  /** Uniform integer in [lo, hi], both inclusive (unbiased). */
  int(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`Prng.int: empty range [${lo}, ${hi}]`);
    return uniformInt(this.#g, lo, hi);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return p > 0 && (p >= 1 || this.next() < p);
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('Prng.pick: empty array');
    return items[this.int(0, items.length - 1)] as T;
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
      const j = this.int(0, i);
      const tmp = items[i] as T;
      items[i] = items[j] as T;
      items[j] = tmp;
    }
    return items;
  }
}
