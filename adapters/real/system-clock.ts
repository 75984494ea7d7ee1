// The real Clock: wall-clock milliseconds and Node timers. Its shape is XState's `clock`
// option, so machines running on real adapters time their `after` transitions with it.

import type { Clock, TimerHandle } from '../../ports/clock.ts';

export class SystemClock implements Clock {
  readonly #timers = new Set<NodeJS.Timeout>();

  now(): number {
    return Date.now();
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const handle = setTimeout(
      () => {
        this.#timers.delete(handle);
        fn();
      },
      Math.max(0, ms),
    );
    this.#timers.add(handle);
    return handle;
  }

  clearTimeout(handle: TimerHandle): void {
    clearTimeout(handle as NodeJS.Timeout);
    this.#timers.delete(handle as NodeJS.Timeout);
  }

  /** Timers set and not yet fired or cleared. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Clears every pending timer (node shutdown: nothing keeps the process alive). */
  clearAll(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }
}

export const systemClock: Clock = new SystemClock();
