// A wait on the node's Clock port that an invoked actor can abandon: XState aborts a
// promise actor's signal when the state that invoked it is left, and the timer must go
// with it (a simulated node must not keep firing timers for work nobody waits for).

import type { Clock } from '../ports/clock.ts';

/** Resolves after `ms` on `clock`; rejects with the signal's reason once it is aborted. */
export function sleep(clock: Clock, ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
