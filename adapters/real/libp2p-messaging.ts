// Messaging port over libp2p 3 + gossipsub speaking Waku relay (`/vac/waku/relay/2.0.0`),
// the way a Waku relay node does: no message signing (StrictNoSign), message id = SHA-256
// of the data, payloads encoded as Waku v2 messages (see waku-wire.ts). It interoperates
// with js-waku relay nodes. TCP + noise + yamux + identify; listens on 127.0.0.1 by default.
// With `websocketPort` it also listens on websockets and accepts mplex next to yamux: a
// js-waku 0.0.x node (browser or Node) dials only websockets and muxes only with mplex, so
// without both it cannot reach this node. yamux stays first, so archivist peers keep it.
//
// History: a node created with `store` runs archivist's store service (store-service.ts)
// on the Waku store v3 query protocol and keeps what it relays on `storeTopics`;
// queryStore() asks the store peers given in `storePeers` (multiaddrs), the first that
// answers wins, and pages through the results; a store node with no store peers is its own
// store and answers from it. whenStoreAvailable() resolves at once on a store node, else
// once a store peer can be dialled (tried again every STORE_DIAL_RETRY_MS).
//
// Public chats: with `publicChats`, messages on those chats' content topics (a community's
// magnetlink channel) are enveloped as the reference client sends a public message and
// opened on receipt (public-chat-wire.ts); subscribers and store queries see the
// application message, as on every other topic they see the payload.

import { createHash, randomUUID } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, StrictNoSign, TopicValidatorResult } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { Stream } from '@libp2p/interface';
import { mplex } from '@libp2p/mplex';
import { tcp } from '@libp2p/tcp';
import { webSockets } from '@libp2p/websockets';
import { multiaddr } from '@multiformats/multiaddr';
import { proto_message, proto_store } from '@waku/proto';
import { createLibp2p } from 'libp2p';
import type { Clock } from '../../ports/clock.ts';
import type { Messaging, RelayMessage, StoreQuery, Unsubscribe } from '../../ports/messaging.ts';
import { PublicChatWire, type PublicChatWireOptions } from './public-chat-wire.ts';
import {
  answerFrame,
  lengthPrefixed,
  MAX_FRAME,
  MAX_PAGE,
  readFrame,
  STORE_QUERY_CODEC,
  StoreService,
} from './store-service.ts';
import { decodeWakuV2, encodeWakuV2, fromWakuV2, type WakuV2Message } from './waku-wire.ts';

export const WAKU_RELAY_CODEC = '/vac/waku/relay/2.0.0';

export interface Libp2pMessagingOptions {
  /** Listen address; default 127.0.0.1. */
  host?: string;
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /**
   * Also listen on websockets (`/ip4/<host>/tcp/<port>/ws`) on this port, 0 = a free one;
   * undefined (default) = TCP only. Needed for js-waku peers, which dial websockets only.
   */
  websocketPort?: number;
  /** Multiaddrs of relay peers to dial at start (and again by connect()). */
  peers?: string[];
  /** Multiaddrs of store nodes that queryStore() asks, in order. */
  storePeers?: string[];
  /** Run the store service on this node. */
  store?: { clock: Clock; retentionSeconds: number; capacity?: number };
  /** Pubsub topics this node relays (and stores, when it runs the store service) from the start. */
  storeTopics?: string[];
  /** Timeout of one store query, ms; default 10 s. */
  storeTimeoutMs?: number;
  /**
   * When set, each new subscription first receives what the store holds on its topics for
   * the last this-many seconds (a Waku client's history sync on start), then live messages;
   * a message is delivered to a subscription once. Needs `storePeers`.
   */
  historyOnSubscribeSeconds?: number;
  /** Clock for the history window (default: wall clock). */
  clock?: Clock;
  /** Public chats spoken with the reference's envelope, and the identity that signs it. */
  publicChats?: PublicChatWireOptions;
  /** IPs of this machine's own nodes, spared same-IP defences (default LOCAL_PEER_IPS). */
  localPeerIps?: string[];
}

