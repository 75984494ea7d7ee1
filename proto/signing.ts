// Signed application messages (protocol.md §3, §5.5): the community's key signs
// Keccak-256(payload) with a recoverable secp256k1 signature laid out r‖s‖v as go-ethereum
// does; receivers recover the signer, whose compressed public key is the community id.
// The curve arithmetic is libsecp256k1 (tiny-secp256k1's WebAssembly build), the library
// go-ethereum's signer uses too, and about five times faster here than a JavaScript one:
// every simulated round signs a link and every new key derives its community id. Its
// signatures are RFC 6979 deterministic with low S, byte for byte the reference's; the
// tests check them against @noble/curves as an independent implementation.
import { randomBytes } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import * as secp256k1 from 'tiny-secp256k1';
import {
  decodeApplicationMetadataMessage,
  decodeCommunityMessageArchiveLink,
  decodeCommunityMessageArchiveMagnetlink,
  encodeApplicationMetadataMessage,
  encodeCommunityMessageArchiveLink,
  encodeCommunityMessageArchiveMagnetlink,
} from './codec.ts';
import { hexDigits, toHex } from './hex.ts';
import { ApplicationMetadataMessageType } from './types.ts';

export class SignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignatureError';
  }
}

/** Community id of a private key: `0x` + the 33-byte compressed public key. */
export function communityIdOf(privateKey: Uint8Array): string {
  if (!secp256k1.isPrivate(privateKey)) throw new SignatureError('not a secp256k1 private key');
  return toHex(secp256k1.pointFromScalar(privateKey, true) as Uint8Array);
}

/**
 * A community private key. With seed bytes it is derived deterministically (simulated runs
 * must not draw from the system's randomness); without, it is random.
 */
export function generateCommunityKey(seed?: Uint8Array): Uint8Array {
  // Draw again until the value is a valid scalar (fails with probability ~2^-128 per draw).
  const next = (previous: Uint8Array | undefined): Uint8Array =>
    seed ? keccak_256(previous ?? seed) : new Uint8Array(randomBytes(32));
  let candidate = next(undefined);
  while (!secp256k1.isPrivate(candidate)) candidate = next(candidate);
  return candidate;
}

/**
 * Signers recovered lately, by signature and digest. Recovery is a pure function and the
 * costliest step of receiving a magnetlink (an elliptic-curve multiplication); in a
 * simulated community thousands of members recover the same few messages.
 */
const recentSigners = new Map<string, string>();
/** Community ids of the private keys that signed lately (a key signs every round). */
const signerIds = new Map<string, string>();
const REMEMBERED = 1024;

/** Sets `key` in a map that forgets its oldest entry past REMEMBERED entries. */
function remember(map: Map<string, string>, key: string, value: string): void {
  if (map.size >= REMEMBERED) map.delete(map.keys().next().value as string);
  map.set(key, value);
}

const signatureKey = (signature: Uint8Array, digest: Uint8Array): string =>
  `${hexDigits(signature)}${hexDigits(digest)}`;

/** 65 bytes r‖s‖v (v ∈ {0,1}) over Keccak-256(payload). Deterministic (RFC 6979). */
export function signPayload(privateKey: Uint8Array, payload: Uint8Array): Uint8Array {
  const digest = keccak_256(payload);
  if (!secp256k1.isPrivate(privateKey)) throw new SignatureError('not a secp256k1 private key');
  const { signature: rs, recoveryId } = secp256k1.signRecoverable(digest, privateKey);
  const signature = new Uint8Array(65);
  signature.set(rs, 0);
  signature[64] = recoveryId;
  // Recovering this signature gives the signer's public key (ECDSA's correctness), so the
  // receivers' recovery is known now: remember it as if it had been computed.
  const keyHex = hexDigits(privateKey);
  let signer = signerIds.get(keyHex);
  if (signer === undefined) {
    signer = communityIdOf(privateKey);
    remember(signerIds, keyHex, signer);
  }
  remember(recentSigners, signatureKey(signature, digest), signer);
  return signature;
}

/** Community id (compressed key form) of the signer of `payload`; throws SignatureError. */
export function recoverSigner(signature: Uint8Array, payload: Uint8Array): string {
  if (signature.length !== 65)
    throw new SignatureError(`signature has ${signature.length} bytes, expected 65`);
  const v = signature[64]!;
  if (v > 3) throw new SignatureError(`signature recovery id ${v} is out of range`);
  const digest = keccak_256(payload);
  const key = signatureKey(signature, digest);
  const known = recentSigners.get(key);
  if (known !== undefined) return known;
  let point: Uint8Array | null;
  try {
    // compressed: the community id's spelling
    point = secp256k1.recover(digest, signature.subarray(0, 64), v as secp256k1.RecoveryIdType, true);
  } catch (error) {
    throw new SignatureError(`cannot recover the signer: ${error instanceof Error ? error.message : error}`);
  }
  if (point === null) throw new SignatureError('cannot recover the signer: no point has this signature');
  const signer = toHex(point);
  remember(recentSigners, key, signer);
  return signer;
}

/** 65 bytes r‖s‖v (v ∈ {0,1}) over a 32-byte digest, as go-ethereum's crypto.Sign makes them. */
export function signDigest(privateKey: Uint8Array, digest: Uint8Array): Uint8Array {
  if (!secp256k1.isPrivate(privateKey)) throw new SignatureError('not a secp256k1 private key');
  if (digest.length !== 32) throw new SignatureError(`digest has ${digest.length} bytes, expected 32`);
  const { signature: rs, recoveryId } = secp256k1.signRecoverable(digest, privateKey);
  const signature = new Uint8Array(65);
  signature.set(rs, 0);
  signature[64] = recoveryId;
  return signature;
}

