// The codec of an `encrypted: true` community in simulated runs. protocol.md §4 asks for
// the community's hash-ratchet encryption to be modelled as a pluggable codec: this one
// XORs the bytes with a Keccak-256 keystream of a per-run secret, behind a two-byte marker
// (0xff 0xff: a protobuf tag of wire type 7, which no decoder accepts) so that a reader's
// plain decoding fails first and it falls back to the codec, as the reference does.
// It stands in for encryption's effect on the bytes and the code paths; it is not secure.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { type ArchiveCodec, ArchiveFormatError } from '../archive/index.ts';

const MARKER = [0xff, 0xff] as const;

function keystream(secret: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  const block = new Uint8Array(secret.length + 4);
  block.set(secret, 0);
  const view = new DataView(block.buffer);
  for (let i = 0, offset = 0; offset < length; i++, offset += 32) {
    view.setUint32(secret.length, i);
    out.set(keccak_256(block).subarray(0, Math.min(32, length - offset)), offset);
  }
  return out;
}

/** A deterministic stand-in codec; every node of the run shares its secret. */
export function simulatedCommunityCodec(secret: Uint8Array): ArchiveCodec {
  return {
    encode(plain) {
      const stream = keystream(secret, plain.length);
      const out = new Uint8Array(plain.length + MARKER.length);
      out.set(MARKER, 0);
      for (let i = 0; i < plain.length; i++)
        out[i + MARKER.length] = (plain[i] as number) ^ (stream[i] as number);
      return out;
    },
    decode(stored) {
      if (stored.length < MARKER.length || stored[0] !== MARKER[0] || stored[1] !== MARKER[1]) {
        throw new ArchiveFormatError('not encrypted by this community codec');
      }
      const body = stored.subarray(MARKER.length);
      const stream = keystream(secret, body.length);
      const out = new Uint8Array(body.length);
      for (let i = 0; i < body.length; i++) out[i] = (body[i] as number) ^ (stream[i] as number);
      return out;
    },
  };
}