export class StoreUnavailable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnavailable';
  }
}

type Node = Awaited<ReturnType<typeof createNode>>;

/**
 * Addresses whose peers are this machine's own nodes (default: the loopback). Two defences
 * meant for strangers misfire on them, since every such peer has the same IP:
 * - gossipsub's IP colocation penalty (peer score P6): past 10 peer ids on one IP each
 *   peer's score falls quadratically, and a peer that disconnects keeps its (zero) score,
 *   IP included, for `retainScore` (an hour). After ten nodes had come and gone on
 *   127.0.0.1, every new one scored below the gossip and graft thresholds and never joined
 *   the mesh. The IPs here are on the penalty's whitelist.
 * - libp2p's inbound connection rate limit, 5 a second per remote host: nodes started in
 *   quick succession were reset while connecting. These networks are on the connection
 *   manager's allow list (which also spares them its pruning).
 */
export const LOCAL_PEER_IPS = ['127.0.0.1', '::1'];

function netOf(ip: string): string {
  return ip.includes(':') ? `/ip6/${ip}/ipcidr/128` : `/ip4/${ip}/ipcidr/32`;
}

function createNode(host: string, port: number, websocketPort: number | undefined, localPeerIps: string[]) {
  const listen = [`/ip4/${host}/tcp/${port}`];
  if (websocketPort !== undefined) listen.push(`/ip4/${host}/tcp/${websocketPort}/ws`);
  return createLibp2p({
    start: false,
    addresses: { listen },
    transports: websocketPort === undefined ? [tcp()] : [tcp(), webSockets()],
    connectionEncrypters: [noise()],
    // Muxers are negotiated in this order; mplex only matters to js-waku (see the header).
    streamMuxers: [yamux(), mplex()],
    connectionManager: { allow: localPeerIps.map(netOf) },
    // A connection busy delivering a flood is alive; its ping answer just waits behind the
    // flood's bytes on the same TCP stream (head of line). libp2p's monitor aborted such a
    // connection after 5 s without a pong, mid-flood: the links after that point, and the
    // valid one the same peer sent next, never arrived. Dead peers are still seen by TCP
    // (FIN/RST, keep-alive); the monitor keeps measuring round trips.
    connectionMonitor: { abortConnectionOnPingFailure: false },
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: StrictNoSign,
        msgIdFn: (msg) => new Uint8Array(createHash('sha256').update(msg.data).digest()),
        allowPublishToZeroTopicPeers: true,
        emitSelf: false,
        fallbackToFloodsub: false,
        heartbeatInterval: 500,
        scoreParams: { IPColocationFactorWhitelist: new Set(localPeerIps) },
      }),
    },
  });
}

interface Subscription {
  contentTopics: Set<string>;
  handler: (msg: RelayMessage) => void;
  /** Keys of messages delivered while a history replay may still bring them again. */
  seen?: Set<string>;
}

const SEEN_CAP = 10_000;

function messageKey(msg: RelayMessage): string {
  const m = msg.message;
  if (m.hash.length > 0) return Buffer.from(m.hash).toString('hex');
  return createHash('sha256')
    .update(m.payload)
    .update(String(m.timestamp))
    .update(msg.contentTopic)
    .digest('hex');
}

function deliverTo(sub: Subscription, msg: RelayMessage): void {
  if (sub.seen) {
    const k = messageKey(msg);
    if (sub.seen.has(k)) return;
    if (sub.seen.size < SEEN_CAP) sub.seen.add(k);
  }
  try {
    sub.handler(msg);
  } catch {
    // A handler's failure is its own; other subscribers still get the message.
  }
}

/** Wait between rounds of dials to the store peers while none answers (whenStoreAvailable). */
const STORE_DIAL_RETRY_MS = 2_000;

