// When the chunks of one archive's import are handed over (§6.3: chunks of 10 messages at
// the import rate, 1 chunk/s slow or 100 chunks/s fast). The machine keeps one timer for
// the whole archive rather than one per chunk; this schedule answers what a chunk-by-chunk
// loop would have done by any time: a chunk is handed over when its step has elapsed, a
// rate change applies from the chunk after the one in progress, and leaving the import
// keeps exactly the chunks already handed over.

export class ImportSchedule {
  readonly chunks: number;
  /** Steps of constant length: chunks [first, next segment's first) start at `at`, `stepMs` apart. */
  readonly #segments: { first: number; at: number; stepMs: number }[];

  constructor(chunks: number, startAt: number, stepMs: number) {
    this.chunks = chunks;
    this.#segments = [{ first: 0, at: startAt, stepMs }];
  }

  /** Chunks handed over by time `t`. */
  doneBy(t: number): number {
    let done = 0;
    for (let i = 0; i < this.#segments.length; i++) {
      const s = this.#segments[i] as { first: number; at: number; stepMs: number };
      const last = i + 1 < this.#segments.length ? (this.#segments[i + 1]?.first as number) : this.chunks;
      if (t < s.at) break;
      done = Math.min(last, s.first + Math.floor((t - s.at) / s.stepMs));
      if (done < last) break;
    }
    return done;
  }

  /** Time the last chunk is handed over. */
  end(): number {
    const s = this.#segments[this.#segments.length - 1] as { first: number; at: number; stepMs: number };
    return s.at + (this.chunks - s.first) * s.stepMs;
  }

  /** The rate changes at `t`: the chunk in progress keeps its step, later ones take `stepMs`. */
  retime(t: number, stepMs: number): void {
    const done = this.doneBy(t);
    if (done >= this.chunks - 1) return; // the last chunk is already under way
    const s = this.#segments[this.#segments.length - 1] as { first: number; at: number; stepMs: number };
    if (s.stepMs === stepMs) return;
    // The chunk in progress (index `done`) ends at its old step's end; the next starts then.
    const nextFirst = done + 1;
    const nextAt = s.at + (nextFirst - s.first) * s.stepMs;
    while (this.#segments.length > 0 && (this.#segments.at(-1)?.first as number) >= nextFirst)
      this.#segments.pop();
    this.#segments.push({ first: nextFirst, at: nextAt, stepMs });
  }
}
