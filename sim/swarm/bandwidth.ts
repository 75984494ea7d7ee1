// The swarm's bandwidth model: each node has an upload and a download rate (bytes/s). A
// transfer first waits one link latency (the request), then sends at
// min(upload rate / the uploader's sending transfers, download rate / the downloader's
// sending transfers), recomputed for the transfers of both ends whenever one of them
// starts or ends; a transfer's completion event moves only when its rate actually changed
// (progress so far is accounted at the old rate). Bytes done = the integral of the rate.
//
// sim/fair-share.ts is the same rule for any endpoints (the content network's and the
// flow-level swarm's); this copy works on the swarm's tables (sim/swarm/tables.ts) for
// speed.

import type { Kernel } from '../kernel.ts';
import {
  type NodeTable,
  T_DOWN_NODE,
  T_DOWN_SHARE,
  T_LAST,
  T_RATE,
  T_REMAINING,
  T_SENDING,
  T_UP_NODE,
  T_UP_SHARE,
  type TransferTable,
  TSTRIDE,
} from './tables.ts';

/**
 * Fair shares changed on these two nodes: update their sending transfers. Each transfer
 * caches both shares; a share only changes through a reshare of its node, so the cache
 * is exact and the other end of a transfer need not be looked at.
 */
export function reshare(
  kernel: Kernel,
  nt: NodeTable,
  tt: TransferTable,
  up: number,
  down: number,
  now: number,
): void {
  const a = nt.sendingUp[up]! > 0 ? nt.upBps[up]! / nt.sendingUp[up]! : 0;
  const b = nt.sendingDown[down]! > 0 ? nt.downBps[down]! / nt.sendingDown[down]! : 0;
  const ti = tt.ti;
  const tf = tt.tf;
  const ul = nt.upList;
  const u0 = up * nt.upSlots;
  for (let i = u0, end = u0 + nt.upN[up]!; i < end; i++) {
    const x = ul[i]!;
    const o = x * TSTRIDE;
    if (ti[o + T_SENDING] === 0) continue;
    tf[o + T_UP_SHARE] = a;
    if (ti[o + T_DOWN_NODE] === down) tf[o + T_DOWN_SHARE] = b;
    update(kernel, tt, x, now);
  }
  const dl = nt.downList;
  const d0 = down * nt.downSlots;
  for (let i = d0, end = d0 + nt.downN[down]!; i < end; i++) {
    const x = dl[i]!;
    const o = x * TSTRIDE;
    if (ti[o + T_SENDING] === 0 || ti[o + T_UP_NODE] === up) continue;
    tf[o + T_DOWN_SHARE] = b;
    update(kernel, tt, x, now);
  }
}

/** A node's rates changed: new shares for its sending transfers, both directions. */
export function reshareNode(kernel: Kernel, nt: NodeTable, tt: TransferTable, n: number, now: number): void {
  const up = nt.sendingUp[n]! > 0 ? nt.upBps[n]! / nt.sendingUp[n]! : 0;
  const down = nt.sendingDown[n]! > 0 ? nt.downBps[n]! / nt.sendingDown[n]! : 0;
  const u0 = n * nt.upSlots;
  for (let i = u0; i < u0 + nt.upN[n]!; i++) {
    const t = nt.upList[i]!;
    if (tt.ti[t * TSTRIDE + T_SENDING] === 0) continue;
    tt.tf[t * TSTRIDE + T_UP_SHARE] = up;
    update(kernel, tt, t, now);
  }
  const d0 = n * nt.downSlots;
  for (let i = d0; i < d0 + nt.downN[n]!; i++) {
    const t = nt.downList[i]!;
    if (tt.ti[t * TSTRIDE + T_SENDING] === 0) continue;
    tt.tf[t * TSTRIDE + T_DOWN_SHARE] = down;
    update(kernel, tt, t, now);
  }
}

/** Apply a transfer's fair share; when it changed, account progress so far and move its end. */
export function update(kernel: Kernel, tt: TransferTable, t: number, now: number): void {
  const tf = tt.tf;
  const o = t * TSTRIDE;
  const rate = Math.min(tf[o + T_UP_SHARE]!, tf[o + T_DOWN_SHARE]!);
  const old = tf[o + T_RATE]!;
  // the rate is 0 until the first share: then the (fired) request event is reused
  if (rate === old) return;
  const last = tf[o + T_LAST]!;
  if (now > last && old > 0) tf[o + T_REMAINING]! -= (old * (now - last)) / 1000;
  tf[o + T_LAST] = now;
  tf[o + T_RATE] = rate;
  const rem = Math.max(tf[o + T_REMAINING]!, 0);
  let at = now + Math.ceil((rem * 1000) / rate);
  const ev = tt.ev[t]!;
  if (tt.coupled) {
    at = coupledEnd(tt, t, at, rate);
    if (ev.queued && ev.at === at) return;
  }
  if (ev.queued) kernel.reschedule(ev, at);
  else kernel.reschedule(ev, at, tt.onDone);
  if (tt.coupled && tt.depHead[t]! >= 0) retimeStreams(kernel, tt, t);
}

/**
 * The flow-level swarm: a transfer streaming behind another (its source, the uploader's
 * own download of those pieces) cannot end before its source does plus the time of one
 * piece at its own rate (the last piece is forwarded once it arrived and verified).
 */
function coupledEnd(tt: TransferTable, t: number, at: number, rate: number): number {
  const src = tt.src[t]!;
  const srcEnd = src >= 0 ? tt.ev[src]!.at : tt.srcEnd[t]!;
  if (!(srcEnd > 0) || !(rate > 0)) return at;
  return Math.max(at, srcEnd + Math.ceil((tt.tail[t]! * 1000) / rate));
}

/** The end of transfer t moved: so may the ends of the transfers streaming behind it. */
export function retimeStreams(kernel: Kernel, tt: TransferTable, t: number): void {
  const end = tt.ev[t]!.at;
  for (let d = tt.depHead[t]!; d >= 0; d = tt.depNext[d]!) {
    tt.srcEnd[d] = end;
    retime(kernel, tt, d);
  }
}

/** Recompute the end of a sending transfer at its current rate (its source's end may have moved). */
export function retime(kernel: Kernel, tt: TransferTable, t: number): void {
  const ev = tt.ev[t]!;
  const o = t * TSTRIDE;
  // a stream still waiting for its request to arrive is timed when it starts sending
  if (!ev.queued || tt.ti[o + T_SENDING] === 0) return;
  const rate = tt.tf[o + T_RATE]!;
  if (!(rate > 0)) return;
  const now = kernel.now();
  const last = tt.tf[o + T_LAST]!;
  const rem = Math.max(tt.tf[o + T_REMAINING]! - (rate * (now - last)) / 1000, 0);
  const at = coupledEnd(tt, t, now + Math.ceil((rem * 1000) / rate), rate);
  if (at === ev.at) return;
  kernel.reschedule(ev, at);
  if (tt.depHead[t]! >= 0) retimeStreams(kernel, tt, t);
}

/** Progress of a transfer up to now at its current rate (before it is cut short). */
export function accountTo(tt: TransferTable, t: number, now: number): void {
  const tf = tt.tf;
  const o = t * TSTRIDE;
  const last = tf[o + T_LAST]!;
  const rate = tf[o + T_RATE]!;
  if (tt.ti[o + T_SENDING] === 1 && now > last && rate > 0)
    tf[o + T_REMAINING]! -= (rate * (now - last)) / 1000;
}
