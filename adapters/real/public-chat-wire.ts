// Public chats on real Waku as the reference client speaks them (protocol.md §12,
// docs/reference-wire.md): what the machines hand over and get back on such a chat is the
// ApplicationMetadataMessage itself; on the wire it travels
//
//   ApplicationMetadataMessage
//   -> ProtocolMessage {installation id, this node's signed identity bundle, public_message}
//   -> SegmentMessages when larger than 3/4 of Waku's maximum message size
//   -> each the data of a 26/WAKU2-PAYLOAD signed by this node's identity key, padded and
//      encrypted with AES-256-GCM under the key derived from the chat's name
//   -> a Waku v2 message of version 1 on the chat's content topic.
//
// The payload layer is @waku/message-encryption's (its random nonce and padding make every
// send unique, as the reference's do); the layers inside are proto/'s pure functions.
// Receiving undoes each layer and refuses, with a typed WireRejected naming the layer,
// whatever does not decrypt, is not signed, does not reassemble or does not open; the
// received RelayMessage carries what the reference keeps of a Waku message: the signer's
// key as `sig`, the padding, the Waku message hash, and the application message as payload.
//
// Compatibility: a version-0 message (archivist's earlier bare wire: the signed
// ApplicationMetadataMessage as plain payload) is still taken when `acceptBare` is on; the
// machines authenticate the application message either way.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { symmetric } from '@waku/message-encryption';
import type { RelayMessage } from '../../ports/messaging.ts';
import { publicChatKey } from '../../proto/chat-key.ts';
import { hexDigits } from '../../proto/hex.ts';
import { buildPublicMessage, EnvelopeError, openPublicMessage } from '../../proto/public-envelope.ts';
import { type ReassemblerLimits, SegmentError, SegmentReassembler } from '../../proto/segment-reassembler.ts';
import { segmentPayload, segmentSizeFor, WAKU_MAX_MESSAGE_SIZE } from '../../proto/segmentation.ts';
import { publicKeyOf } from '../../proto/signing.ts';
import { chatTopic, contentTopicOf } from '../../proto/topics.ts';
import { parseWakuPayload, type WakuPayloadError } from '../../proto/waku-payload.ts';
import { fromWakuV2, v1TopicFromContentTopic, type WakuV2Message, wakuMessageHash } from './waku-wire.ts';

/** The key pair a node signs its envelopes with, and the device id it sends. */
export interface WireIdentity {
  /** secp256k1 private key (32 bytes). */
  privateKey: Uint8Array;
  installationId: string;
}

export interface PublicChatWireOptions {
  identity: WireIdentity;
  /** Chat ids (e.g. `<communityId>-magnetlinks`) whose content topics carry enveloped public messages. */
  chats: string[];
  /** Waku's maximum message size; segments are 3/4 of it. Default 1 MiB, the reference's. */
  maxMessageSize?: number;
  reassembler?: Partial<ReassemblerLimits>;
  /** Take version-0 bare messages (archivist's earlier wire) on these chats. Default true. */
  acceptBare?: boolean;
  /** Wall clock in ms: bundle signing times and the reassembler's ages. Default Date.now. */
  now?: () => number;
}

export type WireLayer = 'version' | 'decrypt' | 'payload' | 'unsigned' | 'segment' | 'envelope';

/** A message from the network refused at one layer of the wire. */
export class WireRejected extends Error {
  readonly layer: WireLayer;
  constructor(layer: WireLayer, message: string) {
    super(`${layer}: ${message}`);
    this.name = 'WireRejected';
    this.layer = layer;
  }
}

const NS_PER_MS = 1_000_000n;
const NS_PER_S = 1_000_000_000n;

interface Chat {
  chatId: string;
  key: Uint8Array;
}

export class PublicChatWire {
  readonly #identity: WireIdentity;
  readonly #chats = new Map<string, Chat>();
  readonly #segmentSize: number;
  readonly #reassembler: SegmentReassembler;
  readonly #acceptBare: boolean;
  readonly #now: () => number;
  /** Refusals by layer, for the host's counters. */
  readonly rejected: Record<WireLayer, number> = {
    version: 0,
    decrypt: 0,
    payload: 0,
    unsigned: 0,
    segment: 0,
    envelope: 0,
  };

  constructor(options: PublicChatWireOptions) {
    if (options.identity.privateKey.length !== 32)
      throw new RangeError('identity private key must be 32 bytes');
    this.#identity = options.identity;
    for (const chatId of options.chats) this.addChat(chatId);
    this.#segmentSize = segmentSizeFor(options.maxMessageSize ?? WAKU_MAX_MESSAGE_SIZE);
    this.#reassembler = new SegmentReassembler(options.reassembler);
    this.#acceptBare = options.acceptBare ?? true;
    this.#now = options.now ?? Date.now;
  }

