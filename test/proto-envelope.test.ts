// The encryption layer's envelope of a public message (docs/reference-wire.md §2): the
// ProtocolMessage / Bundle / SignedPreKey / SegmentMessage bytes against vectors written out
// by hand from the reference's .proto field numbers, the bundle's signature material and its
// signature checked with an independent curve library, and opening what was built.
import { fc, test as fcTest } from '@fast-check/vitest';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { describe, expect, test } from 'vitest';
import { DecodeError } from '../proto/codec.ts';
import {
  type Bundle,
  decodeBundle,
  decodeProtocolMessage,
  decodeSegmentMessage,
  encodeBundle,
  encodeProtocolMessage,
  encodeSegmentMessage,
} from '../proto/envelope-codec.ts';
import {
  bundleSignatureMaterial,
  createBundle,
  ENCRYPTION_PROTOCOL_VERSION,
  signedPreKeyFor,
  verifyBundle,
} from '../proto/identity-bundle.ts';
import { buildPublicMessage, EnvelopeError, openPublicMessage } from '../proto/public-envelope.ts';
import {
  encodeMagnetlinkMessage,
  generateCommunityKey,
  publicKeyOf,
  SignatureError,
} from '../proto/signing.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (...parts: (number[] | Uint8Array | string)[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...Buffer.from(p, 'utf8')] : [...p])));
/** Unsigned LEB128 of a non-negative bigint (an independent varint writer for the vectors). */
function varint(n: bigint): number[] {
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n > 0n) b |= 0x80;
    out.push(b);
  } while (n > 0n);
  return out;
}
const fill = (n: number, v: number) => new Uint8Array(n).fill(v);

const identityKey = generateCommunityKey(new TextEncoder().encode('node identity'));
const installationId = '3f2a7c10-5b8e-4d2f-9a61-0c7e4b9d1a22';
const T = 1_767_225_600_123_456_789n;

describe('SegmentMessage (segment_message.proto)', () => {
  test('fields 1-4 by hand; index 0 and the parity fields at 0 are not written', () => {
    const hash = fill(32, 0xaa);
    expect(
      hex(
        encodeSegmentMessage({
          entireMessageHash: hash,
          index: 1,
          segmentsCount: 3,
          payload: bytes('abc'),
          paritySegmentIndex: 0,
          paritySegmentsCount: 0,
        }),
      ),
    ).toBe(hex(bytes([0x0a, 32], hash, [0x10, 1, 0x18, 3, 0x22, 3], 'abc')));
    expect(
      hex(
        encodeSegmentMessage({
          entireMessageHash: hash,
          index: 0,
          segmentsCount: 2,
          payload: bytes('x'),
          paritySegmentIndex: 0,
          paritySegmentsCount: 0,
        }),
      ),
    ).toBe(hex(bytes([0x0a, 32], hash, [0x18, 2, 0x22, 1], 'x')));
  });

  test('a parity segment writes fields 5 and 6 and no count', () => {
    const s = {
      entireMessageHash: fill(32, 1),
      index: 0,
      segmentsCount: 0,
      payload: bytes('p'),
      paritySegmentIndex: 1,
      paritySegmentsCount: 2,
    };
    const encoded = encodeSegmentMessage(s);
    expect(hex(encoded)).toBe(hex(bytes([0x0a, 32], fill(32, 1), [0x22, 1], 'p', [0x28, 1, 0x30, 2])));
    expect(decodeSegmentMessage(encoded)).toEqual(s);
  });

  test('a field with another wire type is skipped as unknown, as the reference decoder does', () => {
    // field 2 (index) sent as bytes, field 3 (segments_count) sent as bytes: both unknown
    const odd = bytes([0x12, 1, 7, 0x1a, 1, 9]);
    expect(decodeSegmentMessage(odd)).toMatchObject({ index: 0, segmentsCount: 0 });
  });
});

