// Shared helpers of the machines tests: a small harness on the simulated world, with the
// invariant monitors on (every test asserts they saw no violation), plus signal queries.

import { expect } from 'vitest';
import { type ArchiveCodec, archiveIdOf, MissingKeyError, paddingFor } from '../archive/index.ts';
import { DAY } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { encodeWakuMessageArchive, encodeWakuMessageArchiveIndex } from '../proto/codec.ts';
import { magnetlinkChannelMessage, magnetlinkTopicOf, relayMessageOf } from '../proto/magnetlink-channel.ts';
import { signApplicationMessage } from '../proto/signing.ts';
import { chatTopic, contentTopicOf } from '../proto/topics.ts';
import type { WakuMessageArchive, WakuMessageArchiveIndexMetadata } from '../proto/types.ts';
import { ApplicationMetadataMessageType } from '../proto/types.ts';
import { createHarness, type Harness, type HarnessConfig, type HarnessNode } from '../scenarios/harness.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../sim/torrent-file.ts';

export const WEEK = 7 * DAY;

export async function small(patch: Partial<HarnessConfig> = {}): Promise<Harness> {
  return createHarness({ seed: 7, members: 2, messagesPerDay: 30, durationMs: 15 * DAY, ...patch });
}

export function ofType<T extends NodeSignal['type']>(
  n: HarnessNode,
  type: T,
): Extract<NodeSignal, { type: T }>[] {
  return n.log.filter((s) => s.type === type) as Extract<NodeSignal, { type: T }>[];
}

/** The run kept every invariant that it exercised. */
export function expectNoViolation(h: Harness): void {
  const v = h.monitor.violation;
  expect(v, v ? `${v.invariant}: ${v.message}` : '').toBeUndefined();
}

/** Publish a magnetlink message signed by `priv` on the community's channel, from `fromId`. */
export function publishMagnetlink(
  h: Harness,
  fromId: string,
  priv: Uint8Array,
  clockMs: number,
  magnetUri: string,
): void {
  const onChannel = magnetlinkChannelMessage(magnetlinkTopicOf(h.communityId), priv, clockMs, magnetUri);
  void h.node(fromId).adapters.messaging.publish({
    pubsubTopic: (h.options.magnetlinkPubsubTopicOf ?? h.options.pubsubTopicOf)(h.communityId),
    ...onChannel,
  });
}

/**
 * A magnetlink message whose clock field is 2^64 - 1 (what no JS number holds exactly: the
 * encoder refuses it), signed by `priv`: the largest clock a signer can put on the wire.
 */
export function maxClockMagnetlink(priv: Uint8Array, magnetUri: string): Uint8Array {
  const uri = new TextEncoder().encode(magnetUri);
  const length: number[] = [];
  for (let n = uri.length; ; n >>>= 7) {
    if (n < 0x80) {
      length.push(n);
      break;
    }
    length.push((n & 0x7f) | 0x80);
  }
  // field 1 (clock) varint 0xffffffffffffffff, field 2 (magnet_uri) length-delimited
  const payload = Uint8Array.from([0x08, ...new Array(9).fill(0xff), 0x01, 0x12, ...length, ...uri]);
  return signApplicationMessage(
    priv,
    ApplicationMetadataMessageType.COMMUNITY_MESSAGE_ARCHIVE_MAGNETLINK,
    payload,
  );
}

/** Publish an already signed magnetlink message on the community's channel, from `fromId`. */
export function publishSignedMagnetlink(
  h: Harness,
  fromId: string,
  signed: Uint8Array,
  timestampS: number,
): void {
  const topic = magnetlinkTopicOf(h.communityId);
  void h.node(fromId).adapters.messaging.publish({
    pubsubTopic: (h.options.magnetlinkPubsubTopicOf ?? h.options.pubsubTopicOf)(h.communityId),
    contentTopic: contentTopicOf(topic),
    message: relayMessageOf(topic, signed, timestampS),
  });
}

export function at(h: Harness, offsetMs: number): number {
  return h.start + offsetMs;
}

/**
 * A stand-in for an encrypted community's hash ratchet: a marker byte plain decoding
 * rejects, and a flag saying whether the key is known yet.
 */
export function ratchet(): ArchiveCodec & { keyKnown: boolean } {
  const c = {
    keyKnown: true,
    encode: (plain: Uint8Array) => {
      const out = new Uint8Array(plain.length + 1);
      out[0] = 0xff;
      out.set(plain, 1);
      return out;
    },
    decode: (stored: Uint8Array) => {
      if (!c.keyKnown) throw new MissingKeyError();
      return stored.subarray(1);
    },
  };
  return c;
}

/**
 * Seeds from `seederId` (a node that keeps no folder of the community itself) a torrent of
 * the first community holding one archive of [from, to) with no message at all, which no
 * control node writes (an empty partition makes none); resolves with its magnet.
 */
export async function seedEmptyArchive(
  h: Harness,
  seederId: string,
  from: number,
  to: number,
): Promise<string> {
  const fs = h.node(seederId).adapters.fs;
  const P = h.options.pieceLength;
  const archive: WakuMessageArchive = {
    version: 1,
    metadata: { version: 1, from, to, contentTopic: h.chats.map((c) => chatTopic(c)) },
    messages: [],
  };
  const raw = encodeWakuMessageArchive(archive);
  const { size, padding } = paddingFor(raw.length, P);
  const meta: WakuMessageArchiveIndexMetadata = {
    version: 1,
    metadata: archive.metadata,
    offset: 0,
    size,
    padding,
  };
  const data = new Uint8Array(size);
  data.set(raw);
  const index = encodeWakuMessageArchiveIndex({ archives: new Map([[archiveIdOf(meta), meta]]) });
  const folder = `/data/${h.communityId}`;
  fs.mkdirp(folder);
  fs.writeAtomic(`${folder}/data`, data);
  fs.writeAtomic(`${folder}/index`, index);
  const torrent = buildTorrentFile(h.communityId, P, [
    { path: 'data', bytes: data },
    { path: 'index', bytes: index },
  ]);
  await h.node(seederId).adapters.torrent.seed(torrent, '/data');
  return magnetFor(parseTorrentFile(torrent).infoHash, h.communityId);
}
