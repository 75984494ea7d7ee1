// Waku-like messaging: live relay on a pubsub topic filtered by content topic, plus
// store nodes that answer history queries for a limited retention.
// Content topics are the Waku v2 strings `/waku/1/0x<8 hex>/rfc26`; the archive keeps the
// 4-byte Waku v1 topic inside each WakuMessage (see proto/topics.ts for the mapping).

import type { WakuMessage } from '../proto/types.ts';

export interface RelayMessage {
  pubsubTopic: string;
  contentTopic: string;
  /** The message as archived: sig, timestamp (s), v1 topic, payload, padding, hash, thirdPartyId. */
  message: WakuMessage;
}

export interface StoreQuery {
  pubsubTopic: string;
  contentTopics: string[];
  /** Unix seconds, inclusive. */
  from: number;
  /** Unix seconds, exclusive. */
  to: number;
}

export type Unsubscribe = () => void;

export interface Messaging {
  /** Send on relay. Resolves once handed to the network (not once delivered). */
  publish(msg: RelayMessage): Promise<void>;
  /** Receive relay messages on these content topics of a pubsub topic. */
  subscribe(pubsubTopic: string, contentTopics: string[], handler: (msg: RelayMessage) => void): Unsubscribe;
  /** Ask a store node for history; rejects when no store node answers. */
  queryStore(query: StoreQuery): Promise<RelayMessage[]>;
  /**
   * Resolves once a store node can be reached (the reference's first connection to a store
   * node, which its start waits for before the control node's tasks); rejects when `signal`
   * aborts.
   */
  whenStoreAvailable(signal?: AbortSignal): Promise<void>;
}
