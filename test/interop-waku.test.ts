// Interop with software no one here wrote: a js-waku relay node, built by @waku/sdk 0.0.27's
// own createRelayNode (its libp2p 1.9 with websockets, noise, mplex and @waku/relay 0.0.14's
// gossipsub), dials archivist's Libp2pMessaging over websockets, subscribes to a community's
// magnetlink content topic and receives the magnetlink message archivist publishes, wrapped
// and signed as protocol.md §5.5; js-waku's decoder decodes it and the payload authenticates
// as the community's.
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
import { createDecoder, type DecodedMessage } from '@waku/sdk';
import { createRelayNode } from '@waku/sdk/relay';
import { describe, expect, it } from 'vitest';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { fromWakuV2 } from '../adapters/real/waku-wire.ts';
import { relayMessageOf } from '../proto/magnetlink-channel.ts';
import {
  communityIdOf,
  decodeMagnetlinkMessage,
  encodeMagnetlinkMessage,
  generateCommunityKey,
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

/** js-waku dials archivist, both join the shard's mesh, archivist dispatches, js-waku decodes. */
async function receivesTheMagnetlink(
  waku: Awaited<ReturnType<typeof createRelayNode>>,
  ours: Libp2pMessaging,
  { key, communityId, pubsubTopic, magnetTopic, contentTopic }: Community,
): Promise<void> {
  const received: DecodedMessage[] = [];
  await waku.relay!.subscribeWithUnsubscribe(
    [createDecoder(contentTopic, { clusterId: CLUSTER_ID, shard: SHARD })],
    (m) => {
      received.push(m);
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

  // What the control node's dispatch (machines/seeding.ts) publishes: the signed
  // magnetlink message on the magnetlink channel's v1 topic.
  const magnet = `magnet:?xt=urn:btih:${'c'.repeat(40)}&dn=${communityId}`;
  const clockMs = 1_767_225_600_123;
  const payload = encodeMagnetlinkMessage(key, clockMs, magnet);
  const sent = {
    pubsubTopic,
    contentTopic,
    message: relayMessageOf(magnetTopic, payload, Math.floor(clockMs / 1000)),
  };
  await ours.publish(sent);
  await until(() => received.length > 0, 5_000, 'js-waku to receive the magnetlink message');
  expect(received).toHaveLength(1);
  const got = received[0]!;
  expect(got.pubsubTopic).toBe(pubsubTopic);
  expect(got.contentTopic).toBe(contentTopic);
  expect(got.timestamp?.getTime()).toBe(Math.floor(clockMs / 1000) * 1000);
  expect(got.version).toBe(0);
  // The payload is the community-signed ApplicationMetadataMessage: the signature
  // recovers the community key, and the magnetlink inside is the one dispatched.
  expect(decodeMagnetlinkMessage(got.payload)).toEqual({
    signer: communityId,
    clock: clockMs,
    magnetUri: magnet,
  });
  // The archive-only fields ride in `meta`: what js-waku decoded maps back losslessly.
  const back = fromWakuV2(got.pubsubTopic, {
    payload: got.payload,
    contentTopic: got.contentTopic,
    timestamp: BigInt(got.timestamp!.getTime()) * 1_000_000n,
    ...(got.meta ? { meta: got.meta } : {}),
  });
  expect(back).toEqual(sent);
}

describe('interop with a js-waku relay node', () => {
  it('a @waku/sdk 0.0.27 relay node dials archivist over websockets and decodes its magnetlink message', async () => {
    const key = generateCommunityKey(new Uint8Array(createHash('sha256').update('interop-waku').digest()));
    const communityId = communityIdOf(key);
    const pubsubTopic = `/waku/2/rs/${CLUSTER_ID}/${SHARD}`;
    const magnetTopic = chatTopic(magnetlinkChannelId(communityId));
    const contentTopic = contentTopicOf(magnetTopic);

    const handles = trackHandles();
    try {
      const ours = new Libp2pMessaging({ websocketPort: 0 });
      let waku: Awaited<ReturnType<typeof createRelayNode>> | undefined;
      try {
        await ours.start();
        waku = await createRelayNode({
          networkConfig: { clusterId: CLUSTER_ID, shards: [SHARD] },
          libp2p: { hideWebSocketInfo: true, filterMultiaddrs: false },
        });
        await waku.start();
        await receivesTheMagnetlink(waku, ours, { key, communityId, pubsubTopic, magnetTopic, contentTopic });
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
