// Contract of the Clock port, for any implementation. The fixture moves time forward with
// `settle(ms)`: the simulation runs its kernel, a real clock simply waits. Delays are
// small so a real clock passes in well under a second.

import { describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import type { Clock } from '../../ports/clock.ts';

export interface ClockFixture {
  clock: Clock;
  /** Let `ms` of the clock's time pass (and everything due in it run). */
  settle(ms: number): Promise<void>;
  teardown?(): Promise<void> | void;
}

export function describeClockContract(name: string, factory: () => Promise<ClockFixture>): void {
  describe(`Clock contract: ${name}`, () => {
    async function withFixture(fn: (fx: ClockFixture) => Promise<void>): Promise<void> {
      const fx = await factory();
      try {
        await fn(fx);
      } finally {
        await fx.teardown?.();
      }
    }

    it('tells ms since the epoch and advances as time settles', () =>
      withFixture(async (fx) => {
        const t0 = fx.clock.now();
        expect(Number.isInteger(t0)).toBe(true);
        expect(t0).toBeGreaterThan(Date.UTC(2000, 0, 1));
        await fx.settle(50);
        const t1 = fx.clock.now();
        expect(t1 - t0).toBeGreaterThanOrEqual(49);
      }));

    it('fires a timer once, not before its delay', () =>
      withFixture(async (fx) => {
        const t0 = fx.clock.now();
        const fired: number[] = [];
        fx.clock.setTimeout(() => fired.push(fx.clock.now()), 120);
        await fx.settle(40);
        expect(fired).toEqual([]);
        await fx.settle(200);
        expect(fired.length).toBe(1);
        expect(fired[0]! - t0).toBeGreaterThanOrEqual(119);
        await fx.settle(50);
        expect(fired.length).toBe(1);
      }));

    it('does not fire a cleared timer', () =>
      withFixture(async (fx) => {
        let fired = 0;
        const h = fx.clock.setTimeout(() => fired++, 30);
        fx.clock.setTimeout(() => fired++, 30);
        fx.clock.clearTimeout(h);
        await fx.settle(120);
        expect(fired).toBe(1);
        // clearing twice or after firing is harmless
        fx.clock.clearTimeout(h);
      }));

    it('fires timers in deadline order, equal deadlines in creation order', () =>
      withFixture(async (fx) => {
        const order: string[] = [];
        fx.clock.setTimeout(() => order.push('c'), 90);
        fx.clock.setTimeout(() => order.push('a'), 20);
        fx.clock.setTimeout(() => order.push('b1'), 50);
        fx.clock.setTimeout(() => order.push('b2'), 50);
        await fx.settle(200);
        expect(order).toEqual(['a', 'b1', 'b2', 'c']);
      }));

    it('runs timers armed inside a timer callback, and a zero delay soon', () =>
      withFixture(async (fx) => {
        const seen: string[] = [];
        fx.clock.setTimeout(() => {
          seen.push('outer');
          fx.clock.setTimeout(() => seen.push('inner'), 20);
        }, 20);
        fx.clock.setTimeout(() => seen.push('zero'), 0);
        await fx.settle(150);
        expect(seen).toEqual(['zero', 'outer', 'inner']);
      }));

    it("drives XState's delayed transitions as the actor clock", () =>
      withFixture(async (fx) => {
        const machine = createMachine({
          initial: 'waiting',
          states: { waiting: { after: { 150: 'done' } }, done: {} },
        });
        const actor = createActor(machine, { clock: fx.clock });
        actor.start();
        await fx.settle(60);
        expect(actor.getSnapshot().value).toBe('waiting');
        await fx.settle(250);
        expect(actor.getSnapshot().value).toBe('done');
        actor.stop();
      }));
  });
}
