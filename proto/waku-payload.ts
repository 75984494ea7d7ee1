// The cleartext layout of a Waku version-1 payload (26/WAKU2-PAYLOAD; docs/reference-wire.md
// §4), read strictly:
//
//   flags (1 byte: bits 0-1 = length of the size field, bit 2 = signed)
//   ‖ size field (little-endian length of the data, 1-3 bytes) ‖ data ‖ padding
//   ‖ signature (65 bytes r‖s‖v, when signed, over Keccak-256 of everything before it)
//
// Building and encrypting payloads is @waku/message-encryption's (adapters/real); reading
// them is done here because its reader is not total on hostile input (a bad signature throws
// from inside it, a size past the end is silently cut short). The checks are the reference's
// (go-waku's payload reader): a signed payload must leave at least the flags byte and one more
// byte before its signature, and the size must fit before the signature.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { recoverPublicKey, type SignatureError } from './signing.ts';

export const PAYLOAD_FLAG_SIGNED = 4;
export const PAYLOAD_SIZE_MASK = 3;
export const PAYLOAD_SIGNATURE_LENGTH = 65;
/** Payloads are padded to a multiple of this many bytes (padding + signature included). */
export const PAYLOAD_PADDING_TARGET = 256;

export class WakuPayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WakuPayloadError';
  }
}

export interface WakuPayload {
  data: Uint8Array;
  padding: Uint8Array;
  /** 65 bytes, when the payload is signed. */
  signature?: Uint8Array;
  /** Uncompressed public key (65 bytes) that signed, when signed. */
  signer?: Uint8Array;
}

/** Padding length the 26/WAKU2-PAYLOAD writer adds for `dataLength` bytes of data (always 1..256). */
export function payloadPaddingLength(dataLength: number, signed: boolean): number {
  const raw = 1 + sizeFieldLength(dataLength) + dataLength + (signed ? PAYLOAD_SIGNATURE_LENGTH : 0);
  return PAYLOAD_PADDING_TARGET - (raw % PAYLOAD_PADDING_TARGET);
}

/** Bytes of the size field for `dataLength`. */
export function sizeFieldLength(dataLength: number): number {
  let n = 1;
  for (let i = dataLength; i >= 256; i = Math.floor(i / 256)) n++;
  return n;
}

export function parseWakuPayload(plain: Uint8Array): WakuPayload {
  if (plain.length < 1) throw new WakuPayloadError('payload is empty');
  const flags = plain[0]!;
  let end = plain.length;
  const out: WakuPayload = { data: new Uint8Array(0), padding: new Uint8Array(0) };
  if ((flags & PAYLOAD_FLAG_SIGNED) !== 0) {
    end -= PAYLOAD_SIGNATURE_LENGTH;
    if (end <= 1) throw new WakuPayloadError('signed payload too short for its signature');
    out.signature = plain.slice(end);
    try {
      out.signer = recoverPublicKey(keccak_256(plain.subarray(0, end)), out.signature);
    } catch (error) {
      throw new WakuPayloadError(`payload signature: ${(error as SignatureError).message}`);
    }
  }
  let at = 1;
  const sizeLength = flags & PAYLOAD_SIZE_MASK;
  let size = 0;
  if (sizeLength !== 0) {
    if (end < at + sizeLength) throw new WakuPayloadError('payload too short for its size field');
    for (let i = 0; i < sizeLength; i++) size += plain[at + i]! * 256 ** i;
    at += sizeLength;
    if (at + size > end)
      throw new WakuPayloadError(`payload says ${size} bytes of data, only ${end - at} follow`);
    out.data = plain.slice(at, at + size);
  }
  out.padding = plain.slice(at + size, end);
  return out;
}
