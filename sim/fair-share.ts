// The bandwidth model of the simulator, as a module of its own: the swarm's rule (see
// sim/swarm/bandwidth.ts) for any transfer between two endpoints. Each endpoint has an
// upload and a download rate (bytes/s). A flow first waits its request latency, then
// sends at min(upload rate / flows its sender is sending, download rate / flows its
// receiver is receiving), recomputed for every sending flow of both ends whenever a flow
// of either end starts or ends (a flow's completion event moves only when its rate
// actually changed). Bytes done = the integral of the rate. A rate of 0 (a node with no
// bandwidth) stalls a flow until the rate changes.
//
// The content network (sim/content-network.ts) uses it. The swarm keeps its own copy of
// the same arithmetic, fused with its piece bookkeeping for speed; sharing one FairShare
// per world would let torrent and content transfers of a node contend for its line.

import type { Kernel, SimEvent } from './kernel.ts';

export class Endpoint {
  readonly id: string;
  upBps: number;
  downBps: number;
  /** Flows that are sending (past their request latency), per direction. */
  sendingUp = 0;
  sendingDown = 0;
  /** Flows holding this endpoint as sender / receiver (requested or sending). */
  readonly ups = new Set<Flow>();
  readonly downs = new Set<Flow>();
  bytesUp = 0;
  bytesDown = 0;
  constructor(id: string, upBps: number, downBps: number) {
    this.id = id;
    this.upBps = upBps;
    this.downBps = downBps;
  }
}

export class Flow<A = unknown> {
  readonly from: Endpoint;
  readonly to: Endpoint;
  readonly size: number;
  readonly arg: A;
  readonly onDone: (flow: Flow<A>) => void;
  /** false while the request travels to the sender */
  sending = false;
  /** false once done or aborted */
  live = true;
  rate = 0;
  remaining: number;
  last = 0;
  upShare = 0;
  downShare = 0;
  ev: SimEvent | undefined;
  readonly fairShare: FairShare;
  constructor(
    fairShare: FairShare,
    from: Endpoint,
    to: Endpoint,
    size: number,
    arg: A,
    onDone: (flow: Flow<A>) => void,
  ) {
    this.fairShare = fairShare;
    this.from = from;
    this.to = to;
    this.size = size;
    this.remaining = size;
    this.arg = arg;
    this.onDone = onDone;
  }
}

function bandwidth(bps: number): number {
  return Number.isFinite(bps) && bps > 0 ? bps : 0;
}

function onRequest(f: Flow): void {
  f.fairShare.requestArrived(f);
}

function onDone(f: Flow): void {
  f.fairShare.finished(f);
}

export class FairShare {
  readonly #kernel: Kernel;
  readonly #label: string;

  constructor(kernel: Kernel, label: string) {
    this.#kernel = kernel;
    this.#label = label;
  }

  endpoint(id: string, upBps: number, downBps: number): Endpoint {
    return new Endpoint(id, bandwidth(upBps), bandwidth(downBps));
  }

  /** A flow of `size` bytes from -> to; it sends after `latencyMs` and calls onDone when all bytes arrived. */
  start<A>(
    from: Endpoint,
    to: Endpoint,
    size: number,
    latencyMs: number,
    arg: A,
    done: (flow: Flow<A>) => void,
  ): Flow<A> {
    const f = new Flow(this, from, to, size, arg, done);
    from.ups.add(f as Flow);
    to.downs.add(f as Flow);
    f.ev = this.#kernel.after(Math.max(0, latencyMs), `${this.#label}.request`, onRequest, f as Flow);
    return f;
  }

  /** @internal */
  requestArrived(f: Flow): void {
    if (!f.live) return;
    const now = this.#kernel.now();
    f.sending = true;
    f.last = now;
    f.from.sendingUp++;
    f.to.sendingDown++;
    this.#reshare(f.from, f.to, now);
    if (f.size === 0) this.finished(f);
  }

  /** @internal */
  finished(f: Flow): void {
    if (!f.live) return;
    this.#account(f, this.#kernel.now());
    f.from.bytesUp += f.remaining > 0 ? f.remaining : 0;
    f.to.bytesDown += f.remaining > 0 ? f.remaining : 0;
    f.remaining = 0;
    this.#unlink(f);
    f.onDone(f);
  }

  /** Stop a flow; returns the bytes it had moved (counted in both ends' totals). */
  abort<A>(f: Flow<A>): number {
    if (!f.live) return 0;
    this.#account(f, this.#kernel.now());
    this.#unlink(f);
    return f.size - f.remaining;
  }

  /** Change an endpoint's rates; its sending flows adapt at once. */
  setBandwidth(e: Endpoint, upBps: number, downBps: number): void {
    e.upBps = bandwidth(upBps);
    e.downBps = bandwidth(downBps);
    this.#reshareAll(e, this.#kernel.now());
  }

  /** Progress of a sending flow up to now, counted into both ends. */
  #account<A>(f: Flow<A>, now: number): void {
    if (f.sending && f.rate > 0 && now > f.last) {
      const moved = Math.min(f.remaining, (f.rate * (now - f.last)) / 1000);
      f.remaining -= moved;
      f.from.bytesUp += moved;
      f.to.bytesDown += moved;
    }
    f.last = now;
  }

  #unlink<A>(f: Flow<A>): void {
    f.live = false;
    if (f.ev?.queued) this.#kernel.cancel(f.ev);
    f.from.ups.delete(f as Flow);
    f.to.downs.delete(f as Flow);
    if (f.sending) {
      f.sending = false;
      f.from.sendingUp--;
      f.to.sendingDown--;
      this.#reshare(f.from, f.to, this.#kernel.now());
    }
  }

  #reshare(up: Endpoint, down: Endpoint, now: number): void {
    this.#reshareAll(up, now);
    if (down !== up) this.#reshareAll(down, now);
  }

  /** New fair shares for every sending flow of one endpoint, both directions. */
  #reshareAll(e: Endpoint, now: number): void {
    const upShare = e.sendingUp > 0 ? e.upBps / e.sendingUp : 0;
    const downShare = e.sendingDown > 0 ? e.downBps / e.sendingDown : 0;
    for (const f of e.ups) {
      if (!f.sending) continue;
      f.upShare = upShare;
      this.#update(f, now);
    }
    for (const f of e.downs) {
      if (!f.sending) continue;
      f.downShare = downShare;
      this.#update(f, now);
    }
  }

  #update(f: Flow, now: number): void {
    // The share of the other end is cached on the flow and exact: it only changes through a
    // reshare of that end.
    if (f.from.sendingUp > 0) f.upShare = f.from.upBps / f.from.sendingUp;
    if (f.to.sendingDown > 0) f.downShare = f.to.downBps / f.to.sendingDown;
    const rate = Math.min(f.upShare, f.downShare);
    if (rate === f.rate && f.ev?.queued) return;
    this.#account(f, now);
    f.rate = rate;
    const ev = f.ev!;
    if (rate <= 0) {
      if (ev.queued) this.#kernel.cancel(ev);
      return;
    }
    const at = now + Math.ceil((Math.max(f.remaining, 0) * 1000) / rate);
    this.#kernel.reschedule(ev, at, onDone);
  }
}
