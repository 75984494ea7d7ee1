// The store service: the fleet of Waku store nodes, seen as one world-level service. It
// keeps every relay message it hears for a retention window measured against the
// message's own timestamp and the current virtual time, deduplicates by message hash
// (when the hash is set) and answers history queries ordered by (timestamp, hash).

import type { RelayMessage, StoreQuery } from '../ports/messaging.ts';
import { byteKey } from '../proto/byte-key.ts';

interface Kept {
  msg: RelayMessage;
  key: string;
}

export class SimStore {
  readonly #now: () => number;
  retentionMs: number;
  /** When false the store neither records messages nor answers queries. */
  online = true;
  readonly #byPubsub = new Map<string, Kept[]>();
  readonly #seen = new Set<string>();
  #count = 0;
  #sincePrune = 0;

  constructor(now: () => number, retentionMs: number) {
    this.#now = now;
    this.retentionMs = retentionMs;
  }

  /** Messages currently held (including expired ones not yet pruned). */
  get size(): number {
    return this.#count;
  }

  #retained(msg: RelayMessage): boolean {
    return msg.message.timestamp * 1000 >= this.#now() - this.retentionMs;
  }

  /** Record a message; false when it was a duplicate or already past retention. */
  add(msg: RelayMessage): boolean {
    if (!this.#retained(msg)) return false;
    const hash = msg.message.hash;
    const key = hash.length > 0 ? `${msg.pubsubTopic}\u0000${byteKey(hash)}` : '';
    if (key !== '') {
      if (this.#seen.has(key)) return false;
      this.#seen.add(key);
    }
    let list = this.#byPubsub.get(msg.pubsubTopic);
    if (!list) {
      list = [];
      this.#byPubsub.set(msg.pubsubTopic, list);
    }
    list.push({ msg, key });
    this.#count++;
    if (++this.#sincePrune > 4096 && this.#sincePrune > this.#count / 2) this.prune();
    return true;
  }

  /** Drop messages past retention. */
  prune(): void {
    this.#sincePrune = 0;
    let count = 0;
    for (const [topic, list] of this.#byPubsub) {
      const kept = list.filter((k) => {
        if (this.#retained(k.msg)) return true;
        if (k.key !== '') this.#seen.delete(k.key);
        return false;
      });
      this.#byPubsub.set(topic, kept);
      count += kept.length;
    }
    this.#count = count;
  }

  /** Retained messages matching the query, ordered by (timestamp, hash hex). */
  query(q: StoreQuery): RelayMessage[] {
    const list = this.#byPubsub.get(q.pubsubTopic);
    if (!list) return [];
    const topics = new Set(q.contentTopics);
    const out: { msg: RelayMessage; ts: number; h: string }[] = [];
    for (const k of list) {
      const m = k.msg;
      const ts = m.message.timestamp;
      if (ts < q.from || ts >= q.to) continue;
      if (!topics.has(m.contentTopic)) continue;
      if (!this.#retained(m)) continue;
      out.push({ msg: m, ts, h: byteKey(m.message.hash) });
    }
    out.sort((a, b) => a.ts - b.ts || (a.h < b.h ? -1 : a.h > b.h ? 1 : 0));
    return out.map((o) => o.msg);
  }
}
