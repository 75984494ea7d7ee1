// The announce timer of a session: a session still fetching (or without metadata)
// re-announces every announceMs, doubling up to maxAnnounceMs while it makes no progress
// (what an announce does is in sim/swarm/peers.ts; the swarm installs it as core.announce).

import type { SwarmCore } from './core.ts';
import type { Session } from './sessions.ts';

/** Sessions still fetching (or without metadata) look for peers; complete ones wait to be found. */
export function needsPeers(s: Session): boolean {
  if (!s.active || !s.node.reachable) return false;
  return !s.hasMeta || s.missingCount > 0;
}

export function armAnnounce(core: SwarmCore, s: Session): void {
  if (s.announceEv || !needsPeers(s)) return;
  s.announceEv = core.kernel.after(s.announceDelay, 'swarm.announce', announceFire, { core, s });
}

function announceFire(a: { core: SwarmCore; s: Session }): void {
  a.core.announce(a.s);
}
