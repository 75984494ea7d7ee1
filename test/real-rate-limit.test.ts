// The torrent client's token bucket, on a hand-driven clock: a second's worth fits at once,
// then bytes fit as fast as the rate refills them, and idle time buys no more than a second.
import { describe, expect, it } from 'vitest';
import { RateLimit } from '../adapters/real/rate-limit.ts';

describe('RateLimit', () => {
  it('lets a second of bytes through, then paces to the rate', () => {
    let now = 0;
    const limit = new RateLimit(100_000, () => now);
    expect(limit.delayFor(100_000)).toBe(0);
    limit.take(100_000);
    expect(limit.delayFor(10_000)).toBe(100);
    now += 50;
    expect(limit.delayFor(10_000)).toBe(50);
    now += 50;
    expect(limit.delayFor(10_000)).toBe(0);
  });

  it('caps what idle time saves at one second, and a request larger than that waits for a full bucket', () => {
    let now = 0;
    const limit = new RateLimit(1000, () => now);
    limit.take(1000);
    now += 60_000;
    expect(limit.delayFor(1000)).toBe(0);
    limit.take(1000);
    expect(limit.delayFor(1000)).toBe(1000);
    expect(limit.delayFor(5000)).toBe(1000);
  });
});
