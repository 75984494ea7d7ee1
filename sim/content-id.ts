// Content ids of the simulated content network, shaped like the reference's storage node's
// (Codex / Logos Storage): content is cut into blocks of a fixed size (64 KiB by default,
// Codex's), each block is named by the SHA-256 of its bytes, and a manifest (dataset size,
// block size, the block digests) names the whole; the content id is the manifest's. Ids are
// CIDv1 in base58btc with Codex's multicodecs (codex-manifest 0xcd01, codex-block 0xcd02),
// so they read like Codex's `zDv…` ids and parse as any CID.

import { createHash } from 'node:crypto';
import { base58btc } from 'multiformats/bases/base58';
import { CID } from 'multiformats/cid';
import * as Digest from 'multiformats/hashes/digest';

export const CODEX_MANIFEST_CODEC = 0xcd01;
export const CODEX_BLOCK_CODEC = 0xcd02;
const SHA2_256 = 0x12;

export const DEFAULT_BLOCK_SIZE = 65_536;

export function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

function cidString(codec: number, digest: Uint8Array): string {
  return CID.createV1(codec, Digest.create(SHA2_256, digest)).toString(base58btc);
}

export interface Manifest {
  /** The content id (of the manifest). */
  cid: string;
  size: number;
  blockSize: number;
  /** SHA-256 of each block, in order. */
  digests: Uint8Array[];
  /** The encoded manifest (what a fetcher receives first). */
  bytes: Uint8Array;
}

/** Blocks of `bytes` (views, not copies) and their manifest. */
export function chunkContent(
  bytes: Uint8Array,
  blockSize = DEFAULT_BLOCK_SIZE,
): { manifest: Manifest; blocks: Uint8Array[] } {
  if (!Number.isSafeInteger(blockSize) || blockSize <= 0)
    throw new RangeError(`block size must be a positive integer, got ${blockSize}`);
  const blocks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length; at += blockSize)
    blocks.push(bytes.subarray(at, Math.min(at + blockSize, bytes.length)));
  const digests = blocks.map(sha256);
  // size (8 bytes) ‖ block size (4 bytes) ‖ digests (32 bytes each)
  const encoded = new Uint8Array(12 + 32 * digests.length);
  const view = new DataView(encoded.buffer);
  view.setBigUint64(0, BigInt(bytes.length));
  view.setUint32(8, blockSize);
  for (const [i, d] of digests.entries()) encoded.set(d, 12 + 32 * i);
  const manifest: Manifest = {
    cid: cidString(CODEX_MANIFEST_CODEC, sha256(encoded)),
    size: bytes.length,
    blockSize,
    digests,
    bytes: encoded,
  };
  return { manifest, blocks };
}

/** The content id of one block (for traces and tests). */
export function blockCid(digest: Uint8Array): string {
  return cidString(CODEX_BLOCK_CODEC, digest);
}

/** Whether a string parses as a content id. */
export function isContentId(text: string): boolean {
  if (text.length === 0 || text.length > 512 || /\s/.test(text)) return false;
  try {
    CID.parse(text, text.startsWith('z') ? base58btc : undefined);
    return true;
  } catch {
    return false;
  }
}