  /** Starts speaking the envelope on one more chat (derives its key: tens of ms). */
  addChat(chatId: string): void {
    const contentTopic = contentTopicOf(chatTopic(chatId));
    if (!this.#chats.has(contentTopic)) this.#chats.set(contentTopic, { chatId, key: publicChatKey(chatId) });
  }

  handles(contentTopic: string): boolean {
    return this.#chats.has(contentTopic);
  }

  /** The Waku v2 messages that carry `msg` (its payload = the application message), in segment order. */
  async seal(msg: RelayMessage): Promise<WakuV2Message[]> {
    const chat = this.#chats.get(msg.contentTopic);
    if (!chat) throw new Error(`no public chat on content topic ${msg.contentTopic}`);
    const protocolMessage = buildPublicMessage({
      applicationMessage: msg.message.payload,
      identityKey: this.#identity.privateKey,
      installationId: this.#identity.installationId,
      timestampNs: BigInt(Math.floor(this.#now())) * NS_PER_MS,
    });
    const out: WakuV2Message[] = [];
    for (const data of segmentPayload(protocolMessage, this.#segmentSize)) {
      const plain = await symmetric.preCipher(data, this.#identity.privateKey);
      out.push({
        payload: await symmetric.encryptSymmetric(plain, chat.key),
        contentTopic: msg.contentTopic,
        version: 1,
        timestamp: BigInt(msg.message.timestamp) * NS_PER_S,
      });
    }
    return out;
  }

  /**
   * The RelayMessage a Waku v2 message on a public chat completes, undefined while its
   * message waits for more segments (or was completed before); throws WireRejected.
   */
  async open(pubsubTopic: string, w: WakuV2Message): Promise<RelayMessage | undefined> {
    try {
      return await this.#open(pubsubTopic, w);
    } catch (error) {
      if (error instanceof WireRejected) this.rejected[error.layer]++;
      throw error;
    }
  }

  async #open(pubsubTopic: string, w: WakuV2Message): Promise<RelayMessage | undefined> {
    const chat = this.#chats.get(w.contentTopic);
    if (!chat) throw new WireRejected('version', `no public chat on content topic ${w.contentTopic}`);
    const version = w.version ?? 0;
    if (version === 0 && this.#acceptBare) {
      const legacy = fromWakuV2(pubsubTopic, w);
      if (!legacy) throw new WireRejected('version', 'malformed version-0 message');
      return legacy;
    }
    if (version !== 1) throw new WireRejected('version', `version ${version} is not a symmetric payload`);
    let plain: Uint8Array;
    try {
      plain = await symmetric.decryptSymmetric(w.payload, chat.key);
    } catch {
      throw new WireRejected('decrypt', `does not decrypt with the key of ${chat.chatId}`);
    }
    let parsed: ReturnType<typeof parseWakuPayload>;
    try {
      parsed = parseWakuPayload(plain);
    } catch (error) {
      throw new WireRejected('payload', (error as WakuPayloadError).message);
    }
    // The reference drops a message without a signer at its transport layer.
    if (!parsed.signer) throw new WireRejected('unsigned', 'the payload is not signed');
    const nowMs = this.#now();
    let whole: Uint8Array;
    try {
      const outcome = this.#reassembler.accept(parsed.data, parsed.signer, nowMs);
      if (outcome.kind === 'incomplete' || outcome.kind === 'alreadyCompleted') return undefined;
      whole = outcome.payload;
    } catch (error) {
      if (!(error instanceof SegmentError)) throw error;
      throw new WireRejected('segment', error.message);
    }
    let applicationMessage: Uint8Array;
    try {
      applicationMessage = openPublicMessage(whole).applicationMessage;
    } catch (error) {
      if (!(error instanceof EnvelopeError)) throw error;
      throw new WireRejected('envelope', error.message);
    }
    const topic = v1TopicFromContentTopic(w.contentTopic) ?? chatTopic(chat.chatId);
    const ts = w.timestamp ?? 0n;
    const seconds = ts > 0n ? Number(ts / NS_PER_S) : 0;
    return {
      pubsubTopic,
      contentTopic: w.contentTopic,
      message: {
        sig: parsed.signer,
        timestamp: Number.isSafeInteger(seconds) ? seconds : 0,
        topic,
        payload: applicationMessage,
        padding: parsed.padding,
        hash: wakuMessageHash(pubsubTopic, w),
        thirdPartyId: '',
      },
    };
  }

  /** The reassembler's state, for tests and the host's counters. */
  get pending(): { messages: number; bytes: number } {
    return this.#reassembler.pending;
  }
}

/**
 * A stable installation id for an identity when the host names none. The reference draws a
 * random UUID per device; archivist derives one from the public key (UUID-shaped), so a node
 * keeps its id across restarts without storing it.
 */
export function installationIdFor(privateKey: Uint8Array): string {
  const h = hexDigits(keccak_256(publicKeyOf(privateKey)));
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}
