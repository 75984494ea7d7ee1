// The Waku version-1 payload (26/WAKU2-PAYLOAD) and the public chat key
// (docs/reference-wire.md §4): the key against an independent PBKDF2, a payload written out
// by hand and read back, @waku/message-encryption's payloads checked against the reference's
// layout rules and decrypted with node:crypto, and hostile plaintexts.
import { createDecipheriv } from 'node:crypto';
import { fc, test as fcTest } from '@fast-check/vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { pbkdf2 } from '@noble/hashes/pbkdf2.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { symmetric } from '@waku/message-encryption';
import { describe, expect, test } from 'vitest';
import { CHAT_KEY_ITERATIONS, publicChatKey } from '../proto/chat-key.ts';
import { communityIdOf, generateCommunityKey, publicKeyOf } from '../proto/signing.ts';
import { magnetlinkChannelId } from '../proto/topics.ts';
import {
  PAYLOAD_SIGNATURE_LENGTH,
  parseWakuPayload,
  payloadPaddingLength,
  WakuPayloadError,
} from '../proto/waku-payload.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const enc = new TextEncoder();
const senderKey = generateCommunityKey(enc.encode('sender identity'));
const channel = magnetlinkChannelId(communityIdOf(generateCommunityKey(enc.encode('community'))));

describe('the public chat key', () => {
  test('PBKDF2-HMAC-SHA256(chat id, empty salt, 65,356 rounds, 32 bytes), checked with @noble/hashes', () => {
    expect(CHAT_KEY_ITERATIONS).toBe(65_356);
    const key = publicChatKey(channel);
    expect(key).toHaveLength(32);
    expect(hex(key)).toBe(
      hex(pbkdf2(sha256, enc.encode(channel), new Uint8Array(0), { c: 65_356, dkLen: 32 })),
    );
    // the (sic) iteration count matters: 65,536 gives another key
    expect(hex(key)).not.toBe(
      hex(pbkdf2(sha256, enc.encode(channel), new Uint8Array(0), { c: 65_536, dkLen: 32 })),
    );
    // a caller cannot spoil the remembered key
    key.fill(0);
    expect(publicChatKey(channel)).not.toEqual(key);
  });
});

/** A signed payload laid out by hand: flags ‖ size ‖ data ‖ padding ‖ signature(Keccak-256 of all before). */
function handPayload(data: Uint8Array, padding: Uint8Array): Uint8Array {
  const sizeField = data.length < 256 ? [data.length] : [data.length & 0xff, data.length >> 8];
  const body = Uint8Array.from([sizeField.length | 4, ...sizeField, ...data, ...padding]);
  const sig = secp256k1.sign(keccak_256(body), senderKey, { prehash: false, format: 'recovered' });
  // noble's recovered format is v ‖ r ‖ s; the wire wants r ‖ s ‖ v
  return Uint8Array.from([...body, ...sig.subarray(1), sig[0]!]);
}

describe('26/WAKU2-PAYLOAD cleartext', () => {
  test('a hand-made signed payload reads back: data, padding, signature, signer', () => {
    const data = enc.encode('hello');
    const padding = new Uint8Array(payloadPaddingLength(5, true)).fill(0x77);
    expect(padding).toHaveLength(256 - ((1 + 1 + 5 + 65) % 256));
    const plain = handPayload(data, padding);
    expect(plain.length % 256).toBe(0);
    const parsed = parseWakuPayload(plain);
    expect(parsed.data).toEqual(data);
    expect(parsed.padding).toEqual(padding);
    expect(parsed.signature).toEqual(plain.subarray(plain.length - 65));
    expect(hex(parsed.signer!)).toBe(hex(publicKeyOf(senderKey)));
  });

  test('a two-byte size field, and an unsigned payload with no size field (empty data, all padding)', () => {
    const data = new Uint8Array(300).fill(1);
    const parsed = parseWakuPayload(handPayload(data, new Uint8Array(payloadPaddingLength(300, true))));
    expect(parsed.data).toEqual(data);
    expect(parseWakuPayload(Uint8Array.of(0, 9, 9))).toEqual({
      data: new Uint8Array(0),
      padding: Uint8Array.of(9, 9),
    });
  });

  test("@waku/message-encryption's payloads follow the reference's layout and decrypt with node:crypto", async () => {
    const key = publicChatKey(channel);
    for (const n of [0, 1, 189, 190, 255, 256, 70_000]) {
      const data = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
      const plain = await symmetric.preCipher(data, senderKey);
      const sizeLength = n < 256 ? 1 : n < 65_536 ? 2 : 3;
      expect(plain[0]).toBe(4 | sizeLength);
      expect(plain.length).toBe(
        1 + sizeLength + n + payloadPaddingLength(n, true) + PAYLOAD_SIGNATURE_LENGTH,
      );
      expect(plain.length % 256).toBe(0);
      const parsed = parseWakuPayload(plain);
      expect(parsed.data).toEqual(data);
      expect(hex(parsed.signer!)).toBe(hex(publicKeyOf(senderKey)));
      // the library's own reader agrees
      const theirs = symmetric.postCipher(plain)!;
      expect(theirs.payload).toEqual(data);
      expect(hex(theirs.sig!.publicKey!)).toBe(hex(parsed.signer!));
      // AES-256-GCM, written ciphertext ‖ 16-byte tag ‖ 12-byte nonce
      const sealed = await symmetric.encryptSymmetric(plain, key);
      const iv = sealed.subarray(sealed.length - 12);
      const tag = sealed.subarray(sealed.length - 28, sealed.length - 12);
      const decipher = createDecipheriv('aes-256-gcm', key, iv);
      decipher.setAuthTag(tag);
      const opened = Buffer.concat([
        decipher.update(sealed.subarray(0, sealed.length - 28)),
        decipher.final(),
      ]);
      expect(hex(opened)).toBe(hex(plain));
    }
  });

  test('malformed cleartexts are refused with WakuPayloadError', () => {
    expect(() => parseWakuPayload(new Uint8Array(0))).toThrow(WakuPayloadError);
    expect(() => parseWakuPayload(Uint8Array.of(4 | 1, ...new Uint8Array(65)))).toThrow(/too short/);
    expect(() => parseWakuPayload(Uint8Array.of(1, 10, 1, 2))).toThrow(/10 bytes of data/);
    expect(() => parseWakuPayload(Uint8Array.of(3, 1))).toThrow(/size field/);
    const good = handPayload(enc.encode('x'), new Uint8Array(payloadPaddingLength(1, true)));
    const bad = good.slice();
    bad[bad.length - 1] = 9; // recovery id out of range
    expect(() => parseWakuPayload(bad)).toThrow(WakuPayloadError);
    // a flipped data byte still parses, but names another signer
    const flipped = good.slice();
    flipped[2] = flipped[2]! ^ 1;
    let signer: Uint8Array | undefined;
    try {
      signer = parseWakuPayload(flipped).signer;
    } catch (error) {
      expect(error).toBeInstanceOf(WakuPayloadError);
    }
    if (signer) expect(hex(signer)).not.toBe(hex(publicKeyOf(senderKey)));
  });

  fcTest.prop([fc.uint8Array({ maxLength: 400 })], { numRuns: 500 })(
    'hostile cleartexts: only WakuPayloadError',
    (junk) => {
      try {
        const p = parseWakuPayload(junk);
        expect(p.data.length + p.padding.length).toBeLessThanOrEqual(junk.length);
      } catch (error) {
        expect(error).toBeInstanceOf(WakuPayloadError);
      }
    },
  );
});
