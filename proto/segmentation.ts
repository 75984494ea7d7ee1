// Splitting a transport payload into SegmentMessages when it exceeds the transport's limit,
// as the reference's sender does (docs/reference-wire.md §3).
//
// The reference splits a payload longer than 3/4 of Waku's maximum message size (the rest
// is room for the segment's own fields) into ceil(length / size) data segments, each
// {entire_message_hash = Keccak-256 of the whole payload, index, segments_count, payload};
// a payload that fits is sent as it is, unwrapped. From 8 data segments on it also appends
// floor(count / 8) Reed-Solomon parity segments; archivist does not (see the document):
// its data segments are the reference's byte for byte, and a reference receiver completes
// a message from its data segments alone.

import { keccak_256 } from '@noble/hashes/sha3.js';
import { encodeSegmentMessage } from './envelope-codec.ts';

/** Waku's default maximum message size in the reference (1 MiB). */
export const WAKU_MAX_MESSAGE_SIZE = 1 << 20;

/** The segment payload size the reference uses for a transport limit: 3/4 of it, in integer steps. */
export function segmentSizeFor(maxMessageSize: number): number {
  if (!Number.isInteger(maxMessageSize) || maxMessageSize < 4)
    throw new RangeError(`maximum message size must be an integer >= 4, got ${maxMessageSize}`);
  return Math.floor(maxMessageSize / 4) * 3;
}

/** The transport payloads that carry `payload`: itself when it fits, else its data segments in index order. */
export function segmentPayload(payload: Uint8Array, segmentSize: number): Uint8Array[] {
  if (!Number.isInteger(segmentSize) || segmentSize < 1)
    throw new RangeError(`segment size must be a positive integer, got ${segmentSize}`);
  if (payload.length <= segmentSize) return [payload];
  const entireMessageHash = keccak_256(payload);
  const segmentsCount = Math.ceil(payload.length / segmentSize);
  const out: Uint8Array[] = [];
  for (let index = 0; index < segmentsCount; index++) {
    out.push(
      encodeSegmentMessage({
        entireMessageHash,
        index,
        segmentsCount,
        payload: payload.subarray(index * segmentSize, Math.min(payload.length, (index + 1) * segmentSize)),
        paritySegmentIndex: 0,
        paritySegmentsCount: 0,
      }),
    );
  }
  return out;
}
