// The reference's public-message wire in the real adapter (adapters/real/public-chat-wire.ts):
// sealing and opening without a network, each layer's refusals, large messages in segments,
// and two archivist nodes exchanging a magnetlink over libp2p relay through the envelope.
import { fc, test as fcTest } from '@fast-check/vitest';
import { symmetric } from '@waku/message-encryption';
import { afterEach, describe, expect, it, test } from 'vitest';
import { Libp2pMessaging } from '../adapters/real/libp2p-messaging.ts';
import { installationIdFor, PublicChatWire, WireRejected } from '../adapters/real/public-chat-wire.ts';
import type { WakuV2Message } from '../adapters/real/waku-wire.ts';
import type { RelayMessage } from '../ports/messaging.ts';
import { publicChatKey } from '../proto/chat-key.ts';
import { decodeProtocolMessage, decodeSegmentMessage } from '../proto/envelope-codec.ts';
import { relayMessageOf } from '../proto/magnetlink-channel.ts';
import {
  communityIdOf,
  decodeMagnetlinkMessage,
  encodeMagnetlinkMessage,
  generateCommunityKey,
  publicKeyOf,
} from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import { parseWakuPayload } from '../proto/waku-payload.ts';

const enc = new TextEncoder();
const PUBSUB = '/waku/2/rs/16/32';
const communityKey = generateCommunityKey(enc.encode('wire community'));
const communityId = communityIdOf(communityKey);
const channel = magnetlinkChannelId(communityId);
const topic = chatTopic(channel);
const contentTopic = contentTopicOf(topic);
const identityKey = generateCommunityKey(enc.encode('wire node identity'));
const identity = { privateKey: identityKey, installationId: installationIdFor(identityKey) };
const clockMs = 1_767_225_600_123;
const magnet = `magnet:?xt=urn:btih:${'b'.repeat(40)}&dn=${communityId}`;
const amm = encodeMagnetlinkMessage(communityKey, clockMs, magnet);

function relay(payload: Uint8Array): RelayMessage {
  return {
    pubsubTopic: PUBSUB,
    contentTopic,
    message: relayMessageOf(topic, payload, Math.floor(clockMs / 1000)),
  };
}

async function openAll(wire: PublicChatWire, ws: WakuV2Message[]): Promise<(RelayMessage | undefined)[]> {
  const out = [];
  for (const w of ws) out.push(await wire.open(PUBSUB, w));
  return out;
}

