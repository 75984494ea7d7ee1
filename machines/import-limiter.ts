// The node's import rate limiter (§6.3; docs/reference-behaviour.md §1). The reference keeps
// one token bucket for the whole messenger (golang.org/x/time/rate, burst 1) and every
// community's import waits on it before each chunk of 10 messages: the first chunk the node
// imports goes at once, a chunk's slot is `max(now, previous slot + step)`, and two
// communities importing at once alternate, together at the node's rate. A rate change
// keeps the reservations already made and repays the last one's debt at the new rate; a
// cancelled wait gives its token back when nothing was reserved after it.
//
// The bucket is kept as the time its level is (or was) zero, `emptyAt` (a level of one
// token is `emptyAt + step` or earlier): the same arithmetic as the Go limiter's tokens and
// `last` at burst 1, without rounding a level through floats at every chunk.
//
// Cost: an archive asks for the slots of all its chunks at once (`run`); the limiter plans
// them with every other archive being imported on the node (in reservation order, ties by
// who asked first) and keeps one timer per archive, at its last slot. It plans again only
// when an import starts or is cancelled or the rate changes; what happened before that
// moment is taken from the plan. A lone importer's plan is closed-form.

import type { Clock, TimerHandle } from '../ports/index.ts';
import type { ImportSchedule } from './import-schedule.ts';

interface Importer {
  seq: number;
  schedule: ImportSchedule;
  /** Chunks whose reservation has been made (their slots are fixed). */
  reserved: number;
  /** When it makes its next reservation: its start, then each reserved chunk's slot. */
  nextAt: number;
  /** Step of the bucket when its last reservation was made (for a cancel). */
  reservedStep: number;
  /** Ms time of its timer (the last slot, rounded up) and the timer. */
  timerAt?: number;
  timer?: TimerHandle;
  resolve: () => void;
}

export class ImportLimiter {
  readonly #clock: Clock;
  #stepMs: number;
  /** Time the bucket's level is zero (-Infinity: full since ever). */
  #emptyAt = Number.NEGATIVE_INFINITY;
  /** Slot of the latest reservation (the Go limiter's lastEvent). */
  #lastEvent = Number.NEGATIVE_INFINITY;
  #importers: Importer[] = [];
  #seq = 0;

  constructor(clock: Clock, stepMs: number) {
    if (!(stepMs > 0)) throw new RangeError(`import limiter: step must be positive, got ${stepMs}`);
    this.#clock = clock;
    this.#stepMs = stepMs;
  }

  get stepMs(): number {
    return this.#stepMs;
  }

  /** Archives being imported now. */
  get importing(): number {
    return this.#importers.length;
  }

