// The Storage port in memory, with the port's crash contract: every method is one atomic
// step. Each mutating method first computes its whole effect, then commits it in one go;
// the fault `crashDuringNextWrite()` throws SimulatedCrash between the two, so tests can
// check that a crash during a method leaves no part of it. A node crash (`crash()`) loses
// nothing that a method already returned: that is what the contract promises.
//
// Messages are packed per topic (message-columns.ts): hashes and signatures copied, payloads
// kept by reference into the buffers they arrived in (the simulation hands every receiver
// the same bytes), a WakuMessage made again on each read. Callers must treat the bytes of
// what they save and what they read as immutable.

import { createHash } from 'node:crypto';
import {
  ARCHIVE_STATE_KEYS,
  type ArchiveRecord,
  type CommunityArchiveState,
  type Storage,
} from '../../ports/storage.ts';
import { byteKey } from '../../proto/byte-key.ts';
import { hexDigits } from '../../proto/hex.ts';
import type { WakuMessage } from '../../proto/types.ts';
import { BufferRegistry, MessageColumns } from './message-columns.ts';

export class SimulatedCrash extends Error {
  constructor(method: string) {
    super(`simulated crash during ${method}`);
    this.name = 'SimulatedCrash';
  }
}

interface Community {
  state: CommunityArchiveState;
  archives: Map<string, ArchiveRecord>;
  /** `archives()`'s answer until the next change: frozen, so callers share it safely. */
  sorted?: readonly ArchiveRecord[];
}

/**
 * Which stored message has a given hash: open addressing over (topic column, row), hashed
 * from the message hash's own bytes. One typed-array slot pair per message instead of a
 * 32-character key string in a Set.
 */
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

class HashIndex {
  #cols = new Int32Array(1024).fill(-1);
  #rows = new Int32Array(1024);
  #used = 0;
  readonly #columns: MessageColumns[];

  constructor(columns: MessageColumns[]) {
    this.#columns = columns;
  }