describe('ProtocolMessage, Bundle, SignedPreKey (protocol_message.proto)', () => {
  const spk = fill(33, 0x03);
  const identity = fill(33, 0x02);
  const signature = fill(65, 0x5e);
  const bundle: Bundle = {
    identity,
    signedPreKeys: new Map([['ab', { signedPreKey: spk, version: 0, protocolVersion: 1 }]]),
    signature,
    timestamp: 1_700_000_000_000_000_000n,
  };
  // SignedPreKey {1: key, 3: protocol_version}; version 0 left out
  const spkBytes = bytes([0x0a, 33], spk, [0x18, 1]);
  // map entry {1: "ab", 2: SignedPreKey}
  const entry = bytes([0x0a, 2], 'ab', [0x12, spkBytes.length], spkBytes);
  const bundleBytes = bytes(
    [0x0a, 33],
    identity,
    [0x12, entry.length],
    entry,
    [0x22, 65],
    signature,
    [0x28],
    varint(1_700_000_000_000_000_000n),
  );

  test('Bundle by hand: identity 1, signed_pre_keys 2 (map entries), signature 4, timestamp 5 (int64 varint)', () => {
    expect(hex(encodeBundle(bundle))).toBe(hex(bundleBytes));
    expect(decodeBundle(bundleBytes)).toEqual(bundle);
  });

  test('ProtocolMessage by hand: installation_id 2, bundles 3, public_message 102 (tag b2 06)', () => {
    const m = { installationId: 'ab', bundles: [bundle], publicMessage: bytes('pm') };
    const expected = bytes(
      [0x12, 2],
      'ab',
      [0x1a],
      varint(BigInt(bundleBytes.length)),
      bundleBytes,
      [0xb2, 0x06, 2],
      'pm',
    );
    expect(hex(encodeProtocolMessage(m))).toBe(hex(expected));
    expect(decodeProtocolMessage(expected)).toEqual({ ...m, hasEncryptedMessage: false });
  });

  test('a negative int64 timestamp is a 10-byte varint and reads back', () => {
    const b = { ...bundle, timestamp: -5n };
    const decoded = decodeBundle(encodeBundle(b));
    expect(decoded.timestamp).toBe(-5n);
    expect(hex(encodeBundle(b))).toContain(`28${hex(Uint8Array.from(varint((1n << 64n) - 5n)))}`);
  });

  test('strings must be UTF-8, as proto3 requires', () => {
    expect(() => decodeProtocolMessage(bytes([0x12, 1, 0xff]))).toThrow(DecodeError);
  });

  test('field 101 (one-to-one) is noticed but not a public message', () => {
    const m = decodeProtocolMessage(bytes([0xaa, 0x06, 0]));
    expect(m.hasEncryptedMessage).toBe(true);
    expect(m.publicMessage).toHaveLength(0);
  });
});

describe('the identity bundle', () => {
  test('signature material: ids in byte order, id ‖ pre-key ‖ decimal version, then the timestamp', () => {
    const a = fill(33, 0xa1);
    const b = fill(33, 0xb2);
    const material = bundleSignatureMaterial({
      signedPreKeys: new Map([
        ['b', { signedPreKey: b, version: 2, protocolVersion: 1 }],
        ['a', { signedPreKey: a, version: 0, protocolVersion: 1 }],
      ]),
      timestamp: 1_700_000_000_000_000_000n,
    });
    expect(hex(material)).toBe(hex(bytes('a', a, '0', 'b', b, '2', '1700000000000000000')));
    // timestamp 0 is left out (the reference's backward compatibility)
    const noTime = bundleSignatureMaterial({
      signedPreKeys: new Map([['a', { signedPreKey: a, version: 0, protocolVersion: 1 }]]),
      timestamp: 0n,
    });
    expect(hex(noTime)).toBe(hex(bytes('a', a, '0')));
  });

  test('createBundle: compressed identity, one pre-key of protocol version 1, signed by the identity (checked with noble)', () => {
    const b = createBundle({ identityKey, installationId, timestampNs: T });
    expect(hex(b.identity)).toBe(hex(secp256k1.getPublicKey(identityKey, true)));
    expect([...b.signedPreKeys.keys()]).toEqual([installationId]);
    const k = b.signedPreKeys.get(installationId)!;
    expect(k).toEqual({
      signedPreKey: signedPreKeyFor(identityKey),
      version: 0,
      protocolVersion: ENCRYPTION_PROTOCOL_VERSION,
    });
    expect(secp256k1.Point.fromBytes(k.signedPreKey)).toBeDefined(); // a valid curve point
    expect(b.timestamp).toBe(T);
    const digest = keccak_256(bytes(installationId, k.signedPreKey, '0', T.toString()));
    const recovered = secp256k1.Signature.fromBytes(b.signature.subarray(0, 64), 'compact')
      .addRecoveryBit(b.signature[64]!)
      .recoverPublicKey(digest)
      .toBytes(false);
    expect(hex(recovered)).toBe(hex(publicKeyOf(identityKey)));
    // libsecp256k1 and noble agree on the deterministic (RFC 6979) signature itself
    expect(hex(b.signature.subarray(0, 64))).toBe(
      hex(secp256k1.sign(digest, identityKey, { prehash: false })),
    );
    expect(hex(verifyBundle(b))).toBe(hex(publicKeyOf(identityKey)));
  });

  test('verifyBundle refuses a bundle signed by another key, a tampered one, and a bad identity', () => {
    const b = createBundle({ identityKey, installationId, timestampNs: T });
    const other = createBundle({
      identityKey: generateCommunityKey(bytes('other')),
      installationId,
      timestampNs: T,
    });
    expect(() => verifyBundle({ ...b, signature: other.signature })).toThrow(SignatureError);
    expect(() => verifyBundle({ ...b, timestamp: T + 1n })).toThrow(SignatureError);
    expect(() => verifyBundle({ ...b, identity: fill(33, 9) })).toThrow(SignatureError);
    expect(() => verifyBundle({ ...b, signature: fill(64, 1) })).toThrow(SignatureError);
  });
});