/** The public key (65 bytes uncompressed, or 33 compressed) that made `signature` over `digest`. */
export function recoverPublicKey(digest: Uint8Array, signature: Uint8Array, compressed = false): Uint8Array {
  if (signature.length !== 65)
    throw new SignatureError(`signature has ${signature.length} bytes, expected 65`);
  const v = signature[64]!;
  if (v > 3) throw new SignatureError(`signature recovery id ${v} is out of range`);
  if (digest.length !== 32) throw new SignatureError(`digest has ${digest.length} bytes, expected 32`);
  let point: Uint8Array | null;
  try {
    point = secp256k1.recover(digest, signature.subarray(0, 64), v as secp256k1.RecoveryIdType, compressed);
  } catch (error) {
    throw new SignatureError(`cannot recover the signer: ${error instanceof Error ? error.message : error}`);
  }
  if (point === null) throw new SignatureError('cannot recover the signer: no point has this signature');
  return new Uint8Array(point);
}

/** Public key of a private key: 65 bytes uncompressed (the reference's FromECDSAPub) or 33 compressed. */
export function publicKeyOf(privateKey: Uint8Array, compressed = false): Uint8Array {
  if (!secp256k1.isPrivate(privateKey)) throw new SignatureError('not a secp256k1 private key');
  return new Uint8Array(secp256k1.pointFromScalar(privateKey, compressed) as Uint8Array);
}

/** A node identity from its private key: the key pair a KeyStore's `nodeIdentity()` returns. */
export function nodeIdentityOf(privateKey: Uint8Array): { privateKey: Uint8Array; publicKey: Uint8Array } {
  return { privateKey: privateKey.slice(), publicKey: publicKeyOf(privateKey) };
}

/** The uncompressed form (65 bytes) of a compressed public key; throws SignatureError when it is not a point. */
export function decompressPublicKey(compressed: Uint8Array): Uint8Array {
  if (compressed.length !== 33 || !secp256k1.isPoint(compressed))
    throw new SignatureError('not a compressed secp256k1 public key');
  const point = secp256k1.pointCompress(compressed, false);
  return new Uint8Array(point);
}

/** Encoded ApplicationMetadataMessage of `type`, signed by `privateKey`. */
export function signApplicationMessage(
  privateKey: Uint8Array,
  type: number,
  payload: Uint8Array,
): Uint8Array {
  return encodeApplicationMetadataMessage({ signature: signPayload(privateKey, payload), payload, type });
}

/** Decodes and authenticates an ApplicationMetadataMessage; throws DecodeError or SignatureError. */
export function recoverApplicationMessage(bytes: Uint8Array): {
  signer: string;
  type: number;
  payload: Uint8Array;
} {
  const message = decodeApplicationMetadataMessage(bytes);
  if (message.signature.length === 0) throw new SignatureError('message is not signed');
  return {
    signer: recoverSigner(message.signature, message.payload),
    type: message.type,
    payload: message.payload,
  };
}

/** The magnetlink message of §5.5, ready to publish on the magnetlink channel. */
export function encodeMagnetlinkMessage(
  privateKey: Uint8Array,
  clockMs: number,
  magnetUri: string,
): Uint8Array {
  const payload = encodeCommunityMessageArchiveMagnetlink({ clock: clockMs, magnetUri });
  return signApplicationMessage(
    privateKey,
    ApplicationMetadataMessageType.COMMUNITY_MESSAGE_ARCHIVE_MAGNETLINK,
    payload,
  );
}

/** Authenticated magnetlink message; throws DecodeError or SignatureError (also for another type). */
export function decodeMagnetlinkMessage(bytes: Uint8Array): {
  signer: string;
  clock: number;
  magnetUri: string;
} {
  const { signer, type, payload } = recoverApplicationMessage(bytes);
  if (type !== ApplicationMetadataMessageType.COMMUNITY_MESSAGE_ARCHIVE_MAGNETLINK) {
    throw new SignatureError(`application message type ${type} is not a magnetlink (43)`);
  }
  const { clock, magnetUri } = decodeCommunityMessageArchiveMagnetlink(payload);
  return { signer, clock, magnetUri };
}

/**
 * The archive link message of the reference's current revision: type 43 again, payload
 * `CommunityMessageArchiveLink {clock, archive_link}` (the same bytes as a magnetlink message
 * carrying the same string), signed by the community key. The link is a magnet URI or the
 * content id of a content-addressed index (see archiveLinkKind).
 */
export function encodeArchiveLinkMessage(
  privateKey: Uint8Array,
  clockMs: number,
  archiveLink: string,
): Uint8Array {
  const payload = encodeCommunityMessageArchiveLink({ clock: clockMs, archiveLink });
  return signApplicationMessage(
    privateKey,
    ApplicationMetadataMessageType.COMMUNITY_MESSAGE_ARCHIVE_LINK,
    payload,
  );
}

/** Authenticated archive link message; throws DecodeError or SignatureError (also for another type). */
export function decodeArchiveLinkMessage(bytes: Uint8Array): {
  signer: string;
  clock: number;
  archiveLink: string;
} {
  const { signer, type, payload } = recoverApplicationMessage(bytes);
  if (type !== ApplicationMetadataMessageType.COMMUNITY_MESSAGE_ARCHIVE_LINK) {
    throw new SignatureError(`application message type ${type} is not an archive link (43)`);
  }
  const { clock, archiveLink } = decodeCommunityMessageArchiveLink(payload);
  return { signer, clock, archiveLink };
}