  static #code(hash: Uint8Array): number {
    let h = 2166136261;
    for (let i = 0; i < hash.length; i++) h = Math.imul(h ^ (hash[i] as number), 16777619);
    return h >>> 0;
  }

  /** Slot holding `hash`, or the empty slot where it would go (-1 - slot). */
  #find(hash: Uint8Array): number {
    const mask = this.#cols.length - 1;
    let tomb = -1;
    for (let i = HashIndex.#code(hash) & mask; ; i = (i + 1) & mask) {
      const col = this.#cols[i] as number;
      if (col === -1) return -1 - (tomb >= 0 ? tomb : i);
      if (col === -2) {
        if (tomb < 0) tomb = i;
      } else if ((this.#columns[col] as MessageColumns).hashEquals(this.#rows[i] as number, hash)) return i;
    }
  }

  has(hash: Uint8Array): boolean {
    return this.#find(hash) >= 0;
  }

  add(hash: Uint8Array, col: number, row: number): void {
    if ((this.#used + 1) * 2 > this.#cols.length) this.#rehash(this.#cols.length * 2);
    const at = -1 - this.#find(hash);
    if (at < 0) return;
    if (this.#cols[at] === -1) this.#used++;
    this.#cols[at] = col;
    this.#rows[at] = row;
  }

  remove(hash: Uint8Array): void {
    const at = this.#find(hash);
    if (at >= 0) this.#cols[at] = -2;
  }

  #rehash(size: number): void {
    const cols = this.#cols;
    const rows = this.#rows;
    this.#cols = new Int32Array(size).fill(-1);
    this.#rows = new Int32Array(size);
    this.#used = 0;
    for (let i = 0; i < cols.length; i++) {
      const col = cols[i] as number;
      if (col < 0) continue;
      const row = rows[i] as number;
      const c = this.#columns[col] as MessageColumns;
      this.add(c.hashes.subarray(row * 32, row * 32 + 32), col, row);
    }
  }
}

export class MemoryStorage implements Storage {
  /** Messages by topic (byte key of the topic), packed (message-columns.ts). */
  readonly #byTopic = new Map<string, number>();
  readonly #columns: MessageColumns[] = [];
  readonly #payloads = new BufferRegistry();
  readonly #index = new HashIndex(this.#columns);
  #count = 0;
  #lastTopic: { bytes: Uint8Array; col: number } | undefined;
  readonly #communities = new Map<string, Community>();
  #crashNext = false;
  #crashes = 0;

  // ---------- faults and crash ----------

  /** The next mutating method throws SimulatedCrash after computing and before committing. */
  crashDuringNextWrite(): void {
    this.#crashNext = true;
  }

  /** A node crash: everything committed stays (the contract), armed faults are cleared. */
  crash(): void {
    this.#crashNext = false;
    this.#crashes++;
  }

  get crashes(): number {
    return this.#crashes;
  }

  #commitPoint(method: string): void {
    if (this.#crashNext) {
      this.#crashNext = false;
      throw new SimulatedCrash(method);
    }
  }

  // ---------- messages ----------

  saveMessages(messages: WakuMessage[]): number {
    const fresh: WakuMessage[] = [];
    // Most calls save one message (live chat); a batch may repeat a message.
    const seen = messages.length > 1 ? new Set<string>() : undefined;
    for (const m of messages) {
      if (m.hash.length !== 32)
        throw new RangeError(`saveMessages: a message hash has 32 bytes, got ${m.hash.length}`);
      if (this.#index.has(m.hash)) continue;
      if (seen) {
        const key = byteKey(m.hash);
        if (seen.has(key)) continue;
        seen.add(key);
      }
      fresh.push(m);
    }
    this.#commitPoint('saveMessages');
    for (const m of fresh) {
      const col = this.#columnOf(m.topic);
      const row = (this.#columns[col] as MessageColumns).add(m);
      this.#index.add(m.hash, col, row);
    }
    this.#count += fresh.length;
    return fresh.length;
  }

  /** The column of a topic; the last one found is remembered (a community has a few). */
  #columnOf(topic: Uint8Array): number {
    const last = this.#lastTopic;
    if (last && sameBytes(last.bytes, topic)) return last.col;
    const key = byteKey(topic);
    let col = this.#byTopic.get(key);
    if (col === undefined) {
      col = this.#columns.length;
      this.#columns.push(new MessageColumns(topic.slice(), this.#payloads));
      this.#byTopic.set(key, col);
    }
    this.#lastTopic = { bytes: topic.slice(), col };
    return col;
  }

  #lists(topics: Uint8Array[]): MessageColumns[] {
    const out: MessageColumns[] = [];
    const seen = new Set<string>();
    for (const t of topics) {
      const h = byteKey(t);
      if (seen.has(h)) continue;
      seen.add(h);
      const col = this.#byTopic.get(h);
      const c = col === undefined ? undefined : this.#columns[col];
      if (c && c.size > 0) out.push(c);
    }
    return out;
  }

  messagesInRange(topics: Uint8Array[], from: number, to: number): WakuMessage[] {
    const lists = this.#lists(topics);
    if (lists.length === 1) {
      // one topic: its rows are in order already
      const c = lists[0] as MessageColumns;
      return c.rowsInRange(from, to).map((row) => c.message(row));
    }
    const picked: { c: MessageColumns; row: number }[] = [];
    for (const c of lists) for (const row of c.rowsInRange(from, to)) picked.push({ c, row });
    picked.sort((a, b) => MessageColumns.compare(a.c, a.row, b.c, b.row));
    return picked.map((p) => p.c.message(p.row));
  }

  oldestMessageTimestamp(topics: Uint8Array[]): number | undefined {
    let v: number | undefined;
    for (const c of this.#lists(topics)) {
      const ts = c.oldest() as number;
      if (v === undefined || ts < v) v = ts;
    }
    return v;
  }

  newestMessageTimestamp(topics: Uint8Array[]): number | undefined {
    let v: number | undefined;
    for (const c of this.#lists(topics)) {
      const ts = c.newest() as number;
      if (v === undefined || ts > v) v = ts;
    }
    return v;
  }

  deleteMessagesInRange(topics: Uint8Array[], from: number, to: number): number {
    const lists = this.#lists(topics);
    this.#commitPoint('deleteMessagesInRange');
    let n = 0;
    for (const c of lists) {
      for (const row of c.removeRange(from, to)) {
        this.#index.remove(c.hashes.subarray(row * 32, row * 32 + 32));
        n++;
      }
    }
    this.#count -= n;
    return n;
  }

  countMessages(topics?: Uint8Array[]): number {
    if (topics === undefined) return this.#count;
    let n = 0;
    for (const c of this.#lists(topics)) n += c.size;
    return n;
  }

  // ---------- archive bookkeeping ----------

  getArchiveState(communityId: string): CommunityArchiveState {
    return { ...this.#communities.get(communityId)?.state };
  }

  updateArchiveState(communityId: string, patch: Partial<CommunityArchiveState>): void {
    const merged: CommunityArchiveState = this.getArchiveState(communityId);
    // A key present with `undefined` clears the field; an absent key keeps it.
    for (const key of ARCHIVE_STATE_KEYS) {
      if (Object.hasOwn(patch, key)) {
        if (patch[key] === undefined) delete merged[key];
        else (merged as Record<string, unknown>)[key] = patch[key];
      }
    }
    this.#commitPoint('updateArchiveState');
    this.#community(communityId).state = merged;
  }

  #community(id: string): Community {
    let c = this.#communities.get(id);
    if (!c) {
      c = { state: {}, archives: new Map() };
      this.#communities.set(id, c);
    }
    return c;
  }

  archives(communityId: string): readonly ArchiveRecord[] {
    const c = this.#communities.get(communityId);
    if (!c) return [];
    // Every member reads its archive list several times a round (guards, import picking,
    // monitors); sorting fresh copies each time made a year-long run quadratic.
    c.sorted ??= Object.freeze(
      [...c.archives.values()]
        .map((r) => Object.freeze({ ...r }))
        .sort((a, b) => a.from - b.from || a.to - b.to || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    );
    return c.sorted;
  }

  markArchiveDownloaded(communityId: string, record: Omit<ArchiveRecord, 'imported'>): void {
    const old = this.#communities.get(communityId)?.archives.get(record.id);
    // Recording an archive twice keeps its imported flag: nothing is ever imported twice.
    const next: ArchiveRecord = {
      id: record.id,
      from: record.from,
      to: record.to,
      imported: old?.imported ?? false,
    };
    this.#commitPoint('markArchiveDownloaded');
    const c = this.#community(communityId);
    c.archives.set(record.id, next);
    c.sorted = undefined;
  }

  markArchiveImported(communityId: string, id: string): void {
    const old = this.#communities.get(communityId)?.archives.get(id);
    if (!old) throw new Error(`archive ${id} of community ${communityId} was never recorded as downloaded`);
    this.#commitPoint('markArchiveImported');
    const c = this.#community(communityId);
    c.archives.set(id, { ...old, imported: true });
    c.sorted = undefined;
  }

  forgetCommunity(communityId: string): void {
    this.#commitPoint('forgetCommunity');
    this.#communities.delete(communityId);
  }
}

/** A stable digest of everything stored (tests compare states across crashes with it). */
export function storageDigest(s: MemoryStorage, communityIds: string[], topics: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const m of s.messagesInRange(topics, 0, Number.MAX_SAFE_INTEGER)) h.update(`${hexDigits(m.hash)}\n`);
  for (const id of [...communityIds].sort()) {
    h.update(JSON.stringify([id, s.getArchiveState(id), s.archives(id)]));
  }
  return h.digest('hex');
}