export class Libp2pMessaging implements Messaging {
  readonly #options: Libp2pMessagingOptions;
  #node: Node | undefined;
  readonly #subs = new Map<string, Set<Subscription>>();
  readonly #relayTopics = new Set<string>();
  readonly store: StoreService | undefined;
  /** The envelope of the public chats, when configured. */
  readonly wire: PublicChatWire | undefined;
  /** Messages from the network that failed to decode or open (ignored, counted). */
  dropped = 0;
  /** Public-chat messages are opened one after another, so they reach subscribers in arrival order. */
  #inbound: Promise<void> = Promise.resolve();
  /** History syncs on subscribe that found no store node. */
  historyFailures = 0;

  constructor(options: Libp2pMessagingOptions = {}) {
    this.#options = options;
    this.store = options.store ? new StoreService(options.store) : undefined;
    this.wire = options.publicChats ? new PublicChatWire(options.publicChats) : undefined;
  }

  get running(): boolean {
    return this.#node !== undefined;
  }

  #requireNode(): Node {
    if (!this.#node) throw new Error('messaging node is not started');
    return this.#node;
  }

  get peerId(): string {
    return this.#requireNode().peerId.toString();
  }

  /** Dialable addresses (with /p2p/<peer id>). */
  multiaddrs(): string[] {
    return this.#requireNode()
      .getMultiaddrs()
      .map((m) => m.toString());
  }

