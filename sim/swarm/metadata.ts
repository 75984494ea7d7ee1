// Metadata exchange: a session learns the info dictionary from any connected peer that
// has it, after two latencies plus the dictionary's size at the slower of the two rates.
// Then its rows in the torrent's bitsets are made, its files scanned for pieces it already
// holds, and the wants made before the metadata take effect, synchronously (so a purely
// synchronous run, the benchmark, still downloads).

import type { TorrentMetadata } from '../../ports/torrent.ts';
import type { ParsedTorrent } from '../torrent-file.ts';
import { assignRow } from './bits.ts';
import type { SwarmCore } from './core.ts';
import { scanFiles } from './files.ts';
import {
  linked,
  type MetaWaiter,
  type PendingWant,
  type Session,
  type Torrent,
  TorrentRemoved,
} from './sessions.ts';
import { want } from './wants.ts';

export function setMeta(core: SwarmCore, torrent: Torrent, p: ParsedTorrent): void {
  const total = p.files.reduce((a, f) => a + f.length, 0);
  torrent.meta = {
    name: p.name,
    pieceLength: p.pieceLength,
    pieceCount: p.pieceHashes.length / 20,
    totalLength: total,
    pieceHashes: p.pieceHashes,
    infoLength: p.infoLength,
    files: p.files.map((f) => ({ ...f })),
  };
  torrent.pieces = new Array(p.pieceHashes.length / 20).fill(undefined);
  torrent.verified = new Uint8Array(p.pieceHashes.length / 20);
  const blocks = Math.ceil(p.pieceHashes.length / 20 / core.opts.piecesPerTransfer);
  torrent.copies = new Uint32Array(blocks);
  torrent.wanting = new Int32Array(blocks);
}

export function metadataOf(torrent: Torrent): TorrentMetadata {
  const m = torrent.meta!;
  return {
    infoHash: torrent.infoHash,
    name: m.name,
    pieceLength: m.pieceLength,
    pieceCount: m.pieceCount,
    files: m.files.map((f) => ({ ...f })),
  };
}

function onMetaArrive(a: { core: SwarmCore; s: Session; src: Session }): void {
  metaArrive(a.core, a.s, a.src);
}

/** Ask a connected peer that has the metadata for it (one request at a time). */
export function tryMeta(core: SwarmCore, s: Session): void {
  if (s.hasMeta || s.metaEv || !s.active || !s.node.reachable) return;
  const meta = s.torrent.meta;
  if (!meta) return;
  const n = s.peers.length;
  for (let k = 0; k < n; k++) {
    const p = s.peers[(s.rrDown + k) % n]!;
    if (!p.hasMeta || !linked(s.node, p.node) || !(p.node.upBps > 0)) continue;
    const lat = core.net.sampleLatency(s.node.id, p.node.id);
    const rate = Math.min(p.node.upBps, s.node.downBps);
    const at = core.kernel.now() + 2 * lat + Math.ceil((meta.infoLength * 1000) / rate);
    s.metaEv = core.kernel.schedule(at, 'swarm.meta', onMetaArrive, { core, s, src: p });
    return;
  }
}

function metaArrive(core: SwarmCore, s: Session, src: Session): void {
  s.metaEv = undefined;
  if (!s.active || s.hasMeta) return;
  if (!src.active || !linked(s.node, src.node)) {
    tryMeta(core, s);
    return;
  }
  const len = s.torrent.meta!.infoLength;
  src.node.bytesUp += len;
  s.node.bytesDown += len;
  core.trace.record('swarm.meta', { node: s.node.id, ih: s.torrent.short, from: src.node.id });
  gotMeta(core, s);
  core.engine.fillDown(s.node);
  core.engine.fillUp(s.node);
}

/** The session knows the metadata now (from a peer, or it seeds). */
export function gotMeta(core: SwarmCore, s: Session): void {
  const m = s.torrent.meta!;
  const n = m.pieceCount;
  s.hasMeta = true;
  assignRow(s);
  s.wanted = new Uint8Array(n);
  scanFiles(core, s);
  const waiters = s.metaWaiters;
  s.metaWaiters = [];
  if (waiters.length > 0) {
    const md = metadataOf(s.torrent);
    for (const w of waiters) {
      w.signal?.removeEventListener('abort', w.onAbort!);
      w.resolve(md);
    }
    core.onSettle();
  }
  // Wants made before the metadata take effect now, synchronously.
  const pending = s.pendingWants;
  s.pendingWants = [];
  for (const w of pending) {
    w.signal?.removeEventListener('abort', w.onAbort!);
    applyWant(core, s, w.range, w.signal).then(w.resolve, w.reject);
  }
  for (const p of s.peers) tryMeta(core, p);
}

/** Resolves once the metadata is known. */
export function metadata(core: SwarmCore, s: Session, signal?: AbortSignal): Promise<TorrentMetadata> {
  if (!s.active) return Promise.reject(new TorrentRemoved(s.torrent.infoHash));
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (s.hasMeta) return Promise.resolve(metadataOf(s.torrent));
  return new Promise((resolve, reject) => {
    const w: MetaWaiter = { resolve, reject, signal, onAbort: undefined };
    if (signal) {
      w.onAbort = () => {
        const i = s.metaWaiters.indexOf(w);
        if (i >= 0) s.metaWaiters.splice(i, 1);
        reject(signal.reason);
        core.onSettle();
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
    }
    s.metaWaiters.push(w);
  });
}

/**
 * Fetch the piece range `range(metadata)` gives, as soon as the metadata is known
 * (at once when it is). Resolves once all those pieces are held and written.
 */
export function wantWhenKnown(
  core: SwarmCore,
  s: Session,
  range: (m: TorrentMetadata) => [number, number],
  signal?: AbortSignal,
): Promise<void> {
  if (!s.active) return Promise.reject(new TorrentRemoved(s.torrent.infoHash));
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (s.hasMeta) return applyWant(core, s, range, signal);
  return new Promise((resolve, reject) => {
    const w: PendingWant = { range, resolve, reject, signal, onAbort: undefined };
    if (signal) {
      w.onAbort = () => {
        const i = s.pendingWants.indexOf(w);
        if (i >= 0) s.pendingWants.splice(i, 1);
        reject(signal.reason);
        core.onSettle();
      };
      signal.addEventListener('abort', w.onAbort, { once: true });
    }
    s.pendingWants.push(w);
  });
}

function applyWant(
  core: SwarmCore,
  s: Session,
  range: (m: TorrentMetadata) => [number, number],
  signal?: AbortSignal,
): Promise<void> {
  let r: [number, number];
  try {
    r = range(metadataOf(s.torrent));
  } catch (e) {
    core.onSettle();
    return Promise.reject(e);
  }
  return want(core, s, r[0], r[1], signal);
}
