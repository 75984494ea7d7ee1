// Map and Set keys for byte strings (message hashes, topics) in the simulator's and the
// monitors' bookkeeping. A key is one char per byte (latin1): one native call to make, half
// the length of hex, a flat string (a `0x${hex}` template is a cons string that every
// lookup flattens again), and it sorts as the bytes do. Not for display: use toHex there.

export function byteKey(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}
