// Interop with software no one here wrote: a js-waku relay node, built by @waku/sdk 0.0.27's
// own createRelayNode (its libp2p 1.9 with websockets, noise, mplex and @waku/relay 0.0.14's
// gossipsub), dials archivist's Libp2pMessaging over websockets and both speak a community's
// magnetlink channel the way the reference client does (protocol.md §12,
// docs/reference-wire.md): js-waku's symmetric decoder (@waku/message-encryption), given the
// key derived from the channel's name, decrypts what archivist dispatches and finds a payload
// signed by archivist's identity holding the ProtocolMessage with the community-signed
// magnetlink; and a message js-waku encrypts and signs with its own encoder, around a
// ProtocolMessage written out by hand here, reaches archivist's subscriber as the magnetlink.
//
// js-waku 0.0.27 configures pubsub topics only as static shards (or autosharding), so the
// community here relays on the static shard `/waku/2/rs/16/32` (Status' cluster and its
// community shard), which archivist takes through `pubsubTopicOf`.
//
// Relay needs nothing else from archivist: js-waku 0.0.27 runs the metadata handshake
// (`/vac/waku/metadata/1.0.0`) only for filter, light push and store peers, and its ping
// keep-alive first fires after 5 minutes.
import { createHook } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { type DecodedMessage, symmetric } from '@waku/message-encryption';
import { createRelayNode } from '@waku/sdk/relay';
import { describe, expect, it } from 'vitest';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { installationIdFor } from '../adapters/real/public-chat-wire.ts';
import type { RelayMessage } from '../ports/messaging.ts';
import { publicChatKey } from '../proto/chat-key.ts';
import { relayMessageOf } from '../proto/magnetlink-channel.ts';
import { openPublicMessage } from '../proto/public-envelope.ts';
import {
  communityIdOf,
  decodeMagnetlinkMessage,
  encodeMagnetlinkMessage,
  generateCommunityKey,
  publicKeyOf,
} from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';

const CLUSTER_ID = 16;
const SHARD = 32;

/** Polls `done` every 20 ms; throws naming `what` after `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Timers and sockets created while tracking is on that are still alive: what would keep the
 * process running after both nodes stopped. (process.getActiveResourcesInfo() cannot tell
 * the nodes' handles from the test runner's, so they are followed from their creation.)
 */
function trackHandles() {
  const live = new Map<number, { type: string; resource: { hasRef?(): boolean } }>();
  let recording = true;
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (!recording) return;
      if (type === 'Timeout' || type === 'TCPWRAP' || type === 'TCPSERVERWRAP')
        live.set(id, { type, resource });
    },
    destroy(id) {
      live.delete(id);
    },
  }).enable();
  return {
    /** Kinds of the tracked handles that still keep the event loop alive. */
    alive: () => [...live.values()].filter((h) => h.resource.hasRef?.() ?? true).map((h) => h.type),
    /** Stops recording new handles (the checker's own polling timers); destroys still count. */
    pause: () => {
      recording = false;
    },
    stop: () => hook.disable(),
  };
}

interface Community {
  key: Uint8Array;
  communityId: string;
  pubsubTopic: string;
  magnetTopic: Uint8Array;
  contentTopic: string;
}

/** Protobuf length-delimited field, written out by hand (field numbers from the reference's .proto files). */
function field(no: number, value: Uint8Array): number[] {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n = Math.floor(n / 128);
    }
    out.push(n);
    return out;
  };
  return [...varint((no << 3) | 2), ...varint(value.length), ...value];
}

/**
 * The reference's public ProtocolMessage around `amm`, by hand and independently of
 * archivist's encoder: installation_id (2), one Bundle (3) {identity (1), signed_pre_keys (2)
 * {installation id -> {signed_pre_key (1), protocol_version (3) = 1}}, signature (4) over
 * Keccak-256(installation id ‖ pre-key ‖ "0" ‖ decimal timestamp), timestamp (5)},
 * public_message (102).
 */
