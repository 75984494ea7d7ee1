// The node's import rate limiter (machines/import-limiter.ts) against slots worked out by hand
// from the Go limiter the reference uses (golang.org/x/time/rate at burst 1, see
// docs/reference-behaviour.md §1): reserveN, SetLimitAt and CancelAt.

import { describe, expect, test } from 'vitest';
import { SimClock } from '../adapters/sim/sim-clock.ts';
import { ImportLimiter } from '../machines/import-limiter.ts';
import { ImportSchedule } from '../machines/import-schedule.ts';
import { Kernel } from '../sim/kernel.ts';

function setup(stepMs = 1000) {
  const kernel = new Kernel(0);
  const clock = new SimClock(kernel);
  const limiter = new ImportLimiter(clock, stepMs);
  const ends: Record<string, number | 'cancelled'> = {};
  const slots = (s: ImportSchedule): number[] => Array.from({ length: s.planned }, (_, i) => s.slot(i));
  /** Starts an archive of `chunks` chunks at the current time. */
  const start = (name: string, chunks: number) => {
    const schedule = new ImportSchedule(chunks);
    const abort = new AbortController();
    limiter.run(schedule, abort.signal).then(
      () => {
        ends[name] = kernel.now();
      },
      () => {
        ends[name] = 'cancelled';
      },
    );
    return { schedule, abort };
  };
  const at = (t: number, fn: () => void) => kernel.schedule(t, 'test', fn, undefined);
  return { kernel, limiter, ends, start, at, slots };
}

describe('import limiter (the reference: one token bucket of burst 1 for the node)', () => {
  test('a lone archive: the first chunk at once, then one a step; the next archive waits a step', async () => {
    const { kernel, ends, start, at, slots } = setup();
    const a = start('a', 5);
    expect(slots(a.schedule)).toEqual([0, 1000, 2000, 3000, 4000]);
    let b: ReturnType<typeof start> | undefined;
    let c: ReturnType<typeof start> | undefined;
    at(4000, () => {
      b = start('b', 2); // asks right after a's last chunk: the bucket is empty
    });
    at(20_000, () => {
      c = start('c', 1); // idle for more than a step: the bucket is full again
    });
    await kernel.runAsync();
    expect(ends.a).toBe(4000);
    expect(slots(b?.schedule as ImportSchedule)).toEqual([5000, 6000]);
    expect(slots(c?.schedule as ImportSchedule)).toEqual([20_000]);
    expect(ends).toMatchObject({ b: 6000, c: 20_000 });
  });

  test('two archives at once alternate: together they take the node rate, not twice it', async () => {
    const { kernel, ends, start, slots } = setup();
    const a = start('a', 4);
    const b = start('b', 3);
    expect(slots(a.schedule)).toEqual([0, 1000, 3000, 5000]);
    expect(slots(b.schedule)).toEqual([2000, 4000, 6000]);
    await kernel.runAsync();
    expect(ends).toEqual({ a: 5000, b: 6000 });
  });

  test('an archive that starts meanwhile takes the next free slot and moves the other timer', async () => {
    const { kernel, ends, start, at, slots } = setup();
    const a = start('a', 5);
    let b: ReturnType<typeof start> | undefined;
    at(1500, () => {
      b = start('b', 2);
    });
    await kernel.runAsync();
    // a reserved its third chunk at 1000 (slot 2000); b's first comes a step after that
    expect(slots(a.schedule)).toEqual([0, 1000, 2000, 4000, 6000]);
    expect(slots(b?.schedule as ImportSchedule)).toEqual([3000, 5000]);
    expect(ends).toEqual({ a: 6000, b: 5000 });
  });

  test('a rate change keeps the slot already reserved and repays its debt at the new rate', async () => {
    const { kernel, limiter, ends, start, at, slots } = setup();
    const a = start('a', 5);
    at(1500, () => limiter.setStep(10));
    await kernel.runAsync();
    // at 1500 the bucket owes half a token (slot 2000): 5 ms at 100/s; the chunk after the
    // reserved one goes at once when it asks at 2000, the last 10 ms later
    expect(slots(a.schedule)).toEqual([0, 1000, 2000, 2000, 2010]);
    expect(ends.a).toBe(2010);
  });

  test('fast to slow: the debt of the last reservation is repaid at the slow rate', async () => {
    const { kernel, limiter, start, at, slots } = setup(10);
    const a = start('a', 4);
    at(15, () => limiter.setStep(1000));
    await kernel.runAsync();
    // slots 0, 10, 20 reserved by 15; at 15 the bucket owes half a token: 500 ms at 1/s
    expect(slots(a.schedule)).toEqual([0, 10, 20, 1515]);
  });

  test('a cancelled wait gives its token back; chunks whose slot came stay handed over', async () => {
    const { kernel, ends, start, at, slots } = setup();
    const a = start('a', 5);
    let b: ReturnType<typeof start> | undefined;
    at(1500, () => {
      a.abort.abort();
      expect(a.schedule.doneBy(1500)).toBe(2);
      b = start('b', 1);
    });
    await kernel.runAsync();
    expect(slots(a.schedule)).toEqual([0, 1000]);
    // the bucket was at half a token at 1500 (a's reservation for 2000 given back)
    expect(slots(b?.schedule as ImportSchedule)).toEqual([2000]);
    expect(ends).toEqual({ a: 'cancelled', b: 2000 });
  });

  test('an archive without chunks is done at once and leaves the bucket alone', async () => {
    const { kernel, ends, start, slots } = setup();
    start('empty', 0);
    const a = start('a', 2);
    expect(slots(a.schedule)).toEqual([0, 1000]);
    await kernel.runAsync();
    expect(ends).toEqual({ empty: 0, a: 1000 });
  });

  test('thousands of chunks alone are a single run of slots', () => {
    const { start } = setup(10);
    const a = start('a', 5000);
    expect(a.schedule.end()).toBe(49_990);
    expect(a.schedule.doneBy(25)).toBe(3);
    expect(a.schedule.slot(4321)).toBe(43_210);
  });
});
