// The archive format of the content-addressed backend (protocol.md §11.1,
// docs/content-addressed.md): every archive is encoded on its own (and wrapped by the
// community's codec when encrypted), uploaded, and gets its own content id; the index maps
// archive id -> {metadata, cid}, where the archive id is Keccak-256 of the encoded entry;
// the index is encoded (and wrapped) and uploaded too, and its content id is the archive
// link. There is no shared `data` file, no offsets and no padding.
//
// Pure functions plus a small port: planning, ids, index encoding and checks need no store;
// a round needs only `upload`, loading the previous index only `has` and `readLocal`.

import { keccak_256 } from '@noble/hashes/sha3.js';
import type { ContentStore } from '../ports/content-store.ts';
import { parseContentId } from '../proto/archive-link.ts';
import {
  DecodeError,
  decodeLogosStorageWakuMessageArchiveIndex,
  encodeLogosStorageWakuMessageArchiveIndex,
  encodeLogosStorageWakuMessageArchiveIndexMetadata,
  encodeWakuMessageArchive,
} from '../proto/codec.ts';
import { hexDigits, toHex } from '../proto/hex.ts';
import type {
  LogosStorageWakuMessageArchiveIndex,
  LogosStorageWakuMessageArchiveIndexMetadata,
  WakuMessage,
  WakuMessageArchive,
  WakuMessageArchiveMetadata,
} from '../proto/types.ts';
import { type ArchiveCodec, decodeStoredArchive, plainCodec } from './codec.ts';
import { ArchiveFormatError, UnknownArchiveError } from './errors.ts';
import { chunkMessages, selectMessages } from './layout.ts';
import { type ArchiveOptionsInput, resolveArchiveOptions } from './options.ts';

/** What a round needs of the store. */
export type ContentUploader = Pick<ContentStore, 'upload'>;
/** What loading the previous index and importing need of the store. */
export type ContentReader = Pick<ContentStore, 'has' | 'readLocal'>;

export type CidIndex = LogosStorageWakuMessageArchiveIndex;
export type CidIndexEntry = LogosStorageWakuMessageArchiveIndexMetadata;

/** Archive id of a content-addressed index entry: `0x` + Keccak-256 of the encoded entry. */
export function cidArchiveIdOf(entry: CidIndexEntry): string {
  return toHex(keccak_256(encodeLogosStorageWakuMessageArchiveIndexMetadata(entry)));
}

export interface PlannedCidArchive {
  metadata: WakuMessageArchiveMetadata;
  /** The encoded (and codec-wrapped) archive: the bytes uploaded. */
  stored: Uint8Array;
  messages: number;
}

export interface CidPlanInput {
  /** The community's topics: archived messages must be on one; written into each archive's metadata. */
  topics: Uint8Array[];
  messages: WakuMessage[];
  /** Unix seconds; [start, end). */
  start: number;
  end: number;
  options?: ArchiveOptionsInput;
  codec?: ArchiveCodec;
}

/**
 * §5.1 steps 3–5 without the torrent layout: partitions of `interval` from `start` (the
 * last capped at `end`), empty ones skipped, each split into chunks of at most
 * maxArchiveBytes of payload+sig (a heavier single message dropped and counted), each
 * chunk one archive, encoded and wrapped. The same partitions and chunks as the torrent
 * backend's (archive/layout.ts) for the same messages.
 */
export function planCidArchives(input: CidPlanInput): { archives: PlannedCidArchive[]; dropped: number } {
  const options = resolveArchiveOptions(input.options);
  const codec = input.codec ?? plainCodec;
  const messages = selectMessages(input.topics, input.messages, input.start, input.end);
  const archives: PlannedCidArchive[] = [];
  let dropped = 0;
  let i = 0;
  while (i < messages.length) {
    // Jump to the partition of the next message: the windows in between are empty.
    const k = Math.floor((messages[i]!.timestamp - input.start) / options.interval);
    const from = input.start + k * options.interval;
    const to = Math.min(from + options.interval, input.end);
    let j = i;
    while (j < messages.length && messages[j]!.timestamp < to) j++;
    const chunked = chunkMessages(messages.slice(i, j), options.maxArchiveBytes);
    i = j;
    dropped += chunked.dropped;
    for (const chunk of chunked.chunks) {
      const metadata = { version: 0, from, to, contentTopic: input.topics };
      const archive: WakuMessageArchive = { version: 0, metadata, messages: chunk };
      archives.push({
        metadata,
        stored: codec.encode(encodeWakuMessageArchive(archive)),
        messages: chunk.length,
      });
    }
  }
  return { archives, dropped };
}

