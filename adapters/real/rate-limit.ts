// A token bucket in bytes per second, for the torrent client's download and upload limits:
// `delayFor(n)` says how long to wait before n more bytes fit, `take(n)` spends them. The
// bucket holds one second's worth, so a quiet period does not buy an unlimited burst.

export class RateLimit {
  readonly #bytesPerSecond: number;
  readonly #now: () => number;
  #tokens: number;
  #at: number;

  constructor(bytesPerSecond: number, now: () => number = () => performance.now()) {
    this.#bytesPerSecond = bytesPerSecond;
    this.#now = now;
    this.#tokens = bytesPerSecond;
    this.#at = now();
  }

  /** Milliseconds until `n` bytes fit (0 when they fit now). */
  delayFor(n: number): number {
    this.#refill();
    const need = Math.min(n, this.#bytesPerSecond) - this.#tokens;
    return need <= 0 ? 0 : Math.ceil((need / this.#bytesPerSecond) * 1000);
  }

  take(n: number): void {
    this.#refill();
    this.#tokens -= n;
  }

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(
      this.#bytesPerSecond,
      this.#tokens + ((now - this.#at) / 1000) * this.#bytesPerSecond,
    );
    this.#at = now;
  }
}
