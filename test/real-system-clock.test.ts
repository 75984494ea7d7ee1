// The real Clock: wall time, timers that fire and timers that can be cleared.
import { describe, expect, it } from 'vitest';
import { SystemClock } from '../adapters/real/system-clock.ts';
import { describeClockContract } from './contract/clock.contract.ts';

describe('SystemClock', () => {
  it('tells wall time in ms and fires timers in order', async () => {
    const c = new SystemClock();
    const before = Date.now();
    expect(c.now()).toBeGreaterThanOrEqual(before);
    const order: string[] = [];
    await new Promise<void>((resolve) => {
      c.setTimeout(() => order.push('b'), 20);
      c.setTimeout(() => order.push('a'), 5);
      c.setTimeout(() => resolve(), 40);
    });
    expect(order).toEqual(['a', 'b']);
    expect(c.pending).toBe(0);
  });

  it('clears single timers and all timers', async () => {
    const c = new SystemClock();
    let fired = 0;
    const h = c.setTimeout(() => fired++, 5);
    c.clearTimeout(h);
    c.setTimeout(() => fired++, 5);
    c.setTimeout(() => fired++, 5);
    expect(c.pending).toBe(2);
    c.clearAll();
    await new Promise((r) => setTimeout(r, 30));
    expect(fired).toBe(0);
  });
});

describeClockContract('SystemClock (real time)', async () => {
  const clock = new SystemClock();
  return {
    clock,
    settle: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    teardown: () => clock.clearAll(),
  };
});
