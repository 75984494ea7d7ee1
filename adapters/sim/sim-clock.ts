// The Clock port on the simulation kernel. One SimClock per node: it remembers the timers
// it armed so that a crash cancels them all, and while the node is crashed new timers
// never fire (code of the dead incarnation must not act). Offline nodes keep their timers.
// Usable as XState's `clock` actor option as is.

import type { Clock, TimerHandle } from '../../ports/clock.ts';
import type { Kernel, SimEvent } from '../../sim/kernel.ts';

interface Timer {
  clock: SimClock;
  fn: () => void;
  ev: SimEvent | undefined;
}

function fire(t: Timer): void {
  t.clock.fire(t);
}

export class SimClock implements Clock {
  readonly #kernel: Kernel;
  readonly #live = new Set<Timer>();
  #dead = false;

  constructor(kernel: Kernel) {
    this.#kernel = kernel;
  }

  now(): number {
    return this.#kernel.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const t: Timer = { clock: this, fn, ev: undefined };
    if (this.#dead) return t;
    const delay = Number.isFinite(ms) && ms > 0 ? ms : 0;
    t.ev = this.#kernel.schedule(this.#kernel.now() + delay, 'timer', fire, t);
    this.#live.add(t);
    return t;
  }

  clearTimeout(handle: TimerHandle): void {
    const t = handle as Timer;
    if (!t || t.clock !== this || !this.#live.has(t)) return;
    this.#live.delete(t);
    if (t.ev) this.#kernel.cancel(t.ev);
  }

  /** @internal */
  fire(t: Timer): void {
    if (!this.#live.delete(t)) return;
    this.#kernel.noteAsyncWork();
    t.fn();
  }

  /** Timers armed and not yet fired or cleared. */
  get pendingTimers(): number {
    return this.#live.size;
  }

  /** Node crash: cancel every timer; ignore new ones until `restart`. */
  crash(): void {
    for (const t of this.#live) if (t.ev) this.#kernel.cancel(t.ev);
    this.#live.clear();
    this.#dead = true;
  }

  restart(): void {
    this.#dead = false;
  }
}
