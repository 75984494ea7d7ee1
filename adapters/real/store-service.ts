// archivist's own Waku store: no JS Waku store server exists, so a node that runs this
// service keeps every relay message it sees on its pubsub topics for a retention period
// and answers history queries.
//
// Wire: the Waku store v3 query protocol, `/vac/waku/store-query/3.0.0` (RFC 47):
// one varint-length-prefixed StoreQueryRequest from the client, one length-prefixed
// StoreQueryResponse back, both as encoded by @waku/proto. Time bounds are nanoseconds and
// inclusive; results are ordered by (timestamp, message hash) and paginated by the hash of
// the last message returned (cursor). Status codes: 200 ok, 400 bad request.
//
// Retention: a message whose timestamp is older than `now - retentionSeconds` (the node's
// Clock) is dropped when anything is stored or queried. Storage is in memory: a store node
// that restarts starts empty, as a fresh Waku store node would.

import { proto_store } from '@waku/proto';
import type { Clock } from '../../ports/clock.ts';
import { fromWakuV2, type WakuV2Message, wakuMessageHash } from './waku-wire.ts';

export const STORE_QUERY_CODEC = '/vac/waku/store-query/3.0.0';
export const MAX_PAGE = 100;
/** Largest request or answer frame read from a stream. */
export const MAX_FRAME = 4 * 1024 * 1024;
const DEFAULT_PAGE = 20;

export interface StoredEntry {
  hash: Uint8Array;
  hashHex: string;
  pubsubTopic: string;
  message: WakuV2Message;
  /** Unix nanoseconds (the message's own timestamp). */
  timestampNs: bigint;
  /** The archive hash carried by the message (see waku-wire.ts), hex; '' when none. */
  archiveHashHex: string;
}

export interface StoreServiceOptions {
  clock: Clock;
  /** How long messages are kept, by their timestamp. */
  retentionSeconds: number;
  /** Most messages kept (oldest dropped first); default 100,000. */
  capacity?: number;
}

// Same order as the simulated store: timestamp, then the archive hash; the Waku hash last.
function compare(a: StoredEntry, b: StoredEntry): number {
  if (a.timestampNs !== b.timestampNs) return a.timestampNs < b.timestampNs ? -1 : 1;
  if (a.archiveHashHex !== b.archiveHashHex) return a.archiveHashHex < b.archiveHashHex ? -1 : 1;
  return a.hashHex < b.hashHex ? -1 : a.hashHex > b.hashHex ? 1 : 0;
}

export class StoreService {
  readonly #clock: Clock;
  readonly #retentionNs: bigint;
  readonly #capacity: number;
  readonly #byHash = new Map<string, StoredEntry>();

  constructor(options: StoreServiceOptions) {
    this.#clock = options.clock;
    this.#retentionNs = BigInt(Math.floor(options.retentionSeconds * 1000)) * 1_000_000n;
    this.#capacity = options.capacity ?? 100_000;
  }

  get size(): number {
    this.#prune();
    return this.#byHash.size;
  }

