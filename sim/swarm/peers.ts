// Peers and connectivity. Joining connects a session to up to peersPerTorrent random
// sessions of the torrent (as a tracker would hand out; each accepts up to
// maxConnections); a session still fetching re-announces (sim/swarm/announce.ts) and a
// starving one connects to a few more peers regardless of their limits. When the network
// says a node went offline, crashed or was cut off, transfers across the cut are aborted;
// when it is back, its sessions and their peers look for work again.

import { armAnnounce, needsPeers } from './announce.ts';
import type { SwarmCore } from './core.ts';
import { tryMeta } from './metadata.ts';
import { addPeers, type Session, type SwarmNode } from './sessions.ts';

/** Connect s to up to `want` more sessions of its torrent; returns how many it got. */
export function connect(core: SwarmCore, s: Session, want: number, respectCap: boolean): number {
  const others = s.torrent.sessions;
  const cap = core.opts.maxConnections;
  let made = 0;
  const consider = (o: Session): void => {
    if (o === s || !o.active || o.node === s.node) return;
    if (respectCap && o.peers.length >= cap) return;
    if (s.peers.includes(o)) return;
    addPeers(core.peerLists, s, o);
    made++;
  };
  if (others.length <= want * 2) {
    // Small swarm: consider everyone, in a random order.
    const order = s.node.rng.shuffle(others.slice());
    for (const o of order) {
      if (made >= want) break;
      consider(o);
    }
  } else {
    for (let tries = 0; tries < want * 3 && made < want; tries++) consider(s.node.rng.pick(others));
  }
  if (made > 0 && core.opts.tracePieces) {
    core.trace.record('swarm.connect', { node: s.node.id, ih: s.torrent.short, peers: s.peers.length });
  }
  return made;
}

/** The announce timer fired: top up the peers (more when starving), then re-arm. */
export function announce(core: SwarmCore, s: Session): void {
  s.announceEv = undefined;
  if (!needsPeers(s)) return;
  const opts = core.opts;
  const progressed = s.progressMark !== s.lastMark;
  s.lastMark = s.progressMark;
  const starving = !s.hasMeta || (s.missingCount > 0 && s.inflightCount === 0 && !progressed);
  const want = Math.max(opts.peersPerTorrent - s.peers.length, starving ? 4 : 0);
  if (want > 0) {
    const made = connect(core, s, want, !starving);
    if (made > 0) {
      for (const p of s.peers) if (!p.hasMeta) tryMeta(core, p);
      tryMeta(core, s);
      core.engine.fillDown(s.node);
      core.engine.fillUp(s.node);
      for (const p of s.peers.slice(-made)) core.engine.refill(p.node);
    }
  }
  s.announceDelay = progressed ? opts.announceMs : Math.min(s.announceDelay * 2, opts.maxAnnounceMs);
  armAnnounce(core, s);
}

/** The network's reachability changed (one node, or the whole network when id is undefined). */
export function connectivityChanged(core: SwarmCore, id: string | undefined): void {
  const changed: SwarmNode[] = [];
  const nodes = id === undefined ? core.nodeList : [core.nodes.get(id)].filter((n) => n !== undefined);
  for (const n of nodes) {
    const r = core.net.isOnline(n.id);
    const g = core.net.groupOf(n.id);
    if (r !== n.reachable || g !== n.group) {
      n.reachable = r;
      n.group = g;
      changed.push(n);
    }
  }
  if (changed.length === 0) return;
  const affected = new Set<SwarmNode>();
  core.engine.abortCut(changed, affected);
  const wake = new Set<SwarmNode>(affected);
  for (const n of changed) {
    if (!n.reachable) continue;
    wake.add(n);
    for (const s of n.sessions) {
      tryMeta(core, s);
      for (const p of s.peers) {
        wake.add(p.node);
        tryMeta(core, p);
      }
      armAnnounce(core, s);
    }
  }
  for (const n of wake) core.engine.refill(n);
}