/** The index as stored: encoded, then wrapped by the codec. */
export function encodeStoredCidIndex(index: CidIndex, codec: ArchiveCodec = plainCodec): Uint8Array {
  return codec.encode(encodeLogosStorageWakuMessageArchiveIndex(index));
}

/**
 * Stored index bytes -> index. Like the reference: when the plain decoding gives no entry
 * although there were bytes, the bytes are an encrypted index and go through the codec.
 * Unlike it, bytes that do not decode at all go through the codec too (the reference gives
 * up there, so an encrypted index whose bytes happen not to parse is lost to it).
 * Throws ArchiveFormatError or MissingKeyError.
 */
export function decodeStoredCidIndex(stored: Uint8Array, codec?: ArchiveCodec, where = 'index'): CidIndex {
  const wrapped = codec !== undefined && codec !== plainCodec;
  let plain: CidIndex | undefined;
  try {
    plain = decodeLogosStorageWakuMessageArchiveIndex(stored);
  } catch (error) {
    if (!(error instanceof DecodeError)) throw error;
    if (!wrapped) throw new ArchiveFormatError(`does not decode (${error.message})`, where);
  }
  if (plain !== undefined && (plain.archives.size > 0 || stored.length === 0 || !wrapped)) return plain;
  const opened = codec!.decode(stored);
  try {
    return decodeLogosStorageWakuMessageArchiveIndex(opened);
  } catch (error) {
    if (error instanceof DecodeError)
      throw new ArchiveFormatError(`does not decode after the codec (${error.message})`, where);
    throw error;
  }
}

export interface CreatedCidArchive {
  id: string;
  cid: string;
  from: number;
  to: number;
  messages: number;
  /** Stored (uploaded) bytes. */
  bytes: number;
}

export interface CidRoundParams extends CidPlanInput {
  /** Entries of the previous index, kept in the new one (empty when it was not held). */
  previous?: CidIndex;
}

export interface CidRoundResult {
  start: number;
  end: number;
  /** The archives this round created, in partition order. */
  archives: CreatedCidArchive[];
  /** Messages left out for being larger than maxArchiveBytes on their own. */
  dropped: number;
  /** The previous entries and the new ones. */
  index: CidIndex;
  /** Undefined when the round made no archive (then nothing was uploaded: no new link). */
  indexCid?: string;
  indexBytes?: number;
}

/**
 * One owner round (§11.1): plan, upload each archive (its content id goes into its
 * entry), then, when at least one archive was made, upload the index of the previous
 * entries and the new ones. The store call order is the reference's: archives in
 * partition order, the index last.
 */
export async function createCidRound(
  store: ContentUploader,
  params: CidRoundParams,
): Promise<CidRoundResult> {
  const { archives: planned, dropped } = planCidArchives(params);
  const index: CidIndex = { archives: new Map(params.previous?.archives ?? []) };
  const archives: CreatedCidArchive[] = [];
  for (const p of planned) {
    const cid = await store.upload(p.stored);
    const entry: CidIndexEntry = { version: 0, metadata: p.metadata, cid };
    const id = cidArchiveIdOf(entry);
    index.archives.set(id, entry);
    archives.push({
      id,
      cid,
      from: p.metadata.from,
      to: p.metadata.to,
      messages: p.messages,
      bytes: p.stored.length,
    });
  }
  const result: CidRoundResult = { start: params.start, end: params.end, archives, dropped, index };
  if (archives.length > 0) {
    const stored = encodeStoredCidIndex(index, params.codec);
    result.indexCid = await store.upload(stored);
    result.indexBytes = stored.length;
  }
  return result;
}

/**
 * The previous index of an owner (§11.1: earlier entries are kept only while that index
 * is held by the local store node): empty without a link or when the link is not held.
 */
export async function loadPreviousCidIndex(
  store: ContentReader,
  lastLink: string | undefined,
  codec?: ArchiveCodec,
): Promise<CidIndex> {
  if (!lastLink || !(await store.has(lastLink))) return { archives: new Map() };
  return decodeStoredCidIndex(await store.readLocal(lastLink), codec, `index ${lastLink}`);
}

