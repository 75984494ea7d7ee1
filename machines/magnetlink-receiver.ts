// How a member hears magnetlinks (§6.1): live on the community's magnetlink channel, and on
// start from the store (a member that joins or comes back reads up to `storeLookbackMs` of
// the channel's history, in timestamp order, as the reference handles messages fetched
// from store nodes; this is where the spec's "wait 20 s after the last one" matters). Each
// message is decoded and its signer recovered; the guards of §6.1 say whether to act.

import { fromCallback } from 'xstate';
import { archiveLinkKind } from '../proto/archive-link.ts';
import { decodeMagnetlinkMessage } from '../proto/signing.ts';
import type { ArchiveBackend, ArchiveService } from './archive-service.ts';
import type { CommunityEnv } from './community-env.ts';
import { magnetlinkClockReason } from './magnetlink-clock.ts';

/** A link heard on the channel; `kind` says which backend's (a magnet, or an index cid, §11). */
export type ReceivedLink = {
  type: 'MAGNETLINK';
  signer: string;
  clock: number;
  magnetUri: string;
  kind: ArchiveBackend;
};

/** The kind of a link: an index cid, else a magnet (anything else fails as a torrent would). */
export const linkKind = (link: string): ArchiveBackend =>
  archiveLinkKind(link) === 'cid' ? 'cid' : 'torrent';

/** The node's service for links of `kind`, if it runs that backend. */
export function serviceFor(env: CommunityEnv, kind: ArchiveBackend): ArchiveService | undefined {
  return env.services.find((s) => s.backend === kind);
}

/** Why a magnetlink is ignored (§6.1), or undefined when it is accepted. */
export function ignoreReason(
  env: CommunityEnv,
  ev: { signer: string; clock: number; magnetUri: string; kind: ArchiveBackend },
): string | undefined {
  if (ev.signer !== env.config.id) return 'unknown community';
  const service = serviceFor(env, ev.kind);
  if (!service) return `${ev.kind} backend not run`;
  if (!service.running(env))
    return ev.kind === 'torrent' ? 'torrent client not running' : 'content store not running';
  if (env.config.archiveSupport === false) return 'archive support off';
  if (env.role === 'owner') return 'control node';
  if (env.config.joined === false) return 'not joined';
  // Auto mode: the running task's backend decides this round.
  if (env.taskOpen && env.taskBackend !== undefined && env.taskBackend !== ev.kind)
    return `${env.taskBackend} task running`;
  const st = env.adapters.storage.getArchiveState(env.config.id);
  const cid = ev.kind === 'cid';
  const clockReason = magnetlinkClockReason(
    ev.clock,
    cid ? st.indexCidClock : st.magnetlinkClock,
    env.adapters.clock.now(),
    env.options,
  );
  if (clockReason !== undefined) return clockReason;
  if ((cid ? st.lastSeenIndexCid : st.lastSeenMagnetlink) === ev.magnetUri) return 'last seen link';
  return undefined;
}

/**
 * Decoded links by payload object: a simulated network hands every receiver the same
 * (immutable) bytes, and recovering the signer is the costly part of receiving a link.
 */
const decoded = new WeakMap<Uint8Array, ReceivedLink>();

function decodeLink(env: CommunityEnv, payload: Uint8Array): ReceivedLink | undefined {
  const hit = decoded.get(payload);
  if (hit) return hit;
  try {
    const d = decodeMagnetlinkMessage(payload);
    const ev: ReceivedLink = {
      type: 'MAGNETLINK',
      signer: d.signer,
      clock: d.clock,
      magnetUri: d.magnetUri,
      kind: linkKind(d.magnetUri),
    };
    decoded.set(payload, ev);
    return ev;
  } catch (e) {
    env.bus.emit({ type: 'archive.magnetlinkRejected', reason: `undecodable: ${String(e)}` });
    return undefined;
  }
}

/** Receives the magnetlink channel live; decodes, identifies the community by the signer. */
export const magnetlinkListener = fromCallback<ReceivedLink, { env: CommunityEnv }>(({ input, sendBack }) => {
  const env = input.env;
  return env.adapters.messaging.subscribe(env.magnetPubsubTopic, [env.magnetContentTopic], (msg) => {
    const ev = decodeLink(env, msg.message.payload);
    if (ev) sendBack(ev);
  });
});

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

/** Reads the channel's history from the store once, when the actor starts. */
export const magnetlinkHistory = fromCallback<ReceivedLink, { env: CommunityEnv }>(({ input, sendBack }) => {
  const env = input.env;
  let live = true;
  if (!env.options.magnetlinkHistoryOnStart) return () => {};
  const now = Math.floor(env.adapters.clock.now() / 1000);
  env.adapters.messaging
    .queryStore({
      pubsubTopic: env.magnetPubsubTopic,
      contentTopics: [env.magnetContentTopic],
      from: now - Math.floor(env.options.storeLookbackMs / 1000),
      to: now + 1,
    })
    .then(
      (found) => {
        if (!live) return;
        const msgs = found.map((r) => r.message);
        msgs.sort((a, b) => a.timestamp - b.timestamp || compareBytes(a.hash, b.hash));
        for (const m of msgs) {
          const ev = decodeLink(env, m.payload);
          if (ev && live) sendBack(ev);
        }
      },
      () => {},
    );
  return () => {
    live = false;
  };
});
