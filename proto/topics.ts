// Addressing of chats on Waku (protocol.md §3): a chat's v1 topic is the first 4 bytes of
// Keccak-256 of its id; the v2 content topic spells that topic in hex.
import { keccak_256 } from '@noble/hashes/sha3.js';
import { fromHex, toHex } from './hex.ts';

export { fromHex, toHex } from './hex.ts';

const encoder = new TextEncoder();

/** Waku v1 topic (4 bytes) of a chat id. */
export function chatTopic(chatId: string): Uint8Array {
  return keccak_256(encoder.encode(chatId)).slice(0, 4);
}

/** Waku v2 content topic `/waku/1/0x<8 hex>/rfc26` of a v1 topic. */
export function contentTopicOf(topic: Uint8Array): string {
  if (topic.length !== 4) throw new RangeError(`a Waku v1 topic has 4 bytes, got ${topic.length}`);
  return `/waku/1/${toHex(topic)}/rfc26`;
}

/** The v1 topic inside a v2 content topic, or undefined when it is not of that form. */
export function topicOfContentTopic(contentTopic: string): Uint8Array | undefined {
  const match = /^\/waku\/1\/(0x[0-9a-f]{8})\/rfc26$/.exec(contentTopic);
  return match ? fromHex(match[1]!) : undefined;
}

/** Chat id of a community's magnetlink channel. */
export function magnetlinkChannelId(communityId: string): string {
  return `${communityId}-magnetlinks`;
}
