// Map and Set keys for byte strings (message hashes, topics) in the simulator's and the
// monitors' bookkeeping. A key is one char per byte (latin1): half the length of hex, a
// flat string (a `0x${hex}` template is a cons string that every lookup flattens again),
// and it sorts as the bytes do. Not for display: use toHex there.

/** Char codes of the bytes being keyed, reused (keys are made one at a time). */
const codes: number[] = [];

export function byteKey(bytes: Uint8Array): string {
  const n = bytes.length;
  // Up to hash size, String.fromCharCode over a plain array is ~3x faster than a Buffer
  // view's latin1 decoding; longer byte strings take the native decoder.
  if (n > 64) return Buffer.from(bytes.buffer, bytes.byteOffset, n).toString('latin1');
  codes.length = n;
  for (let i = 0; i < n; i++) codes[i] = bytes[i] as number;
  return String.fromCharCode.apply(null, codes);
}
