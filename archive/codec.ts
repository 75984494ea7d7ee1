// The codec hook of encrypted communities (protocol.md §4, last paragraph): the encoded
// archive and the encoded index are each wrapped before being written. Readers try plain
// decoding first and fall back to the codec when that fails, as the reference does.

import { DecodeError, decodeWakuMessageArchive, decodeWakuMessageArchiveIndex } from '../proto/codec.ts';
import type { WakuMessageArchive, WakuMessageArchiveIndex } from '../proto/types.ts';

export interface ArchiveCodec {
  encode(plain: Uint8Array): Uint8Array;
  /** May throw MissingKeyError (archive/errors.ts) while the key is not known. */
  decode(stored: Uint8Array): Uint8Array;
}

/** Unencrypted communities: the stored bytes are the encoded protobuf. */
export const plainCodec: ArchiveCodec = {
  encode: (plain) => plain,
  decode: (stored) => stored,
};

function decodeStored<T>(
  stored: Uint8Array,
  codec: ArchiveCodec | undefined,
  decode: (b: Uint8Array) => T,
): T {
  try {
    return decode(stored);
  } catch (error) {
    if (!(error instanceof DecodeError) || !codec || codec === plainCodec) throw error;
    return decode(codec.decode(stored));
  }
}

/** Stored archive bytes (without padding) -> archive; throws DecodeError or MissingKeyError. */
export function decodeStoredArchive(stored: Uint8Array, codec?: ArchiveCodec): WakuMessageArchive {
  return decodeStored(stored, codec, decodeWakuMessageArchive);
}

/** Stored index bytes -> index; throws DecodeError or MissingKeyError. */
export function decodeStoredIndex(stored: Uint8Array, codec?: ArchiveCodec): WakuMessageArchiveIndex {
  return decodeStored(stored, codec, decodeWakuMessageArchiveIndex);
}