  async start(): Promise<void> {
    if (this.#node) return;
    const { host = '127.0.0.1', port = 0, websocketPort } = this.#options;
    if (
      websocketPort !== undefined &&
      (!Number.isInteger(websocketPort) || websocketPort < 0 || websocketPort > 65_535)
    )
      throw new RangeError(`websocketPort must be an integer port 0..65535, got ${websocketPort}`);
    const node = await createNode(host, port, websocketPort, this.#options.localPeerIps ?? LOCAL_PEER_IPS);
    // The init option is ignored: the relay codec goes on the instance before start.
    (node.services.pubsub as unknown as { protocols: string[] }).protocols = [WAKU_RELAY_CODEC];
    node.services.pubsub.addEventListener('message', (evt) => {
      const { topic, data } = evt.detail;
      this.#onRelay(topic, data);
    });
    if (this.store) {
      const store = this.store;
      await node.handle(STORE_QUERY_CODEC, (stream) => this.#serveStore(store, stream));
    }
    await node.start();
    this.#node = node;
    for (const t of this.#options.storeTopics ?? []) this.#relay(t);
    for (const p of this.#options.peers ?? []) await this.connect(p);
  }

  async stop(): Promise<void> {
    const node = this.#node;
    if (!node) return;
    this.#node = undefined;
    await node.stop();
  }

  /** Dials a peer by multiaddr. */
  async connect(addr: string, signal?: AbortSignal): Promise<void> {
    await this.#requireNode().dial(multiaddr(addr), signal ? { signal } : {});
  }

  /**
   * Peers this node relays `pubsubTopic` with: relay forwards only along mesh links, so a
   * peer counts once it is grafted into this node's mesh for the topic, not merely known to
   * be subscribed.
   */
  relayPeerCount(pubsubTopic: string): number {
    const pubsub = this.#requireNode().services.pubsub as Node['services']['pubsub'] & {
      getMeshPeers?(t: string): string[];
    };
    return pubsub.getMeshPeers?.(pubsubTopic).length ?? pubsub.getSubscribers(pubsubTopic).length;
  }

  /** Resolves once at least `n` peers relay `pubsubTopic` (see relayPeerCount). */
  async waitForRelayPeers(pubsubTopic: string, n: number, signal?: AbortSignal): Promise<void> {
    this.#requireNode();
    this.#relay(pubsubTopic);
    const peers = () => this.relayPeerCount(pubsubTopic);
    while (peers() < n) {
      signal?.throwIfAborted();
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  #relay(pubsubTopic: string): void {
    if (this.#relayTopics.has(pubsubTopic)) return;
    const pubsub = this.#requireNode().services.pubsub;
    this.#relayTopics.add(pubsubTopic);
    // Waku relay validation: only decodable Waku messages with a content topic and a payload
    // are accepted and forwarded.
    pubsub.topicValidators.set(pubsubTopic, (_peer, message) => {
      const w = decodeWakuV2(message.data);
      return w && fromWakuV2(pubsubTopic, w) ? TopicValidatorResult.Accept : TopicValidatorResult.Reject;
    });
    pubsub.subscribe(pubsubTopic);
  }

  #onRelay(pubsubTopic: string, data: Uint8Array): void {
    const w = decodeWakuV2(data);
    const msg = w ? fromWakuV2(pubsubTopic, w) : undefined;
    if (!w || !msg) {
      this.dropped++;
      return;
    }
    if (this.store && (this.#options.storeTopics ?? []).includes(pubsubTopic))
      this.store.record(pubsubTopic, w);
    const wire = this.wire;
    if (wire?.handles(w.contentTopic)) {
      this.#inbound = this.#inbound.then(async () => {
        const opened = await this.#open(wire, pubsubTopic, w);
        if (opened) this.#deliver(opened);
      });
      return;
    }
    this.#deliver(msg);
  }

  /** A public-chat message opened, or undefined (incomplete, or refused and counted). */
  async #open(
    wire: PublicChatWire,
    pubsubTopic: string,
    w: WakuV2Message,
  ): Promise<RelayMessage | undefined> {
    try {
      return await wire.open(pubsubTopic, w);
    } catch {
      this.dropped++;
      return undefined;
    }
  }

  #deliver(msg: RelayMessage): void {
    for (const sub of this.#subs.get(msg.pubsubTopic) ?? []) {
      if (sub.contentTopics.size > 0 && !sub.contentTopics.has(msg.contentTopic)) continue;
      deliverTo(sub, msg);
    }
  }

  /** History sync of one new subscription (see historyOnSubscribeSeconds). */
  async #replay(pubsubTopic: string, sub: Subscription, seconds: number): Promise<void> {
    const now = Math.floor((this.#options.clock?.now() ?? Date.now()) / 1000);
    let found: RelayMessage[];
    try {
      found = await this.queryStore({
        pubsubTopic,
        contentTopics: [...sub.contentTopics],
        from: now - seconds,
        to: now + 60,
      });
    } catch {
      this.historyFailures++;
      return;
    }
    if (!this.#subs.get(pubsubTopic)?.has(sub)) return;
    for (const msg of found) deliverTo(sub, msg);
  }

  async publish(msg: RelayMessage): Promise<void> {
    const node = this.#requireNode();
    this.#relay(msg.pubsubTopic);
    const sealed = this.wire?.handles(msg.contentTopic) ? await this.wire.seal(msg) : undefined;
    const all = sealed ? sealed.map((w) => proto_message.WakuMessage.encode(w)) : [encodeWakuV2(msg)];
    for (const bytes of all) {
      if (this.store && (this.#options.storeTopics ?? []).includes(msg.pubsubTopic)) {
        const w = decodeWakuV2(bytes);
        if (w) this.store.record(msg.pubsubTopic, w);
      }
      await node.services.pubsub.publish(msg.pubsubTopic, bytes);
    }
  }

  subscribe(pubsubTopic: string, contentTopics: string[], handler: (msg: RelayMessage) => void): Unsubscribe {
    this.#relay(pubsubTopic);
    const sub: Subscription = { contentTopics: new Set(contentTopics), handler };
    let set = this.#subs.get(pubsubTopic);
    if (!set) {
      set = new Set();
      this.#subs.set(pubsubTopic, set);
    }
    set.add(sub);
    const history = this.#options.historyOnSubscribeSeconds;
    if (history !== undefined && history > 0) {
      sub.seen = new Set();
      void this.#replay(pubsubTopic, sub, history);
    }
    return () => {
      set.delete(sub);
    };
  }

  async whenStoreAvailable(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    if (this.store) return;
    const peers = this.#options.storePeers ?? [];
    for (;;) {
      signal?.throwIfAborted();
      const node = this.#requireNode();
      for (const peer of peers) {
        try {
          await node.dial(multiaddr(peer), signal ? { signal } : {});
          return;
        } catch {
          signal?.throwIfAborted();
        }
      }
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, STORE_DIAL_RETRY_MS);
        signal?.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(signal.reason);
          },
          { once: true },
        );
      });
    }
  }

  async queryStore(query: StoreQuery): Promise<RelayMessage[]> {
    const node = this.#requireNode();
    const peers = this.#options.storePeers ?? [];
    if (peers.length === 0 && this.store) {
      const store = this.store;
      return this.#pages(query, async (request) => store.query(request));
    }
    if (peers.length === 0) throw new StoreUnavailable('no store node configured');
    const errors: string[] = [];
    for (const peer of peers) {
      try {
        return await this.#queryOne(node, peer, query);
      } catch (err) {
        errors.push(`${peer}: ${(err as Error).message}`);
      }
    }
    throw new StoreUnavailable(`no store node answered (${errors.join('; ')})`);
  }

  #queryOne(node: Node, peer: string, query: StoreQuery): Promise<RelayMessage[]> {
    const signal = AbortSignal.timeout(this.#options.storeTimeoutMs ?? 10_000);
    return this.#pages(query, async (request) => {
      const stream = await node.dialProtocol(multiaddr(peer), STORE_QUERY_CODEC, { signal });
      let frame: Uint8Array | undefined;
      try {
        stream.send(lengthPrefixed(proto_store.StoreQueryRequest.encode(request)));
        await stream.close({ signal });
        frame = await readFrame(stream, MAX_FRAME);
      } finally {
        if (stream.status === 'open') stream.abort(new Error('done'));
      }
      if (!frame) throw new Error('store node closed the stream without an answer');
      try {
        return proto_store.StoreQueryResponse.decode(frame);
      } catch {
        throw new Error('store node sent an undecodable answer');
      }
    });
  }

  /** Pages through a store's answers to `query`, one `ask` per page. */
  async #pages(
    query: StoreQuery,
    ask: (request: proto_store.StoreQueryRequest) => Promise<proto_store.StoreQueryResponse>,
  ): Promise<RelayMessage[]> {
    const out: RelayMessage[] = [];
    let cursor: Uint8Array | undefined;
    for (let page = 0; page < 10_000; page++) {
      const request: proto_store.StoreQueryRequest = {
        requestId: randomUUID(),
        includeData: true,
        pubsubTopic: query.pubsubTopic,
        contentTopics: query.contentTopics,
        timeStart: BigInt(query.from) * 1_000_000_000n,
        timeEnd: BigInt(query.to) * 1_000_000_000n - 1n,
        messageHashes: [],
        paginationForward: true,
        paginationLimit: BigInt(MAX_PAGE),
        ...(cursor ? { paginationCursor: cursor } : {}),
      };
      const response = await ask(request);
      if (response.statusCode !== 200)
        throw new Error(`store node answered ${response.statusCode} ${response.statusDesc ?? ''}`);
      for (const kv of response.messages) {
        if (!kv.message) continue;
        const pubsubTopic = kv.pubsubTopic ?? query.pubsubTopic;
        const msg = this.wire?.handles(kv.message.contentTopic)
          ? await this.#open(this.wire, pubsubTopic, kv.message)
          : fromWakuV2(pubsubTopic, kv.message);
        if (msg && msg.message.timestamp >= query.from && msg.message.timestamp < query.to) out.push(msg);
      }
      if (!response.paginationCursor || response.paginationCursor.length === 0) return out;
      cursor = response.paginationCursor;
    }
    return out;
  }

  async #serveStore(store: StoreService, stream: Stream): Promise<void> {
    try {
      stream.send(answerFrame(store, await readFrame(stream, MAX_FRAME)));
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  }
}