function handMadeProtocolMessage(
  identityKey: Uint8Array,
  installationId: string,
  timestampNs: bigint,
  amm: Uint8Array,
) {
  const enc = new TextEncoder();
  const preKey = secp256k1.getPublicKey(secp256k1.utils.randomSecretKey(), true);
  const material = Uint8Array.from([
    ...enc.encode(installationId),
    ...preKey,
    ...enc.encode(`0${timestampNs}`),
  ]);
  const sig = secp256k1.sign(keccak_256(material), identityKey, { prehash: false, format: 'recovered' });
  const signature = Uint8Array.from([...sig.subarray(1), sig[0]!]); // r ‖ s ‖ v
  const preKeyMessage = Uint8Array.from([...field(1, preKey), 0x18, 1]);
  const entry = Uint8Array.from([...field(1, enc.encode(installationId)), ...field(2, preKeyMessage)]);
  let ts = timestampNs;
  const tsVarint: number[] = [];
  do {
    let b = Number(ts & 0x7fn);
    ts >>= 7n;
    if (ts > 0n) b |= 0x80;
    tsVarint.push(b);
  } while (ts > 0n);
  const bundle = Uint8Array.from([
    ...field(1, secp256k1.getPublicKey(identityKey, true)),
    ...field(2, entry),
    ...field(4, signature),
    0x28,
    ...tsVarint,
  ]);
  return Uint8Array.from([...field(2, enc.encode(installationId)), ...field(3, bundle), ...field(102, amm)]);
}

/** js-waku dials archivist, both join the shard's mesh, and magnetlinks go both ways through the envelope. */
async function speaksTheChannel(
  waku: Awaited<ReturnType<typeof createRelayNode>>,
  ours: Libp2pMessaging,
  ourIdentity: Uint8Array,
  { key, communityId, pubsubTopic, magnetTopic, contentTopic }: Community,
): Promise<void> {
  const symKey = publicChatKey(magnetlinkChannelId(communityId));
  const routingInfo = { pubsubTopic, clusterId: CLUSTER_ID, shardId: SHARD } as never;
  const received: DecodedMessage[] = [];
  await waku.relay!.subscribeWithUnsubscribe(
    [symmetric.createDecoder(contentTopic, routingInfo, symKey) as never],
    (m) => {
      received.push(m as unknown as DecodedMessage);
    },
  );
  const wsAddr = ours.multiaddrs().find((a) => a.includes('/ws/'));
  expect(wsAddr, `archivist listens on websockets: ${ours.multiaddrs().join(' ')}`).toBeDefined();
  await waku.dial(wsAddr!);
  const [conn, ...more] = waku.libp2p.getConnections();
  expect(more).toHaveLength(0);
  // js-waku's own stack: websockets, noise, mplex (archivist's first choice is yamux).
  expect(conn!.remoteAddr.toString()).toBe(wsAddr);
  expect(conn!.encryption).toBe('/noise');
  expect(conn!.multiplexer).toBe('/mplex/6.7.0');
  // archivist joins the shard inside waitForRelayPeers; then each side grafts the other.
  await ours.waitForRelayPeers(pubsubTopic, 1, AbortSignal.timeout(10_000));
  await until(
    () => waku.relay!.getMeshPeers(pubsubTopic).includes(ours.peerId),
    10_000,
    "archivist in js-waku's relay mesh",
  );

  // archivist -> js-waku: what the control node's dispatch (machines/seeding.ts) publishes.
  const magnet = `magnet:?xt=urn:btih:${'c'.repeat(40)}&dn=${communityId}`;
  const clockMs = 1_767_225_600_123;
  const amm = encodeMagnetlinkMessage(key, clockMs, magnet);
  await ours.publish({
    pubsubTopic,
    contentTopic,
    message: relayMessageOf(magnetTopic, amm, Math.floor(clockMs / 1000)),
  });
  await until(() => received.length > 0, 5_000, 'js-waku to receive the magnetlink message');
  expect(received).toHaveLength(1);
  const got = received[0]!;
  expect(got.pubsubTopic).toBe(pubsubTopic);
  expect(got.contentTopic).toBe(contentTopic);
  expect(got.version).toBe(1);
  expect(got.timestamp?.getTime()).toBe(Math.floor(clockMs / 1000) * 1000);
  // js-waku decrypted it with the chat-name key and recovered archivist's identity as signer
  expect(got.verifySignature(publicKeyOf(ourIdentity))).toBe(true);
  const opened = openPublicMessage(got.payload);
  expect(opened.kind).toBe('enveloped');
  expect(decodeMagnetlinkMessage(opened.applicationMessage)).toEqual({
    signer: communityId,
    clock: clockMs,
    magnetUri: magnet,
  });

  // js-waku -> archivist: js-waku's symmetric encoder, signed by js-waku's own identity.
  const theirIdentity = secp256k1.utils.randomSecretKey();
  const inbox: RelayMessage[] = [];
  ours.subscribe(pubsubTopic, [contentTopic], (m) => inbox.push(m));
  const theirAmm = encodeMagnetlinkMessage(key, clockMs + 1, `${magnet}&tr=x`);
  const encoder = symmetric.createEncoder({ contentTopic, routingInfo, symKey, sigPrivKey: theirIdentity });
  const sent = await waku.relay!.send(encoder as never, {
    payload: handMadeProtocolMessage(
      theirIdentity,
      'c0ffee00-0000-4000-8000-000000000001',
      1_767_225_601_000_000_000n,
      theirAmm,
    ),
  });
  expect(sent.failures).toEqual([]);
  await until(() => inbox.length > 0, 5_000, 'archivist to receive the js-waku message');
  expect(inbox).toHaveLength(1);
  expect(inbox[0]!.message.payload).toEqual(theirAmm);
  expect(inbox[0]!.message.sig).toEqual(secp256k1.getPublicKey(theirIdentity, false));
  expect(decodeMagnetlinkMessage(inbox[0]!.message.payload)).toMatchObject({
    signer: communityId,
    clock: clockMs + 1,
  });
  expect(ours.dropped).toBe(0);
}