/** Entries in ascending `from`, then id (the order the torrent backend downloads). */
export function cidEntriesByFrom(index: CidIndex): Array<[id: string, entry: CidIndexEntry]> {
  return [...index.archives].sort(
    ([ia, a], [ib, b]) => a.metadata.from - b.metadata.from || (ia < ib ? -1 : ia > ib ? 1 : 0),
  );
}

/** Entries newest first (the order the reference's content-addressed downloader starts them). */
export function cidEntriesNewestFirst(index: CidIndex): Array<[id: string, entry: CidIndexEntry]> {
  return cidEntriesByFrom(index).reverse();
}

/**
 * What is wrong with an index received from the network, one line per problem (empty:
 * fine): each key must be the id of its entry, each cid a content id, each range non-empty.
 */
export function verifyCidIndex(index: CidIndex): string[] {
  const problems: string[] = [];
  for (const [id, entry] of cidEntriesByFrom(index)) {
    const want = cidArchiveIdOf(entry);
    if (id !== want) problems.push(`archive ${id}: its entry hashes to ${want}`);
    if (parseContentId(entry.cid) === undefined)
      problems.push(`archive ${id}: ${JSON.stringify(entry.cid)} is not a content id`);
    if (!(entry.metadata.from < entry.metadata.to))
      problems.push(`archive ${id}: empty range [${entry.metadata.from}, ${entry.metadata.to})`);
  }
  return problems;
}

function sameMetadata(a: WakuMessageArchiveMetadata, b: WakuMessageArchiveMetadata): boolean {
  return (
    a.version === b.version &&
    a.from === b.from &&
    a.to === b.to &&
    a.contentTopic.length === b.contentTopic.length &&
    a.contentTopic.every((t, i) => hexDigits(t) === hexDigits(b.contentTopic[i]!))
  );
}

/**
 * One archive's stored bytes (fetched by its entry's cid) -> archive, plain first then the
 * codec; its metadata must be its entry's. Throws ArchiveFormatError or MissingKeyError.
 */
export function decodeCidArchive(
  id: string,
  entry: CidIndexEntry,
  stored: Uint8Array,
  codec?: ArchiveCodec,
): WakuMessageArchive {
  let archive: WakuMessageArchive;
  try {
    archive = decodeStoredArchive(stored, codec);
  } catch (error) {
    if (error instanceof DecodeError)
      throw new ArchiveFormatError(`archive ${id} (${entry.cid}) does not decode (${error.message})`);
    throw error;
  }
  if (!sameMetadata(archive.metadata, entry.metadata))
    throw new ArchiveFormatError(`archive ${id} (${entry.cid}): its metadata is not its index entry's`);
  return archive;
}

/** An archive of the index, read from the local store (import reloads each archive by cid). */
export async function readCidArchive(
  store: ContentReader,
  index: CidIndex,
  id: string,
  codec?: ArchiveCodec,
): Promise<WakuMessageArchive> {
  const entry = index.archives.get(id);
  if (!entry) throw new UnknownArchiveError(id);
  return decodeCidArchive(id, entry, await store.readLocal(entry.cid), codec);
}

/**
 * Whether an index has archives the member has not downloaded. The reference's current
 * revision compares ids; its earlier ones (and the torrent backend, §6.2 step 4) compare
 * counts: `countCompare` is that quirk, so an index whose entries changed but whose count
 * equals the downloaded count is taken for "no new archives".
 */
export function cidIndexHasNew(
  downloaded: Iterable<string>,
  index: CidIndex,
  countCompare: boolean,
): boolean {
  const have = new Set(downloaded);
  if (countCompare) return have.size !== index.archives.size;
  for (const id of index.archives.keys()) if (!have.has(id)) return true;
  return false;
}

/**
 * Index links the owner unseeds after a round (§11.1). The reference's current revision
 * unseeds the previous index once a round made a new, different one (a round without
 * archives keeps it seeded). Its earlier revisions test the wrong branch (`invertedUnseed`):
 * they unseed only when reading the last link failed, and then with an empty link, so they
 * never unseed and every old index stays held and served.
 */
export function cidIndexesToUnseed(
  previousLink: string | undefined,
  newLink: string | undefined,
  invertedUnseed: boolean,
): string[] {
  if (invertedUnseed) return [];
  return previousLink && newLink && previousLink !== newLink ? [previousLink] : [];
}
