// When the chunks of one archive's import are handed over (§6.3: chunks of 10 messages, each
// when the node's import rate limiter lets it go; docs/reference-behaviour.md §1). The
// limiter (import-limiter.ts) plans every chunk's slot at once and keeps one timer for the
// archive rather than one per chunk; this schedule holds the slots and answers what a
// chunk-by-chunk loop would have done by any time: a chunk is handed over at its slot, and
// leaving the import keeps exactly the chunks whose slot has come.
//
// Slots are kept as runs of equal spacing (a lone importer's are one run; two importers
// alternating make runs of twice the step), so a schedule of thousands of chunks is a few
// numbers.

interface Run {
  /** Index of the run's first chunk. */
  first: number;
  /** Slot of its first chunk (ms, possibly fractional after a rate change). */
  at: number;
  /** Spacing of its slots (0 for a run of one). */
  stepMs: number;
  /** Chunks in the run. */
  count: number;
}

export class ImportSchedule {
  readonly chunks: number;
  readonly #runs: Run[] = [];
  #planned = 0;

  constructor(chunks: number) {
    this.chunks = chunks;
  }

  /** Chunks whose slot is known (all of them once planned). */
  get planned(): number {
    return this.#planned;
  }

  /** Slot of chunk `i` (ms). */
  slot(i: number): number {
    const r = this.#runOf(i);
    return r.at + (i - r.first) * r.stepMs;
  }

  /** Chunks handed over by time `t` (slot <= t). */
  doneBy(t: number): number {
    let done = 0;
    for (const r of this.#runs) {
      if (t < r.at) break;
      const n = r.stepMs === 0 ? r.count : Math.min(r.count, Math.floor((t - r.at) / r.stepMs) + 1);
      done = r.first + n;
      if (n < r.count) break;
    }
    return done;
  }

  /** Slot of the last chunk (undefined until every chunk is planned; an empty archive has none). */
  end(): number | undefined {
    if (this.#planned < this.chunks || this.chunks === 0) return undefined;
    return this.slot(this.chunks - 1);
  }

  /** Appends `count` slots from `at`, `stepMs` apart. */
  append(at: number, stepMs: number, count: number): void {
    if (count <= 0) return;
    this.#appendOne(at);
    if (count === 1) return;
    const last = this.#runs[this.#runs.length - 1] as Run;
    if (last.count === 1) {
      last.stepMs = stepMs;
      last.count = count;
    } else if (last.stepMs === stepMs) {
      last.count += count - 1;
    } else {
      this.#runs.push({ first: this.#planned, at: at + stepMs, stepMs, count: count - 1 });
    }
    this.#planned += count - 1;
  }

  #appendOne(slot: number): void {
    const last = this.#runs[this.#runs.length - 1];
    if (last) {
      const gap = slot - (last.at + (last.count - 1) * last.stepMs);
      if (last.count === 1 || gap === last.stepMs) {
        last.stepMs = gap;
        last.count++;
        this.#planned++;
        return;
      }
    }
    this.#runs.push({ first: this.#planned, at: slot, stepMs: 0, count: 1 });
    this.#planned++;
  }

  /** Forgets every slot from chunk `n` on (they are planned again, or given up). */
  truncate(n: number): void {
    while (this.#runs.length > 0) {
      const r = this.#runs[this.#runs.length - 1] as Run;
      if (r.first >= n) {
        this.#runs.pop();
        continue;
      }
      if (r.first + r.count > n) {
        r.count = n - r.first;
        if (r.count === 1) r.stepMs = 0;
      }
      break;
    }
    this.#planned = Math.min(this.#planned, n);
  }

  #runOf(i: number): Run {
    let lo = 0;
    let hi = this.#runs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#runs[mid] as Run).first <= i) lo = mid;
      else hi = mid - 1;
    }
    const r = this.#runs[lo];
    if (!r || i < r.first || i >= r.first + r.count) throw new RangeError(`chunk ${i} is not planned`);
    return r;
  }
}
