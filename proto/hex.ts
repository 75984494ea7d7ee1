// `0x`-prefixed lowercase hex, the way the reference writes ids, topics and keys.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

/**
 * Lowercase hex digits, no prefix. On Node the digits come from Buffer in one flat string:
 * a string built by `+=` per byte stays a chain of V8 cons-strings, and simulated runs keep
 * hundreds of thousands of message ids as Set keys (tens of MB of cons cells).
 */
export function hexDigits(bytes: Uint8Array): string {
  if (typeof Buffer !== 'undefined')
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
  return bytesToHex(bytes);
}

export function toHex(bytes: Uint8Array): string {
  return `0x${hexDigits(bytes)}`;
}

/** Accepts an optional `0x` prefix; throws a TypeError naming the input when it is not hex. */
export function fromHex(hex: string): Uint8Array {
  const digits = hex.startsWith('0x') || hex.startsWith('0X') ? hex.slice(2) : hex;
  if (digits.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(digits)) {
    throw new TypeError(
      `not a hex string: ${JSON.stringify(hex.length > 80 ? `${hex.slice(0, 80)}…` : hex)}`,
    );
  }
  return hexToBytes(digits.toLowerCase());
}
