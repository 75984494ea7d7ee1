// The Storage port in memory, with the port's crash contract: every method is one atomic
// step. Each mutating method first computes its whole effect, then commits it in one go;
// the fault `crashDuringNextWrite()` throws SimulatedCrash between the two, so tests can
// check that a crash during a method leaves no part of it. A node crash (`crash()`) loses
// nothing that a method already returned: that is what the contract promises.
//
// Messages are kept by reference (the simulation shares one WakuMessage object between
// every node that receives it): callers must treat them as immutable.

import { createHash } from 'node:crypto';
import type { ArchiveRecord, CommunityArchiveState, Storage } from '../../ports/storage.ts';
import { byteKey } from '../../proto/byte-key.ts';
import { hexDigits } from '../../proto/hex.ts';
import type { WakuMessage } from '../../proto/types.ts';

export class SimulatedCrash extends Error {
  constructor(method: string) {
    super(`simulated crash during ${method}`);
    this.name = 'SimulatedCrash';
  }
}

interface Entry {
  ts: number;
  key: string;
  msg: WakuMessage;
}

interface Community {
  state: CommunityArchiveState;
  archives: Map<string, ArchiveRecord>;
  /** `archives()`'s answer until the next change: frozen, so callers share it safely. */
  sorted?: readonly ArchiveRecord[];
}

/**
 * Identity of a message: the byte key of its hash (it orders as the hash's hex would). Not
 * cached per message object: a WeakMap with an entry per stored message (hundreds of
 * thousands in a year-long run) is an ephemeron table every major GC has to walk, which
 * costs more than reading 32 bytes again.
 */
function keyOf(m: WakuMessage): string {
  return byteKey(m.hash);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function before(a: Entry, b: Entry): boolean {
  return a.ts < b.ts || (a.ts === b.ts && a.key < b.key);
}

/** Index of the first entry not before `e`. */
function lowerBound(list: Entry[], ts: number, key: string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const x = list[mid]!;
    if (x.ts < ts || (x.ts === ts && x.key < key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MemoryStorage implements Storage {
  /** topic key -> entries ordered by (timestamp, hash) */
  readonly #byTopic = new Map<string, Entry[]>();
  readonly #keys = new Set<string>();
  #lastTopic: { bytes: Uint8Array; list: Entry[] } | undefined;
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
    const fresh: Entry[] = [];
    // Most calls save one message (live chat); a batch may repeat a message.
    const seen = messages.length > 1 ? new Set<string>() : undefined;
    for (const m of messages) {
      const key = keyOf(m);
      if (this.#keys.has(key) || seen?.has(key)) continue;
      seen?.add(key);
      fresh.push({ ts: m.timestamp, key, msg: m });
    }
    this.#commitPoint('saveMessages');
    for (const e of fresh) {
      const list = this.#listOf(e.msg.topic);
      const last = list[list.length - 1];
      if (!last || before(last, e)) list.push(e);
      else list.splice(lowerBound(list, e.ts, e.key), 0, e);
      this.#keys.add(e.key);
    }
    return fresh.length;
  }

  /** The entry list of a topic; the last one found is remembered (a community has a few). */
  #listOf(topic: Uint8Array): Entry[] {
    const last = this.#lastTopic;
    if (last && sameBytes(last.bytes, topic)) return last.list;
    const key = byteKey(topic);
    let list = this.#byTopic.get(key);
    if (!list) {
      list = [];
      this.#byTopic.set(key, list);
    }
    this.#lastTopic = { bytes: topic.slice(), list };
    return list;
  }

  #lists(topics: Uint8Array[]): Entry[][] {
    const out: Entry[][] = [];
    const seen = new Set<string>();
    for (const t of topics) {
      const h = byteKey(t);
      if (seen.has(h)) continue;
      seen.add(h);
      const l = this.#byTopic.get(h);
      if (l && l.length > 0) out.push(l);
    }
    return out;
  }

  messagesInRange(topics: Uint8Array[], from: number, to: number): WakuMessage[] {
    const lists = this.#lists(topics);
    const out: WakuMessage[] = [];
    if (lists.length === 1) {
      // one topic: its list is in order already
      const l = lists[0] as Entry[];
      for (let i = lowerBound(l, from, ''); i < l.length && l[i]!.ts < to; i++) out.push(l[i]!.msg);
      return out;
    }
    const picked: Entry[] = [];
    for (const l of lists) {
      for (let i = lowerBound(l, from, ''); i < l.length && l[i]!.ts < to; i++) picked.push(l[i]!);
    }
    picked.sort((a, b) => (before(a, b) ? -1 : before(b, a) ? 1 : 0));
    for (const e of picked) out.push(e.msg);
    return out;
  }

  oldestMessageTimestamp(topics: Uint8Array[]): number | undefined {
    let v: number | undefined;
    for (const l of this.#lists(topics)) {
      const ts = l[0]!.ts;
      if (v === undefined || ts < v) v = ts;
    }
    return v;
  }

  newestMessageTimestamp(topics: Uint8Array[]): number | undefined {
    let v: number | undefined;
    for (const l of this.#lists(topics)) {
      const ts = l[l.length - 1]!.ts;
      if (v === undefined || ts > v) v = ts;
    }
    return v;
  }

  deleteMessagesInRange(topics: Uint8Array[], from: number, to: number): number {
    const cuts: { list: Entry[]; a: number; b: number }[] = [];
    for (const l of this.#lists(topics)) {
      const a = lowerBound(l, from, '');
      let b = a;
      while (b < l.length && l[b]!.ts < to) b++;
      if (b > a) cuts.push({ list: l, a, b });
    }
    this.#commitPoint('deleteMessagesInRange');
    let n = 0;
    for (const c of cuts) {
      for (const e of c.list.splice(c.a, c.b - c.a)) this.#keys.delete(e.key);
      n += c.b - c.a;
    }
    return n;
  }

  countMessages(topics?: Uint8Array[]): number {
    if (topics === undefined) return this.#keys.size;
    let n = 0;
    for (const l of this.#lists(topics)) n += l.length;
    return n;
  }

  // ---------- archive bookkeeping ----------

  getArchiveState(communityId: string): CommunityArchiveState {
    return { ...this.#communities.get(communityId)?.state };
  }

  updateArchiveState(communityId: string, patch: Partial<CommunityArchiveState>): void {
    const merged: CommunityArchiveState = this.getArchiveState(communityId);
    // A key present with `undefined` clears the field; an absent key keeps it.
    for (const key of ['lastArchiveEndDate', 'magnetlinkClock', 'lastSeenMagnetlink'] as const) {
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
