// Wanting pieces: a wait for a piece range resolves once every piece in it is held and the
// files overlapping it are written; an aborted signal rejects the wait and deselects the
// pieces no other wait needs (downloads carrying them are cut short). Waits are looked at
// only when one may be complete (SessionTable.due counts the pieces still to gain before
// that), not per piece received.

import type { TorrentProgress } from '../../ports/torrent.ts';
import { armAnnounce } from './announce.ts';
import { addMissing, forgetMissing, has, lacking } from './bits.ts';
import type { SwarmCore } from './core.ts';
import { writeFiles } from './files.ts';
import { type Session, type SwarmNode, TorrentRemoved, type Waiter } from './sessions.ts';
import { NO_WAIT } from './tables.ts';

/** Fetch pieces [first, end); resolves once all are held and written to the files. */
export function want(
  core: SwarmCore,
  s: Session,
  first: number,
  end: number,
  signal?: AbortSignal,
): Promise<void> {
  if (!s.active) return Promise.reject(new TorrentRemoved(s.torrent.infoHash));
  if (!s.hasMeta) return Promise.reject(new Error('swarm.want: metadata not known yet'));
  if (signal?.aborted) return Promise.reject(signal.reason);
  const n = s.torrent.meta!.pieceCount;
  first = Math.max(0, Math.min(n, Math.floor(first)));
  end = Math.max(first, Math.min(n, Math.floor(end)));
  let remaining = 0;
  if (end > first) {
    if (s.wantHi === 0) s.wantLo = first >>> 5;
    else s.wantLo = Math.min(s.wantLo, first >>> 5);
    s.wantHi = Math.max(s.wantHi, ((end - 1) >>> 5) + 1);
  }
  for (let p = first; p < end; p++) {
    if (!s.wanted[p]) {
      s.wanted[p] = 1;
      s.wantedCount++;
      if (!has(s, p)) addMissing(core, s, p);
    }
    if (!has(s, p)) remaining++;
  }
  core.trace.record('swarm.want', {
    node: s.node.id,
    ih: s.torrent.short,
    first,
    end,
    missing: remaining,
  });
  if (remaining === 0) {
    writeFiles(s, first, end);
    return Promise.resolve();
  }
  const promise = new Promise<void>((resolve, reject) => {
    const w: Waiter = { first, end, resolve, reject, signal, onAbort: undefined };
    if (signal) {
      w.onAbort = () => {
        const i = s.waiters.indexOf(w);
        if (i >= 0) s.waiters.splice(i, 1);
        core.trace.record('swarm.cancel', { node: s.node.id, ih: s.torrent.short, first, end });
        rewant(core, s);
        reject(signal.reason);
        core.onSettle();
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
    }
    s.waiters.push(w);
  });
  const st = core.st;
  st.due[s.sid] = Math.min(st.due[s.sid]!, remaining);
  s.announceDelay = core.opts.announceMs;
  armAnnounce(core, s);
  core.engine.fillDown(s.node);
  return promise;
}

/** After a cancel: want only what the remaining waiters need. */
function rewant(core: SwarmCore, s: Session): void {
  const K = core.opts.piecesPerTransfer;
  const n = s.torrent.meta!.pieceCount;
  s.wanted.fill(0);
  s.wantedCount = 0;
  s.wantLo = 0;
  s.wantHi = 0;
  for (const w of s.waiters) {
    if (w.end > w.first) {
      if (s.wantHi === 0) s.wantLo = w.first >>> 5;
      else s.wantLo = Math.min(s.wantLo, w.first >>> 5);
      s.wantHi = Math.max(s.wantHi, ((w.end - 1) >>> 5) + 1);
    }
    for (let p = w.first; p < w.end; p++) {
      if (!s.wanted[p]) {
        s.wanted[p] = 1;
        s.wantedCount++;
      }
    }
  }
  s.missingCount = 0;
  s.torrent.needAll.fill(0, s.base, s.base + s.torrent.words);
  s.torrent.needSum.fill(0, s.sumBase, s.sumBase + s.torrent.sumWords);
  forgetMissing(s, K);
  s.torrent.missAll.fill(0, s.base, s.base + s.torrent.words);
  for (let p = 0; p < n; p++) if (s.wanted[p] && !has(s, p)) addMissing(core, s, p);
  // Requests for pieces no longer wanted are cancelled, as a client deselecting them
  // would; whole pieces that already arrived are kept, wanted pieces are asked again.
  const affected = new Set<SwarmNode>();
  core.engine.abortUnwanted(s, affected);
  for (const x of affected) core.engine.refill(x);
}

/**
 * Session `sid` gained `n` pieces from the swarm: one progress event to its listeners,
 * then the waits whose ranges are complete settle (their files are written first).
 */
export function gained(core: SwarmCore, sid: number, n: number): void {
  const st = core.st;
  st.mark[sid]!++;
  st.due[sid]! -= n;
  if (st.watched[sid] === 0 && st.due[sid]! > 0) return;
  const s = core.sessionById[sid]!;
  if (st.watched[sid] === 1) {
    const ev: TorrentProgress = {
      infoHash: s.torrent.infoHash,
      piecesHave: s.haveCount,
      piecesWanted: s.wantedCount,
    };
    for (const l of [...s.progress]) l(ev);
  }
  if (st.due[sid]! <= 0) settleWaits(core, s);
}

/** Count what each wait still lacks; settle the complete ones, in order. */
function settleWaits(core: SwarmCore, s: Session): void {
  const st = core.st;
  const t = s.torrent;
  let due = NO_WAIT;
  let done: Waiter[] | undefined;
  for (const w of s.waiters) {
    const left = lacking(t, s.base, w.first, w.end);
    if (left === 0) {
      done ??= [];
      done.push(w);
    } else if (left < due) {
      due = left;
    }
  }
  st.due[s.sid] = due;
  if (!done) return;
  for (const w of done) {
    s.waiters.splice(s.waiters.indexOf(w), 1);
    w.signal?.removeEventListener('abort', w.onAbort!);
    writeFiles(s, w.first, w.end);
    core.trace.record('swarm.done', {
      node: s.node.id,
      ih: s.torrent.short,
      first: w.first,
      end: w.end,
    });
    w.resolve();
  }
  core.onSettle();
}
