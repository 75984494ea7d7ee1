// The one way to put a signed magnetlink on a community's magnetlink channel (§3, §5.5):
// the ApplicationMetadataMessage of type 43 signed with the community key, carried as the
// payload of a WakuMessage on the channel's v1 topic. The control node's dispatch, the
// scenario adversary (forged and replayed links) and the tests all build it here.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { encodeMagnetlinkMessage } from './signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from './topics.ts';
import type { WakuMessage } from './types.ts';

const NO_BYTES = new Uint8Array(0);

/** A WakuMessage carrying `payload` on a v1 topic; its hash (over topic, payload, time) identifies it. */
export function relayMessageOf(topic: Uint8Array, payload: Uint8Array, timestampS: number): WakuMessage {
  const buf = new Uint8Array(topic.length + payload.length + 8);
  buf.set(topic, 0);
  buf.set(payload, topic.length);
  new DataView(buf.buffer).setFloat64(topic.length + payload.length, timestampS);
  return {
    sig: NO_BYTES,
    timestamp: timestampS,
    topic,
    payload,
    padding: NO_BYTES,
    hash: keccak_256(buf),
    thirdPartyId: '',
  };
}

/** The v1 topic of a community's magnetlink channel. */
export const magnetlinkTopicOf = (communityId: string): Uint8Array =>
  chatTopic(magnetlinkChannelId(communityId));

export interface ChannelMessage {
  contentTopic: string;
  message: WakuMessage;
}

/**
 * The magnetlink `{clock, magnetUri}` signed with `privateKey`, as a message on the
 * channel whose v1 topic is `topic` (the community's, from `magnetlinkTopicOf`). A key
 * other than the community's makes a forged link: receivers recover its signer.
 */
export function magnetlinkChannelMessage(
  topic: Uint8Array,
  privateKey: Uint8Array,
  clockMs: number,
  magnetUri: string,
): ChannelMessage {
  const payload = encodeMagnetlinkMessage(privateKey, clockMs, magnetUri);
  return {
    contentTopic: contentTopicOf(topic),
    message: relayMessageOf(topic, payload, Math.floor(clockMs / 1000)),
  };
}
