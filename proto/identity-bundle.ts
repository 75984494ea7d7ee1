// The sender's identity signature on every message of the reference's encryption layer
// (docs/reference-wire.md §2): an X3DH pre-key bundle naming the identity key (compressed),
// one signed pre-key per installation, a timestamp, and a signature by the identity key over
// Keccak-256 of the "signature material":
//
//   for each installation id in ascending (byte) order:
//     installation id ‖ signed pre-key bytes ‖ decimal digits of the pre-key's version
//   then, when the timestamp is not 0, the decimal digits of the timestamp.
//
// A receiver recovers the signer and requires it to be the bundle's identity.

import { keccak_256 } from '@noble/hashes/sha3.js';
import type { Bundle, SignedPreKey } from './envelope-codec.ts';
import { decompressPublicKey, publicKeyOf, recoverPublicKey, SignatureError, signDigest } from './signing.ts';

/** The encryption layer's protocol version the reference writes into each installation's pre-key. */
export const ENCRYPTION_PROTOCOL_VERSION = 1;

const encoder = new TextEncoder();

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The bytes the identity key signs (Keccak-256 of them, that is). */
export function bundleSignatureMaterial(bundle: Pick<Bundle, 'signedPreKeys' | 'timestamp'>): Uint8Array {
  // Go sorts the ids as strings, which compares their UTF-8 bytes.
  const ids = [...bundle.signedPreKeys.keys()]
    .map((id) => ({ id, bytes: encoder.encode(id) }))
    .sort((a, b) => compareBytes(a.bytes, b.bytes));
  const parts: Uint8Array[] = [];
  for (const { id, bytes } of ids) {
    const k = bundle.signedPreKeys.get(id)!;
    parts.push(bytes, k.signedPreKey, encoder.encode(String(k.version)));
  }
  if (bundle.timestamp !== 0n) parts.push(encoder.encode(bundle.timestamp.toString()));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * The signed pre-key archivist advertises for an identity. The reference draws a random key
 * and keeps its private half for one-to-one chats (X3DH); archivist never opens one-to-one
 * chats, so it derives a fixed valid key from the identity instead (same key every start, no
 * secret to keep) — receivers only store it.
 */
export function signedPreKeyFor(identityKey: Uint8Array): Uint8Array {
  let scalar = keccak_256(concat(encoder.encode('archivist signed pre-key'), identityKey));
  for (;;) {
    try {
      return publicKeyOf(scalar, true);
    } catch {
      scalar = keccak_256(scalar); // not a valid scalar (probability ~2^-128)
    }
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a, 0);
  out.set(b, a.length);
  return out;
}

/**
 * The bundle the reference attaches to a message it sends: this installation's pre-key,
 * the compressed identity, signed at `timestampNs` (the reference re-signs with the current
 * time on every send).
 */
export function createBundle(args: {
  identityKey: Uint8Array;
  installationId: string;
  timestampNs: bigint;
}): Bundle {
  const preKey: SignedPreKey = {
    signedPreKey: signedPreKeyFor(args.identityKey),
    version: 0,
    protocolVersion: ENCRYPTION_PROTOCOL_VERSION,
  };
  const signedPreKeys = new Map([[args.installationId, preKey]]);
  const unsigned = { signedPreKeys, timestamp: args.timestampNs };
  return {
    identity: publicKeyOf(args.identityKey, true),
    signedPreKeys,
    signature: signDigest(args.identityKey, keccak_256(bundleSignatureMaterial(unsigned))),
    timestamp: args.timestampNs,
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

/**
 * The bundle's identity (uncompressed, 65 bytes) once its signature checks out; throws
 * SignatureError when the identity is not a key or the signature is not by it. (The
 * reference compares the addresses of the two keys, which is the same test.)
 */
export function verifyBundle(bundle: Bundle): Uint8Array {
  const identity = decompressPublicKey(bundle.identity);
  const signer = recoverPublicKey(keccak_256(bundleSignatureMaterial(bundle)), bundle.signature);
  if (!sameBytes(signer, identity)) throw new SignatureError('bundle signature is not by its identity key');
  return identity;
}
