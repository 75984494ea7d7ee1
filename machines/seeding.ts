// Seeding a community's torrent (§5.2) and what follows every "seeding" signal (§5.5):
// the signal goes to the host app, the community is looked up (the reference's crash when
// it is missing is a switch), and a control node dispatches the signed magnetlink.

import { magnetFromTorrent, torrentPath } from '../archive/index.ts';
import type { NodeAdapters } from '../ports/index.ts';
import { withArchiveMagnetlinkClock } from '../proto/community-description.ts';
import { magnetlinkChannelMessage } from '../proto/magnetlink-channel.ts';
import { type CommunityEnv, NodeFault } from './community-env.ts';

/** Stop seeding (or downloading) this community's torrent, if any. */
export async function unseed(env: CommunityEnv): Promise<void> {
  const h = env.active;
  if (h === undefined) return;
  const wasSeeding = env.seeding;
  env.active = undefined;
  env.seeding = false;
  env.download = undefined;
  await env.adapters.torrent.remove(h);
  if (wasSeeding) {
    env.bus.emit({ type: 'archive.torrentUnseeded', communityId: env.config.id, infoHash: h });
    env.bus.emit({ type: 'community.historyArchivesUnseeded', communityId: env.config.id });
  }
}

/** Seed what the last round made, with every service the node runs; whether any seeds now. */
export function seedArchives(env: CommunityEnv): Promise<boolean> {
  const [only, ...more] = env.services;
  // One service (the usual case): its own promise, so the outcome arrives when it did before services.
  if (only && more.length === 0) return only.seed(env);
  return (async () => {
    let seeded = false;
    for (const service of env.services) if (await service.seed(env)) seeded = true;
    return seeded;
  })();
}

/** The node leaves the community (or stops the protocol): the torrent it seeded or fetched is removed. */
export function releaseTorrent(env: CommunityEnv): void {
  const h = env.active;
  if (h === undefined) return;
  const wasSeeding = env.seeding;
  env.active = undefined;
  env.seeding = false;
  env.download = undefined;
  env.adapters.torrent.remove(h).catch(() => {});
  if (wasSeeding) {
    env.bus.emit({ type: 'archive.torrentUnseeded', communityId: env.config.id, infoHash: h });
    env.bus.emit({ type: 'community.historyArchivesUnseeded', communityId: env.config.id });
  }
}

/**
 * Seed the community's torrent file, when there is one and the client runs; resolves with
 * whether it is seeded. The machine then announces the seeding (`announceSeeding`).
 */
export async function seedTorrentFile(env: CommunityEnv): Promise<boolean> {
  const { fs, torrent, torrentDir, dataDir } = env.adapters;
  const path = torrentPath(torrentDir, env.config.id);
  if (!fs.exists(path) || !torrent.running) return false;
  await unseed(env);
  const infoHash = await torrent.seed(fs.read(path), dataDir);
  env.active = infoHash;
  env.seeding = true;
  env.bus.emit({ type: 'archive.torrentSeeded', communityId: env.config.id, infoHash });
  return true;
}

/** §5.5: forward the seeding signal; a control node then dispatches the magnetlink. */
export async function announceSeeding(env: CommunityEnv): Promise<void> {
  env.bus.emit({ type: 'community.historyArchivesSeeding', communityId: env.config.id });
  if (!env.lookup(env.config.id)) {
    if (env.options.crashOnMissingCommunity) {
      const msg = `dispatch: community ${env.config.id} not found (reference dereferences it)`;
      // The node fails at once (its actors stop); the throw only ends this task's promise.
      env.fault(msg);
      throw new NodeFault(msg);
    }
    return;
  }
  const priv = env.adapters.keys.communityPrivateKey(env.config.id);
  if (!priv) return; // members never dispatch
  // One link per service: an owner publishing with both backends sends both (dual publish).
  for (const service of env.services) await service.dispatch(env, priv);
}

/** The torrent backend's link: the magnet of the community's `.torrent`, signed (§5.5). */
export async function dispatchMagnetlink(env: CommunityEnv, priv: Uint8Array): Promise<void> {
  const { fs, clock, storage, messaging, torrentDir } = env.adapters;
  const path = torrentPath(torrentDir, env.config.id);
  if (!fs.exists(path)) return;
  const magnetUri = magnetFromTorrent(fs.read(path));
  // The reference uses the wall clock in ms; two dispatches within one virtual ms would tie,
  // so the clock is bumped past the last one to keep it strictly increasing (invariant 6).
  const last = storage.getArchiveState(env.config.id).magnetlinkClock ?? 0;
  const clockMs = Math.max(clock.now(), last + 1);
  const { contentTopic, message } = magnetlinkChannelMessage(env.magnetTopic, priv, clockMs, magnetUri);
  storage.updateArchiveState(env.config.id, { magnetlinkClock: clockMs });
  env.bus.emit({
    type: 'archive.magnetlinkDispatched',
    communityId: env.config.id,
    clock: clockMs,
    magnetUri,
    signer: env.config.id,
  });
  await messaging.publish({ pubsubTopic: env.magnetPubsubTopic, contentTopic, message });
  recordMagnetlinkClockInDescription(env.adapters, env.config.id, clockMs);
}

/**
 * The reference's dispatch, once the link is sent, writes its clock into the community
 * description (archive_magnetlink_clock, field 9). Done where the host keeps descriptions.
 */
export function recordMagnetlinkClockInDescription(
  adapters: NodeAdapters,
  communityId: string,
  clockMs: number,
): void {
  const descriptions = adapters.descriptions;
  if (!descriptions) return;
  descriptions.writeDescription(
    communityId,
    withArchiveMagnetlinkClock(descriptions.readDescription(communityId), clockMs),
  );
}