  /**
   * One archive's import, its first chunk asking for a slot now: the limiter fills `schedule`
   * (read `doneBy(now)` at any time) and the promise resolves at the last slot. Aborting
   * `signal` cancels the wait (the chunks whose slot has come stay handed over).
   */
  run(schedule: ImportSchedule, signal: AbortSignal): Promise<void> {
    if (schedule.planned > 0) throw new Error('import limiter: this schedule was planned already');
    if (schedule.chunks === 0) return Promise.resolve();
    const now = this.#clock.now();
    this.#commit(now);
    let resolve!: () => void;
    let reject!: (e: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const importer: Importer = {
      seq: ++this.#seq,
      schedule,
      reserved: 0,
      nextAt: now,
      reservedStep: this.#stepMs,
      resolve: () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
    };
    const onAbort = (): void => {
      this.#cancel(importer);
      reject(signal.reason);
    };
    if (signal.aborted) {
      reject(signal.reason);
      return done;
    }
    signal.addEventListener('abort', onAbort, { once: true });
    this.#importers.push(importer);
    this.#plan();
    return done;
  }

  /** The host switched the rate (SetLimitAt): reservations made keep their slots. */
  setStep(stepMs: number): void {
    if (!(stepMs > 0)) throw new RangeError(`import limiter: step must be positive, got ${stepMs}`);
    if (stepMs === this.#stepMs) return;
    const now = this.#clock.now();
    this.#commit(now);
    const level = Math.min(1, (now - this.#emptyAt) / this.#stepMs);
    this.#emptyAt = now - level * stepMs;
    this.#stepMs = stepMs;
    this.#plan();
  }

  /**
   * Takes from the plan every reservation made by `t`: an importer reserves a chunk when it
   * starts and then at each chunk's slot (it hands the chunk over and asks for the next).
   */
  #commit(t: number): void {
    let latest = Number.NEGATIVE_INFINITY;
    for (const p of this.#importers) {
      const s = p.schedule;
      if (p.reserved === s.chunks || p.nextAt > t) continue;
      // the reservation at nextAt, then one at each further slot up to t (but the last chunk's)
      const made = Math.min(s.chunks - p.reserved, 1 + s.doneBy(t) - p.reserved);
      p.reserved += made;
      p.nextAt = s.slot(p.reserved - 1);
      p.reservedStep = this.#stepMs;
      latest = Math.max(latest, p.nextAt);
    }
    if (latest > Number.NEGATIVE_INFINITY) {
      this.#emptyAt = latest;
      this.#lastEvent = latest;
    }
    // an importer whose last chunk is handed over no longer counts
    this.#importers = this.#importers.filter((p) => p.reserved < p.schedule.chunks || p.nextAt > t);
  }

  /** A wait given up at now (the Go limiter's CancelAt for its outstanding reservation). */
  #cancel(p: Importer): void {
    if (!this.#importers.includes(p)) return;
    const now = this.#clock.now();
    this.#commit(now);
    if (p.timer !== undefined) this.#clock.clearTimeout(p.timer);
    p.timer = undefined;
    const i = this.#importers.indexOf(p);
    if (i < 0) return; // its last chunk was handed over by now
    this.#importers.splice(i, 1);
    const outstanding = p.reserved > 0 ? p.schedule.slot(p.reserved - 1) : undefined;
    p.schedule.truncate(p.reserved);
    if (outstanding !== undefined && outstanding > now) {
      p.schedule.truncate(p.reserved - 1);
      const restore = 1 - (this.#lastEvent - outstanding) / p.reservedStep;
      if (restore > 0) {
        const level = Math.min(1, Math.min(1, (now - this.#emptyAt) / this.#stepMs) + restore);
        this.#emptyAt = now - level * this.#stepMs;
        if (outstanding === this.#lastEvent) {
          const previous = outstanding - p.reservedStep;
          if (previous >= now) this.#lastEvent = previous;
        }
      }
    }
    this.#plan();
  }

  /** Plans every importer's remaining slots from the bucket's state, and moves their timers. */
  #plan(): void {
    let emptyAt = this.#emptyAt;
    const step = this.#stepMs;
    const open = this.#importers.filter((p) => p.reserved < p.schedule.chunks);
    const next = new Map<Importer, number>();
    for (const p of open) {
      p.schedule.truncate(p.reserved);
      next.set(p, p.nextAt);
    }
    let active = open.slice();
    while (active.length > 1) {
      let p = active[0] as Importer;
      for (const q of active) {
        const a = next.get(q) as number;
        const b = next.get(p) as number;
        if (a < b || (a === b && q.seq < p.seq)) p = q;
      }
      // the Go limiter's reserveN at burst 1: the slot is the later of now and a step after the last
      const slot = Math.max(next.get(p) as number, emptyAt + step);
      emptyAt = slot;
      p.schedule.append(slot, step, 1);
      next.set(p, slot);
      if (p.schedule.planned === p.schedule.chunks) active = active.filter((q) => q !== p);
    }
    const last = active[0];
    if (last) {
      // alone: every slot one step after the one before
      const first = Math.max(next.get(last) as number, emptyAt + step);
      last.schedule.append(first, step, last.schedule.chunks - last.schedule.planned);
    }
    for (const p of this.#importers) this.#arm(p);
  }

  #arm(p: Importer): void {
    const end = p.schedule.end() as number;
    const at = Math.ceil(end);
    if (p.timer !== undefined && p.timerAt === at) return;
    if (p.timer !== undefined) this.#clock.clearTimeout(p.timer);
    p.timerAt = at;
    p.timer = this.#clock.setTimeout(
      () => {
        p.timer = undefined;
        p.resolve();
      },
      Math.max(0, at - this.#clock.now()),
    );
  }
}