describe('sealing and opening a public message', () => {
  test('the layers: version 1 on the chat topic, a signed padded payload, a ProtocolMessage with the AMM', async () => {
    const wire = new PublicChatWire({ identity, chats: [channel], now: () => clockMs });
    const [w, ...more] = await wire.seal(relay(amm));
    expect(more).toHaveLength(0);
    expect(w!.version).toBe(1);
    expect(w!.contentTopic).toBe(contentTopic);
    expect(w!.timestamp).toBe(BigInt(Math.floor(clockMs / 1000)) * 1_000_000_000n);
    const plain = await symmetric.decryptSymmetric(w!.payload, publicChatKey(channel));
    expect(plain.length % 256).toBe(0);
    const parsed = parseWakuPayload(plain);
    expect(parsed.signer).toEqual(publicKeyOf(identityKey));
    const pm = decodeProtocolMessage(parsed.data);
    expect(pm.installationId).toBe(identity.installationId);
    expect(pm.publicMessage).toEqual(amm);
    expect(pm.bundles[0]!.timestamp).toBe(BigInt(clockMs) * 1_000_000n);

    const got = await new PublicChatWire({
      identity: { ...identity, privateKey: generateCommunityKey(enc.encode('r')) },
      chats: [channel],
    }).open(PUBSUB, w!);
    expect(got!.message.payload).toEqual(amm);
    expect(got!.message.sig).toEqual(publicKeyOf(identityKey));
    expect(got!.message.padding).toEqual(parsed.padding);
    expect(got!.message.hash).toHaveLength(32);
    expect(decodeMagnetlinkMessage(got!.message.payload)).toEqual({
      signer: communityId,
      clock: clockMs,
      magnetUri: magnet,
    });
  });

  test('a message over 3/4 of the maximum size travels in segments, reassembled in any order', async () => {
    const wire = new PublicChatWire({ identity, chats: [channel], maxMessageSize: 1_000 });
    const big = encodeMagnetlinkMessage(communityKey, clockMs, `${magnet}&x=${'z'.repeat(3_000)}`);
    const sealed = await wire.seal(relay(big));
    expect(sealed.length).toBeGreaterThanOrEqual(5);
    const key = publicChatKey(channel);
    for (const [i, w] of sealed.entries()) {
      const s = decodeSegmentMessage(parseWakuPayload(await symmetric.decryptSymmetric(w.payload, key)).data);
      expect([s.index, s.segmentsCount]).toEqual([i, sealed.length]);
      expect(s.payload.length).toBeLessThanOrEqual(750);
    }
    const receiver = new PublicChatWire({ identity, chats: [channel], maxMessageSize: 1_000 });
    const opened = await openAll(receiver, [...sealed].reverse());
    expect(opened.slice(0, -1).every((o) => o === undefined)).toBe(true);
    expect(opened.at(-1)!.message.payload).toEqual(big);
    expect(receiver.pending).toEqual({ messages: 0, bytes: 0 });
  });

  test('refusals name their layer: another chat key, no signature, junk, an unknown version', async () => {
    const receiver = new PublicChatWire({ identity, chats: [channel], acceptBare: false });
    const [good] = await new PublicChatWire({ identity, chats: [channel] }).seal(relay(amm));
    const layer = async (w: WakuV2Message) => {
      try {
        await receiver.open(PUBSUB, w);
      } catch (error) {
        expect(error).toBeInstanceOf(WireRejected);
        return (error as WireRejected).layer;
      }
      return 'accepted';
    };
    const otherKey = publicChatKey('another chat');
    expect(
      await layer({
        ...good!,
        payload: await symmetric.encryptSymmetric(await symmetric.preCipher(amm, identityKey), otherKey),
      }),
    ).toBe('decrypt');
    const key = publicChatKey(channel);
    expect(
      await layer({
        ...good!,
        payload: await symmetric.encryptSymmetric(await symmetric.preCipher(amm), key),
      }),
    ).toBe('unsigned');
    expect(
      await layer({ ...good!, payload: await symmetric.encryptSymmetric(Uint8Array.of(3, 1), key) }),
    ).toBe('payload');
    expect(
      await layer({
        ...good!,
        payload: await symmetric.encryptSymmetric(
          await symmetric.preCipher(Uint8Array.of(9, 9, 9), identityKey),
          key,
        ),
      }),
    ).toBe('envelope');
    expect(await layer({ ...good!, version: 0 })).toBe('version');
    expect(await layer({ ...good!, version: 2 })).toBe('version');
    expect(receiver.rejected).toMatchObject({ decrypt: 1, unsigned: 1, payload: 1, envelope: 1, version: 2 });
  });

  test('a bare AMM inside a signed payload is not delivered; version 0 bare only with acceptBare', async () => {
    // The reference's segment layer reads a bare ApplicationMetadataMessage as a segment:
    // its signature (field 1) as the message hash and its type 43 (field 3) as the count,
    // and waits for 42 more segments forever. archivist refuses it at that layer.
    const key = publicChatKey(channel);
    const insideV1 = {
      payload: await symmetric.encryptSymmetric(await symmetric.preCipher(amm, identityKey), key),
      contentTopic,
      version: 1,
    };
    const strict = new PublicChatWire({ identity, chats: [channel], acceptBare: false });
    await expect(strict.open(PUBSUB, insideV1)).rejects.toMatchObject({ layer: 'segment' });
    expect(decodeSegmentMessage(amm)).toMatchObject({
      segmentsCount: 43,
      entireMessageHash: amm.subarray(2, 67),
    });
    const v0 = { payload: amm, contentTopic, version: 0, timestamp: 5_000_000_000n };
    await expect(strict.open(PUBSUB, v0)).rejects.toThrow(WireRejected);
    const lenient = new PublicChatWire({ identity, chats: [channel] });
    expect((await lenient.open(PUBSUB, v0))!.message.payload).toEqual(amm);
  });

  fcTest.prop([fc.uint8Array({ maxLength: 400 }), fc.constantFrom(0, 1, 2, undefined), fc.boolean()], {
    numRuns: 150,
  })('hostile Waku messages on the chat: only WireRejected', async (payload, version, encrypt) => {
    const wire = new PublicChatWire({ identity, chats: [channel] });
    const body = encrypt ? await symmetric.encryptSymmetric(payload, publicChatKey(channel)) : payload;
    try {
      await wire.open(PUBSUB, { payload: body, contentTopic, ...(version === undefined ? {} : { version }) });
    } catch (error) {
      expect(error).toBeInstanceOf(WireRejected);
    }
  });
});

describe('two archivist nodes over libp2p relay', () => {
  const nodes: Libp2pMessaging[] = [];
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.stop()));
  });

  it('a magnetlink sent through the envelope arrives as the AMM; junk on the channel is dropped and counted', async () => {
    const other = generateCommunityKey(enc.encode('second node'));
    const a = new Libp2pMessaging({ publicChats: { identity, chats: [channel] } });
    const b = new Libp2pMessaging({
      publicChats: {
        identity: { privateKey: other, installationId: installationIdFor(other) },
        chats: [channel],
        acceptBare: false,
      },
    });
    const plain = new Libp2pMessaging(); // speaks no envelope: its messages are version 0
    nodes.push(a, b, plain);
    await Promise.all([a.start(), b.start(), plain.start()]);
    const got: RelayMessage[] = [];
    b.subscribe(PUBSUB, [contentTopic], (m) => got.push(m));
    await a.connect(b.multiaddrs()[0]!);
    await plain.connect(b.multiaddrs()[0]!);
    for (const n of [a, plain]) await n.waitForRelayPeers(PUBSUB, 1, AbortSignal.timeout(15_000));
    await b.waitForRelayPeers(PUBSUB, 2, AbortSignal.timeout(15_000));
    await plain.publish(relay(amm)); // bare, version 0: b refuses it
    await a.publish(relay(amm));
    const deadline = Date.now() + 15_000;
    while ((got.length === 0 || b.dropped === 0) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(got).toHaveLength(1);
    expect(got[0]!.message.payload).toEqual(amm);
    expect(got[0]!.message.sig).toEqual(publicKeyOf(identityKey));
    expect(decodeMagnetlinkMessage(got[0]!.message.payload).signer).toBe(communityId);
    expect(b.dropped).toBe(1);
    expect(b.wire!.rejected.version).toBe(1);
  }, 30_000);
});
