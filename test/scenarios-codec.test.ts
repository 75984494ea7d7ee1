// The simulated codec of encrypted communities: it round-trips, its output is not plain
// protobuf (so readers fall back to it, as the reference does), and it refuses bytes it
// did not produce.

import { describe, expect, it } from 'vitest';
import { decodeStoredArchive } from '../archive/index.ts';
import { encodeWakuMessageArchive } from '../proto/codec.ts';
import type { WakuMessageArchive } from '../proto/types.ts';
import { simulatedCommunityCodec } from '../scenarios/sim-codec.ts';

const archive: WakuMessageArchive = {
  version: 1,
  metadata: { version: 1, from: 100, to: 200, contentTopic: [new Uint8Array([1, 2, 3, 4])] },
  messages: [
    {
      sig: new Uint8Array(65).fill(7),
      timestamp: 150,
      topic: new Uint8Array([1, 2, 3, 4]),
      payload: new TextEncoder().encode('hello, archive'),
      padding: new Uint8Array(0),
      hash: new Uint8Array(32).fill(9),
      thirdPartyId: '',
    },
  ],
};

describe('simulated community codec', () => {
  const codec = simulatedCommunityCodec(new Uint8Array(32).fill(1));

  it('round-trips, and readers decode through it', () => {
    const plain = encodeWakuMessageArchive(archive);
    const stored = codec.encode(plain);
    expect(stored.length).toBe(plain.length + 2);
    expect(Buffer.from(stored).includes(Buffer.from('hello, archive'))).toBe(false);
    expect(codec.decode(stored)).toEqual(plain);
    expect(() => decodeStoredArchive(stored)).toThrow();
    expect(decodeStoredArchive(stored, codec)).toEqual(decodeStoredArchive(plain));
  });

  it('refuses bytes it did not produce, and another secret reads garbage', () => {
    const plain = encodeWakuMessageArchive(archive);
    expect(() => codec.decode(plain)).toThrow('not encrypted by this community codec');
    const other = simulatedCommunityCodec(new Uint8Array(32).fill(2));
    expect(other.decode(codec.encode(plain))).not.toEqual(plain);
  });
});
