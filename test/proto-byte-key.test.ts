// Byte keys stand in for hex in the simulator's sets and maps: they must be exactly the
// bytes (latin1), and order as the bytes do, whatever the length.

import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { byteKey } from '../proto/byte-key.ts';
import { hexDigits } from '../proto/hex.ts';

describe('byteKey', () => {
  test.prop([fc.uint8Array({ maxLength: 100 })])('is the bytes as latin1, one char each', (bytes) => {
    const key = byteKey(bytes);
    expect(key).toBe(Buffer.from(bytes).toString('latin1'));
    expect(key.length).toBe(bytes.length);
  });

  test.prop([fc.uint8Array({ maxLength: 70 }), fc.uint8Array({ maxLength: 70 })])(
    'orders as the hex digits do',
    (a, b) => {
      const byKey = Math.sign(byteKey(a) < byteKey(b) ? -1 : byteKey(a) > byteKey(b) ? 1 : 0);
      const byHex = Math.sign(hexDigits(a) < hexDigits(b) ? -1 : hexDigits(a) > hexDigits(b) ? 1 : 0);
      expect(byKey).toBe(byHex);
    },
  );

  test.prop([fc.uint8Array({ minLength: 8, maxLength: 40 })])(
    'keys a view by its own bytes only',
    (bytes) => {
      const view = bytes.subarray(3, bytes.length - 2);
      expect(byteKey(view)).toBe(byteKey(new Uint8Array(view)));
    },
  );
});
