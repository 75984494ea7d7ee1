// Interop with software no one here wrote: a js-waku relay (the Relay protocol of
// @waku/relay 0.0.14 with its message validator, and the @waku/sdk 0.0.27 decoder) receives
// archivist's magnetlink message over `/vac/waku/relay/2.0.0` and decodes it; the payload
// decodes as the community-signed ApplicationMetadataMessage of protocol.md §5.5.
//
// @waku/sdk 0.0.27 builds its own libp2p 1.9 node, whose transports cannot be combined with
// libp2p 3's (TCP 11 needs libp2p 3's components; only a 1.x websockets transport is
// installed). So js-waku's Relay is mounted on a separate libp2p 3 host in this process,
// reached over TCP like any other peer: message validation, content-topic routing and
// decoding are js-waku's code, the gossip underneath is @libp2p/gossipsub's.
import { createHash } from 'node:crypto';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, StrictNoSign } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import { tcp } from '@libp2p/tcp';
import { wakuRelay } from '@waku/relay';
import { createDecoder } from '@waku/sdk';
import { createLibp2p } from 'libp2p';
import { describe, expect, it } from 'vitest';
import { Libp2pMessaging, WAKU_RELAY_CODEC } from '../adapters/real/libp2p-messaging.ts';
import { fromWakuV2 } from '../adapters/real/waku-wire.ts';
import {
  communityIdOf,
  decodeMagnetlinkMessage,
  encodeMagnetlinkMessage,
  generateCommunityKey,
} from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';

interface JsWakuMessage {
  payload: Uint8Array;
  contentTopic: string;
  pubsubTopic: string;
  timestamp: Date | undefined;
  meta: Uint8Array | undefined;
  version: number;
}

describe('interop with a js-waku relay', () => {
  it("receives archivist's magnetlink message and decodes it", async () => {
    const key = generateCommunityKey(new Uint8Array(createHash('sha256').update('interop-waku').digest()));
    const communityId = communityIdOf(key);
    const pubsubTopic = `/waku/2/${communityId}`;
    const magnetTopic = chatTopic(magnetlinkChannelId(communityId));
    const contentTopic = contentTopicOf(magnetTopic);

    const host = await createLibp2p({
      start: false,
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: {
        identify: identify(),
        pubsub: gossipsub({
          globalSignaturePolicy: StrictNoSign,
          msgIdFn: (m) => new Uint8Array(createHash('sha256').update(m.data).digest()),
          fallbackToFloodsub: false,
        }),
      },
    });
    // js-waku's Relay checks `multicodecs`; gossipsub 17 speaks what `protocols` says.
    const pubsub = host.services.pubsub as unknown as { protocols: string[]; multicodecs: string[] };
    pubsub.protocols = [WAKU_RELAY_CODEC];
    pubsub.multicodecs = [WAKU_RELAY_CODEC];
    await host.start();
    const ours = new Libp2pMessaging();
    try {
      // js-waku's types are those of libp2p 1.x; the Relay object is used through this shape.
      const relay = wakuRelay([pubsubTopic])(host as never) as unknown as {
        subscribe(decoders: unknown[], callback: (m: JsWakuMessage) => void): () => void;
      };
      const received: JsWakuMessage[] = [];
      relay.subscribe([createDecoder(contentTopic, pubsubTopic)], (m: JsWakuMessage) => {
        received.push(m);
      });
      await ours.start();
      await ours.connect(host.getMultiaddrs()[0]!.toString());
      await ours.waitForRelayPeers(pubsubTopic, 1, AbortSignal.timeout(10_000));

      const magnet = `magnet:?xt=urn:btih:${'c'.repeat(40)}&dn=${communityId}`;
      const clockMs = 1_767_225_600_123;
      const payload = encodeMagnetlinkMessage(key, clockMs, magnet);
      const sent = {
        pubsubTopic,
        contentTopic,
        message: {
          sig: new Uint8Array(0),
          timestamp: Math.floor(clockMs / 1000),
          topic: magnetTopic,
          payload,
          padding: new Uint8Array(0),
          hash: new Uint8Array(createHash('sha256').update(payload).digest()),
          thirdPartyId: '',
        },
      };
      await ours.publish(sent);
      const deadline = Date.now() + 5000;
      while (received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(received).toHaveLength(1);
      const got = received[0]!;
      expect(got.pubsubTopic).toBe(pubsubTopic);
      expect(got.contentTopic).toBe(contentTopic);
      expect(got.timestamp?.getTime()).toBe(Math.floor(clockMs / 1000) * 1000);
      expect(Buffer.from(got.payload).equals(Buffer.from(payload))).toBe(true);
      const decoded = decodeMagnetlinkMessage(got.payload);
      expect(decoded).toEqual({ signer: communityId, clock: clockMs, magnetUri: magnet });
      // The archive-only fields ride in `meta`: what js-waku decoded maps back losslessly.
      expect(got.version).toBe(0);
      const back = fromWakuV2(got.pubsubTopic, {
        payload: got.payload,
        contentTopic: got.contentTopic,
        timestamp: BigInt(got.timestamp!.getTime()) * 1_000_000n,
        ...(got.meta ? { meta: got.meta } : {}),
      });
      expect(back).toEqual(sent);
    } finally {
      await ours.stop();
      await host.stop();
    }
  });
});
