// `0x`-prefixed lowercase hex, the way the reference writes ids, topics and keys.
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js';

export function toHex(bytes: Uint8Array): string {
  return `0x${bytesToHex(bytes)}`;
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
