// The swarm's bandwidth model: each node has an upload and a download rate (bytes/s). A
// transfer first waits one link latency (the request), then sends at
// min(upload rate / the uploader's sending transfers, download rate / the downloader's
// sending transfers), recomputed for the transfers of both ends whenever one of them
// starts or ends; a transfer's completion event moves only when its rate actually changed
// (progress so far is accounted at the old rate). Bytes done = the integral of the rate.
//
// sim/fair-share.ts is the same rule for any endpoints (the content network's); this copy
// is fused with the swarm's slot lists for speed.

import type { Kernel } from '../kernel.ts';
import type { SwarmNode } from './sessions.ts';
import type { Transfer } from './transfers.ts';

export function onTransferDone(t: Transfer): void {
  t.engine.transferDone(t);
}

/**
 * Fair shares changed on these two nodes: update their sending transfers. Each transfer
 * caches both shares; a share only changes through a reshare of its node, so the cache
 * is exact and the other end of a transfer need not be looked at.
 */
export function reshare(kernel: Kernel, up: SwarmNode, down: SwarmNode, now: number): void {
  const a = up.sendingUp > 0 ? up.upBps / up.sendingUp : 0;
  const b = down.sendingDown > 0 ? down.downBps / down.sendingDown : 0;
  const ul = up.upList;
  for (let i = 0; i < ul.length; i++) {
    const x = ul[i]!;
    if (!x.sending) continue;
    x.upShare = a;
    if (x.downNode === down) x.downShare = b;
    update(kernel, x, now);
  }
  const dl = down.downList;
  for (let i = 0; i < dl.length; i++) {
    const x = dl[i]!;
    if (!x.sending || x.upNode === up) continue;
    x.downShare = b;
    update(kernel, x, now);
  }
}

/** A node's rates changed: new shares for its sending transfers, both directions. */
export function reshareNode(kernel: Kernel, n: SwarmNode, now: number): void {
  const up = n.sendingUp > 0 ? n.upBps / n.sendingUp : 0;
  const down = n.sendingDown > 0 ? n.downBps / n.sendingDown : 0;
  for (const t of n.upList) {
    if (!t.sending) continue;
    t.upShare = up;
    update(kernel, t, now);
  }
  for (const t of n.downList) {
    if (!t.sending) continue;
    t.downShare = down;
    update(kernel, t, now);
  }
}

/** Apply a transfer's fair share; when it changed, account progress so far and move its end. */
export function update(kernel: Kernel, t: Transfer, now: number): void {
  const rate = Math.min(t.upShare, t.downShare);
  // t.rate is 0 until the first share: then the (fired) request event is reused.
  if (rate === t.rate) return;
  if (now > t.last && t.rate > 0) t.remaining -= (t.rate * (now - t.last)) / 1000;
  t.last = now;
  t.rate = rate;
  const rem = Math.max(t.remaining, 0);
  const at = now + Math.ceil((rem * 1000) / rate);
  const ev = t.ev!;
  if (ev.queued) kernel.reschedule(ev, at);
  else kernel.reschedule(ev, at, onTransferDone);
}

/** Progress of a transfer up to now at its current rate (before it is cut short). */
export function accountTo(t: Transfer, now: number): void {
  if (t.sending && now > t.last && t.rate > 0) t.remaining -= (t.rate * (now - t.last)) / 1000;
}