describe('interop with a js-waku relay node', () => {
  it('a @waku/sdk 0.0.27 relay node and archivist exchange magnetlinks through the reference envelope', async () => {
    const key = generateCommunityKey(new Uint8Array(createHash('sha256').update('interop-waku').digest()));
    const communityId = communityIdOf(key);
    const pubsubTopic = `/waku/2/rs/${CLUSTER_ID}/${SHARD}`;
    const magnetTopic = chatTopic(magnetlinkChannelId(communityId));
    const contentTopic = contentTopicOf(magnetTopic);

    const handles = trackHandles();
    try {
      const ourIdentity = generateCommunityKey(
        new Uint8Array(createHash('sha256').update('interop-id').digest()),
      );
      const ours = new Libp2pMessaging({
        websocketPort: 0,
        publicChats: {
          identity: { privateKey: ourIdentity, installationId: installationIdFor(ourIdentity) },
          chats: [magnetlinkChannelId(communityId)],
        },
      });
      let waku: Awaited<ReturnType<typeof createRelayNode>> | undefined;
      try {
        await ours.start();
        waku = await createRelayNode({
          networkConfig: { clusterId: CLUSTER_ID, shards: [SHARD] },
          libp2p: { hideWebSocketInfo: true, filterMultiaddrs: false },
        });
        await waku.start();
        await speaksTheChannel(waku, ours, ourIdentity, {
          key,
          communityId,
          pubsubTopic,
          magnetTopic,
          contentTopic,
        });
      } finally {
        if (waku) {
          // js-waku 0.0.27's KeepAliveManager.stopAll() iterates its Maps with Object.values
          // and so clears nothing: a 5-minute ping interval per peer would outlive the node.
          const keepAlive = (
            waku.connectionManager as unknown as { keepAliveManager: { stop(peer: unknown): void } }
          ).keepAliveManager;
          for (const c of waku.libp2p.getConnections()) keepAlive.stop(c.remotePeer);
          await waku.stop();
        }
        await ours.stop();
        handles.pause();
      }
      // Both nodes are gone: no timer or socket of theirs keeps the process alive (the last
      // gossipsub heartbeat and libp2p address debounce run out within about a second).
      try {
        await until(() => handles.alive().length === 0, 5_000, 'the nodes to release their handles');
      } catch (err) {
        throw new Error(`${(err as Error).message}; still alive: ${handles.alive().join(', ')}`);
      }
    } finally {
      handles.stop();
    }
  }, 30_000);
});
