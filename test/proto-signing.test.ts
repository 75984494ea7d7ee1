import { fc, test as fcTest } from '@fast-check/vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { describe, expect, test } from 'vitest';
import {
  DecodeError,
  decodeApplicationMetadataMessage,
  encodeApplicationMetadataMessage,
} from '../proto/codec.ts';
import {
  communityIdOf,
  decodeMagnetlinkMessage,
  encodeMagnetlinkMessage,
  generateCommunityKey,
  SignatureError,
  signApplicationMessage,
  signPayload,
} from '../proto/signing.ts';
import {
  chatTopic,
  contentTopicOf,
  fromHex,
  magnetlinkChannelId,
  toHex,
  topicOfContentTopic,
} from '../proto/topics.ts';

const key = generateCommunityKey(new TextEncoder().encode('community A'));
const communityId = communityIdOf(key);

describe('magnetlink message signing', () => {
  test('community id is 0x + the compressed public key', () => {
    expect(communityId).toMatch(/^0x0[23][0-9a-f]{64}$/);
    expect(communityId).toBe(toHex(secp256k1.getPublicKey(key, true)));
  });

  test('signature is r‖s‖v over Keccak-256 of the payload, verifiable independently', () => {
    const bytes = encodeMagnetlinkMessage(key, 1_700_000_000_123, 'magnet:?xt=urn:btih:00');
    const { signature, payload, type } = decodeApplicationMetadataMessage(bytes);
    expect(type).toBe(43);
    expect(signature.length).toBe(65);
    expect(signature[64]).toBeLessThan(2);
    const compact = signature.subarray(0, 64);
    expect(
      secp256k1.verify(compact, keccak_256(payload), secp256k1.getPublicKey(key), { prehash: false }),
    ).toBe(true);
  });

  fcTest.prop([fc.nat(), fc.string({ maxLength: 200 })])(
    'round trip recovers the community as signer',
    (clock, uri) => {
      const decoded = decodeMagnetlinkMessage(encodeMagnetlinkMessage(key, clock, uri));
      expect(decoded).toEqual({ signer: communityId, clock, magnetUri: uri });
    },
  );

  fcTest.prop([fc.uint8Array({ minLength: 1, maxLength: 32 }), fc.uint8Array({ maxLength: 300 })])(
    'signatures are byte for byte those of an independent RFC 6979 signer (noble)',
    (seed, payload) => {
      const k = generateCommunityKey(seed);
      const noble = secp256k1.sign(keccak_256(payload), k, { prehash: false, format: 'recovered' });
      // noble lays a recovered signature out as v‖r‖s; go-ethereum as r‖s‖v
      expect(signPayload(k, payload)).toEqual(Uint8Array.of(...noble.subarray(1), noble[0] as number));
    },
  );

  test('a message signed by another key recovers another signer', () => {
    const other = generateCommunityKey(new TextEncoder().encode('member'));
    const forged = encodeMagnetlinkMessage(other, 5, 'magnet:?xt=urn:btih:11');
    expect(decodeMagnetlinkMessage(forged).signer).not.toBe(communityId);
  });

  test('a tampered payload no longer recovers the community', () => {
    const bytes = encodeMagnetlinkMessage(key, 5, 'magnet:?xt=urn:btih:22');
    const message = decodeApplicationMetadataMessage(bytes);
    const payload = new Uint8Array(message.payload);
    payload[payload.length - 1]! ^= 1;
    const tampered = encodeApplicationMetadataMessage({ ...message, payload });
    expect(decodeMagnetlinkMessage(tampered).signer).not.toBe(communityId);
  });

  test('unsigned, badly signed, wrong type and garbage are refused with typed errors', () => {
    const payload = new Uint8Array([8, 1]);
    expect(() =>
      decodeMagnetlinkMessage(
        encodeApplicationMetadataMessage({ signature: new Uint8Array(0), payload, type: 43 }),
      ),
    ).toThrow(SignatureError);
    expect(() =>
      decodeMagnetlinkMessage(
        encodeApplicationMetadataMessage({ signature: new Uint8Array(64), payload, type: 43 }),
      ),
    ).toThrow(/65/);
    expect(() =>
      decodeMagnetlinkMessage(
        encodeApplicationMetadataMessage({ signature: new Uint8Array(65), payload, type: 43 }),
      ),
    ).toThrow(SignatureError);
    expect(() => decodeMagnetlinkMessage(signApplicationMessage(key, 1, payload))).toThrow(
      /not a magnetlink/,
    );
    expect(() => decodeMagnetlinkMessage(new Uint8Array([0x0a, 0x50]))).toThrow(DecodeError);
  });

  test('keys derived from a seed are deterministic', () => {
    expect(generateCommunityKey(new Uint8Array([1]))).toEqual(generateCommunityKey(new Uint8Array([1])));
    expect(generateCommunityKey(new Uint8Array([1]))).not.toEqual(generateCommunityKey(new Uint8Array([2])));
  });
});

describe('topics', () => {
  test('a chat topic is the first 4 bytes of Keccak-256 of the chat id', () => {
    // Keccak-256("") = c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470
    expect(toHex(chatTopic(''))).toBe('0xc5d24601');
    expect(contentTopicOf(chatTopic(''))).toBe('/waku/1/0xc5d24601/rfc26');
    expect(toHex(topicOfContentTopic('/waku/1/0xc5d24601/rfc26')!)).toBe('0xc5d24601');
    expect(topicOfContentTopic('/waku/2/default-content/proto')).toBeUndefined();
  });
  test('the magnetlink channel id', () => {
    expect(magnetlinkChannelId('0x02ab')).toBe('0x02ab-magnetlinks');
  });
  test('hex parsing refuses non-hex', () => {
    expect(fromHex('0x0aFF')).toEqual(new Uint8Array([10, 255]));
    expect(() => fromHex('0xabc')).toThrow(/not a hex string/);
    expect(() => fromHex('zz')).toThrow(/not a hex string/);
  });
});