describe('the public message envelope', () => {
  const community = generateCommunityKey(bytes('community'));
  const amm = encodeMagnetlinkMessage(community, 1_767_225_600_123, `magnet:?xt=urn:btih:${'a'.repeat(40)}`);

  test('build then open: the application message, the installation and the verified identity', () => {
    const pm = buildPublicMessage({ applicationMessage: amm, identityKey, installationId, timestampNs: T });
    const decoded = decodeProtocolMessage(pm);
    expect(decoded.installationId).toBe(installationId);
    expect(decoded.bundles).toHaveLength(1);
    expect(hex(decoded.publicMessage)).toBe(hex(amm));
    const opened = openPublicMessage(pm);
    expect(opened).toEqual({
      kind: 'enveloped',
      applicationMessage: amm,
      installationId,
      identities: [publicKeyOf(identityKey)],
    });
    // deterministic: the same inputs give the same bytes
    expect(
      hex(buildPublicMessage({ applicationMessage: amm, identityKey, installationId, timestampNs: T })),
    ).toBe(hex(pm));
  });

  test('a bare signed ApplicationMetadataMessage is read as the reference reads it (the fallback)', () => {
    expect(openPublicMessage(amm)).toEqual({ kind: 'bare', applicationMessage: amm });
  });

  test('a bundle whose signature fails makes the envelope unreadable', () => {
    const pm = decodeProtocolMessage(
      buildPublicMessage({ applicationMessage: amm, identityKey, installationId, timestampNs: T }),
    );
    const forged = encodeProtocolMessage({
      ...pm,
      bundles: [{ ...pm.bundles[0]!, timestamp: T + 1n }],
    });
    expect(() => openPublicMessage(forged)).toThrow(EnvelopeError);
    expect(() =>
      openPublicMessage(
        encodeProtocolMessage({ installationId, bundles: [], publicMessage: new Uint8Array(0) }),
      ),
    ).toThrow(EnvelopeError);
  });

  fcTest.prop([fc.uint8Array({ maxLength: 600 })], { numRuns: 400 })(
    'hostile bytes: the decoders and the opener throw only their typed errors',
    (junk) => {
      const typed = (f: () => unknown) => {
        try {
          f();
        } catch (error) {
          expect(
            error instanceof DecodeError || error instanceof SignatureError || error instanceof EnvelopeError,
          ).toBe(true);
        }
      };
      typed(() => decodeProtocolMessage(junk));
      typed(() => decodeBundle(junk));
      typed(() => decodeSegmentMessage(junk));
      typed(() => openPublicMessage(junk));
    },
  );

  fcTest.prop([fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat({ max: 10_000 }), fc.nat(255)], {
    numRuns: 200,
  })(
    'a real envelope with one byte changed opens correctly or fails with a typed error',
    (applicationMessage, at, value) => {
      const pm = buildPublicMessage({ applicationMessage, identityKey, installationId, timestampNs: T });
      const bent = pm.slice();
      bent[at % bent.length] = value;
      try {
        const opened = openPublicMessage(bent);
        if (opened.kind === 'enveloped') expect(opened.identities.every((i) => i.length === 65)).toBe(true);
      } catch (error) {
        expect(error).toBeInstanceOf(EnvelopeError);
      }
    },
  );
});