  #prune(): void {
    const cutoff = BigInt(Math.floor(this.#clock.now())) * 1_000_000n - this.#retentionNs;
    for (const [k, e] of this.#byHash) if (e.timestampNs < cutoff) this.#byHash.delete(k);
    if (this.#byHash.size > this.#capacity) {
      const sorted = [...this.#byHash.values()].sort(compare);
      for (const e of sorted.slice(0, this.#byHash.size - this.#capacity)) this.#byHash.delete(e.hashHex);
    }
  }

  /** Keeps a relay message; returns false when it was already kept or is past retention. */
  record(pubsubTopic: string, message: WakuV2Message): boolean {
    const hash = wakuMessageHash(pubsubTopic, message);
    const hashHex = Buffer.from(hash).toString('hex');
    if (this.#byHash.has(hashHex)) return false;
    const decoded = fromWakuV2(pubsubTopic, message);
    if (!decoded) return false;
    const entry: StoredEntry = {
      hash,
      hashHex,
      pubsubTopic,
      message,
      timestampNs: message.timestamp ?? 0n,
      archiveHashHex: Buffer.from(decoded.message.hash).toString('hex'),
    };
    this.#byHash.set(hashHex, entry);
    this.#prune();
    return this.#byHash.has(hashHex);
  }

  /** Answers one store v3 query. */
  query(req: proto_store.StoreQueryRequest): proto_store.StoreQueryResponse {
    this.#prune();
    const base = { requestId: req.requestId };
    if (req.messageHashes.length === 0 && !req.pubsubTopic) {
      return { ...base, statusCode: 400, statusDesc: 'pubsubTopic is required', messages: [] };
    }
    const topics = new Set(req.contentTopics);
    const wanted = new Set(req.messageHashes.map((h) => Buffer.from(h).toString('hex')));
    let matches = [...this.#byHash.values()].filter((e) => {
      if (wanted.size > 0) return wanted.has(e.hashHex);
      if (e.pubsubTopic !== req.pubsubTopic) return false;
      if (topics.size > 0 && !topics.has(e.message.contentTopic)) return false;
      if (req.timeStart !== undefined && e.timestampNs < req.timeStart) return false;
      if (req.timeEnd !== undefined && e.timestampNs > req.timeEnd) return false;
      return true;
    });
    matches.sort(compare);
    if (!req.paginationForward) matches.reverse();
    if (req.paginationCursor && req.paginationCursor.length > 0) {
      const cursor = Buffer.from(req.paginationCursor).toString('hex');
      const at = matches.findIndex((e) => e.hashHex === cursor);
      if (at < 0) return { ...base, statusCode: 400, statusDesc: 'unknown pagination cursor', messages: [] };
      matches = matches.slice(at + 1);
    }
    const limit = Math.min(Math.max(Number(req.paginationLimit ?? BigInt(DEFAULT_PAGE)), 1), MAX_PAGE);
    const page = matches.slice(0, limit);
    const more = matches.length > limit;
    const messages = page.map((e) => ({
      messageHash: e.hash,
      pubsubTopic: e.pubsubTopic,
      ...(req.includeData ? { message: e.message } : {}),
    }));
    return {
      ...base,
      statusCode: 200,
      statusDesc: 'OK',
      messages,
      ...(more && page.length > 0 ? { paginationCursor: page[page.length - 1]!.hash } : {}),
    };
  }
}

/**
 * The service's answer to one frame a client sent (undefined: the stream ended or the frame
 * was too large), encoded: a request that does not decode is answered 400, never thrown.
 */
export function answerFrame(store: StoreService, frame: Uint8Array | undefined): Uint8Array {
  let response: proto_store.StoreQueryResponse;
  if (!frame) {
    response = { requestId: '', statusCode: 400, statusDesc: 'no request', messages: [] };
  } else {
    try {
      response = store.query(proto_store.StoreQueryRequest.decode(frame));
    } catch {
      response = { requestId: '', statusCode: 400, statusDesc: 'undecodable request', messages: [] };
    }
  }
  return lengthPrefixed(proto_store.StoreQueryResponse.encode(response));
}

// --- varint length-prefixed framing (as it-length-prefixed writes it) ---

export function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  const head: number[] = [];
  let n = bytes.length;
  while (n > 0x7f) {
    head.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  head.push(n);
  return Buffer.concat([Uint8Array.from(head), bytes]);
}

/** Reads one length-prefixed frame from a chunk source; undefined on EOF or a frame over `max`. */
export async function readFrame(
  source: AsyncIterable<Uint8Array | { subarray(): Uint8Array }>,
  max: number,
): Promise<Uint8Array | undefined> {
  let buf = new Uint8Array(0);
  for await (const chunk of source) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray();
    buf = Buffer.concat([buf, bytes]);
    let len = 0;
    let shift = 0;
    let pos = 0;
    let complete = false;
    while (pos < buf.length && pos < 5) {
      const b = buf[pos++]!;
      len += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if ((b & 0x80) === 0) {
        complete = true;
        break;
      }
    }
    if (!complete) {
      if (pos >= 5) return undefined;
      continue;
    }
    if (len > max) return undefined;
    if (buf.length >= pos + len) return buf.slice(pos, pos + len);
  }
  return undefined;
}
