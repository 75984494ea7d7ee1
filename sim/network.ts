// The simulated network: who can reach whom (nodes online/offline, crashed, partitions),
// per-link latency distributions and the relay faults (loss, duplication, reordering),
// relay delivery to the nodes interested in a pubsub topic, and the path to the store
// service. The swarm uses the same reachability and latencies for its connections.
//
// Relay delivery is decided per recipient when the message is published (loss, copies,
// latency) and checked again on arrival: a recipient that went offline, crashed or got
// cut off in between loses it. The publisher does not receive its own message. Relay
// payloads are delivered by reference: handlers must not mutate them.

import type { RelayMessage, StoreQuery } from '../ports/messaging.ts';
import { hexDigits } from '../proto/hex.ts';
import type { Kernel } from './kernel.ts';
import { Prng } from './prng.ts';
import type { SimStore } from './store.ts';
import type { Trace } from './trace.ts';

export type LatencyDist =
  | { kind: 'fixed'; ms: number }
  | { kind: 'uniform'; minMs: number; maxMs: number }
  /** Normal, truncated below at minMs (default 1). */
  | { kind: 'normal'; meanMs: number; sdMs: number; minMs?: number }
  /** Log-normal: median and the sigma of the underlying normal (heavy tail). */
  | { kind: 'lognormal'; medianMs: number; sigma: number };

export interface NetworkOptions {
  latency: LatencyDist;
  /** Probability that a relay copy is lost. */
  loss: number;
  /** Probability that a relay message arrives twice. */
  duplicate: number;
  /** Probability that a relay message is held back by up to `reorderDelayMs` extra. */
  reorder: number;
  reorderDelayMs: number;
}

export const DEFAULT_NETWORK: NetworkOptions = {
  latency: { kind: 'normal', meanMs: 80, sdMs: 20, minMs: 5 },
  loss: 0,
  duplicate: 0,
  reorder: 0,
  reorderDelayMs: 500,
};

/** How long a store query waits before it is rejected when the store cannot be reached. */
export const STORE_TIMEOUT_MS = 5000;

export type RelayReceiver = (msg: RelayMessage, from: string) => void;

interface NetNode {
  id: string;
  index: number;
  /** false while crashed */
  up: boolean;
  online: boolean;
  group: number;
  rng: Prng;
  receiver: RelayReceiver | undefined;
  /** pubsub topics this node relays (has at least one subscription on) */
  interest: Map<string, number>;
}

interface Delivery {
  net: SimNetwork;
  from: NetNode;
  to: NetNode;
  msg: RelayMessage;
  id: number;
  copy: number;
}

function isLatency(x: unknown): x is LatencyDist | number {
  return typeof x === 'number' || (typeof x === 'object' && x !== null && 'kind' in x);
}

function latencyOf(spec: LatencyDist | number): LatencyDist {
  return typeof spec === 'number' ? { kind: 'fixed', ms: spec } : spec;
}

export class SimNetwork {
  readonly #kernel: Kernel;
  readonly #trace: Trace;
  readonly #seed: number;
  readonly #store: SimStore;
  #defaults: NetworkOptions;
  readonly #links = new Map<string, NetworkOptions>();
  readonly #nodes = new Map<string, NetNode>();
  readonly #order: NetNode[] = [];
  /**
   * Nodes relaying each pubsub topic, in node order (the order `publish` visits them, so
   * PRNG draws stay the same as a scan of every node): a publish costs its receivers, not
   * the size of the world, which matters with thousands of members off a chat topic.
   */
  readonly #relaying = new Map<string, NetNode[]>();
  readonly #changeListeners: ((id: string | undefined) => void)[] = [];
  readonly #storeListeners: (() => void)[] = [];
  #partitioned = false;
  #published = 0;

  constructor(
    kernel: Kernel,
    trace: Trace,
    seed: number,
    store: SimStore,
    opts: Partial<NetworkOptions> = {},
  ) {
    this.#kernel = kernel;
    this.#trace = trace;
    this.#seed = seed;
    this.#store = store;
    this.#defaults = { ...DEFAULT_NETWORK, ...opts };
  }

  // ---------- configuration ----------

  /** Defaults for every link without its own settings. */
  setDefaults(opts: Partial<NetworkOptions>): void;
  setDefaults(latency: LatencyDist | number, loss?: number, duplicate?: number, reorder?: number): void;
  setDefaults(
    a: Partial<NetworkOptions> | LatencyDist | number,
    loss?: number,
    duplicate?: number,
    reorder?: number,
  ): void {
    if (isLatency(a)) {
      const patch: Partial<NetworkOptions> = { latency: latencyOf(a) };
      if (loss !== undefined) patch.loss = loss;
      if (duplicate !== undefined) patch.duplicate = duplicate;
      if (reorder !== undefined) patch.reorder = reorder;
      a = patch;
    }
    this.#defaults = { ...this.#defaults, ...a };
    this.#trace.record('net.defaults', { ...this.#defaults });
  }

  defaults(): NetworkOptions {
    return { ...this.#defaults };
  }

  /** Settings of the link a -> b (and b -> a unless oneWay), on top of the defaults. */
  setLink(a: string, b: string, opts: Partial<NetworkOptions>, oneWay = false): void {
    this.#links.set(`${a}\u0000${b}`, { ...this.link(a, b), ...opts });
    if (!oneWay) this.#links.set(`${b}\u0000${a}`, { ...this.link(b, a), ...opts });
    this.#trace.record('net.link', { a, b, oneWay, ...opts });
  }

  /** Back to the defaults for a -> b and b -> a. */
  clearLink(a: string, b: string): void {
    this.#links.delete(`${a}\u0000${b}`);
    this.#links.delete(`${b}\u0000${a}`);
    this.#trace.record('net.link.clear', { a, b });
  }

  link(from: string, to: string): NetworkOptions {
    if (this.#links.size === 0) return this.#defaults;
    return this.#links.get(`${from}\u0000${to}`) ?? this.#defaults;
  }

  /**
   * Split the network: nodes listed in the same group reach each other, nodes in
   * different groups do not; every node not listed forms one more group. The store
   * service is not partitioned (see setStoreOnline).
   */
  partition(groups: string[][]): void {
    for (const n of this.#order) n.group = 0;
    groups.forEach((g, i) => {
      for (const id of g) {
        const n = this.#nodes.get(id);
        if (n) n.group = i + 1;
      }
    });
    this.#partitioned = true;
    this.#trace.record('net.partition', { groups: groups.map((g) => [...g].sort()) });
    this.#changed();
  }

  heal(): void {
    for (const n of this.#order) n.group = 0;
    this.#partitioned = false;
    this.#trace.record('net.heal', {});
    this.#changed();
  }

  get partitioned(): boolean {
    return this.#partitioned;
  }

  /** Take the store service down or bring it back. */
  setStoreOnline(online: boolean): void {
    this.#store.online = online;
    this.#trace.record('store.online', { online });
    for (const l of this.#storeListeners) l();
  }

  /** Called after the store service goes down or comes back. */
  onStoreChange(listener: () => void): void {
    this.#storeListeners.push(listener);
  }

  setStoreRetention(ms: number): void {
    this.#store.retentionMs = ms;
    this.#trace.record('store.retention', { ms });
  }

  get store(): SimStore {
    return this.#store;
  }

  // ---------- nodes ----------

  /** Used by the world when a node is added. */
  addNode(id: string, online: boolean): void {
    if (this.#nodes.has(id)) throw new Error(`network: node ${id} already exists`);
    const n: NetNode = {
      id,
      index: this.#order.length,
      up: true,
      online,
      group: 0,
      rng: Prng.stream(this.#seed, `net:${id}`),
      receiver: undefined,
      interest: new Map(),
    };
    this.#nodes.set(id, n);
    this.#order.push(n);
  }

  #node(id: string): NetNode {
    const n = this.#nodes.get(id);
    if (!n) throw new Error(`network: unknown node ${id}`);
    return n;
  }

  setOnline(id: string, online: boolean): void {
    const n = this.#node(id);
    if (n.online === online) return;
    n.online = online;
    this.#trace.record(online ? 'node.online' : 'node.offline', { node: id });
    this.#changed(id);
  }

  setUp(id: string, up: boolean): void {
    const n = this.#node(id);
    if (n.up === up) return;
    n.up = up;
    if (!up) {
      for (const topic of n.interest.keys()) this.#stopRelaying(n, topic);
      n.interest.clear();
    }
    this.#trace.record(up ? 'node.restart' : 'node.crash', { node: id });
    this.#changed(id);
  }

  /** Online and not crashed. */
  isOnline(id: string): boolean {
    const n = this.#nodes.get(id);
    return n?.up === true && n.online;
  }

  reachable(a: string, b: string): boolean {
    const x = this.#nodes.get(a);
    const y = this.#nodes.get(b);
    return x !== undefined && y !== undefined && x.up && x.online && y.up && y.online && x.group === y.group;
  }

  /** Group number of a node (0 when not partitioned); for the swarm's fast checks. */
  groupOf(id: string): number {
    return this.#node(id).group;
  }

  /** Called after reachability changes: with the node's id, or undefined for the whole network. */
  onChange(listener: (id: string | undefined) => void): void {
    this.#changeListeners.push(listener);
  }

  #changed(id?: string): void {
    for (const l of this.#changeListeners) l(id);
  }

  /** A one-way latency sample for from -> to, drawn from from's stream. */
  sampleLatency(from: string, to: string): number {
    return this.#sample(this.link(from, to).latency, this.#node(from).rng);
  }

  /**
   * sampleLatency(from, ·) as a function, with the node looked up once (the swarm draws a
   * latency per transfer): the same draws from the same stream.
   */
  latencyFrom(from: string): (to: string) => number {
    const rng = this.#node(from).rng;
    return (to) => this.#sample(this.link(from, to).latency, rng);
  }

  /**
   * A one-way latency sample for from -> to drawn from the caller's stream: a model with
   * randomness of its own (the content network) leaves the relay's and the swarm's draws,
   * and so their traces, as they are.
   */
  sampleLatencyWith(from: string, to: string, rng: Prng): number {
    return this.#sample(this.link(from, to).latency, rng);
  }

  #sample(d: LatencyDist, rng: Prng): number {
    let v: number;
    switch (d.kind) {
      case 'fixed':
        v = d.ms;
        break;
      case 'uniform':
        v = d.minMs + rng.next() * (d.maxMs - d.minMs);
        break;
      case 'normal':
        v = Math.max(d.minMs ?? 1, d.meanMs + d.sdMs * rng.normal());
        break;
      case 'lognormal':
        v = d.medianMs * Math.exp(d.sigma * rng.normal());
        break;
    }
    return Math.max(0, Math.round(v));
  }

  // ---------- relay ----------

  /** Where relay messages for this node go (its messaging adapter). */
  attach(id: string, receiver: RelayReceiver | undefined): void {
    this.#node(id).receiver = receiver;
  }

  /** Count of subscriptions of a node on a pubsub topic (relay joins the topic while > 0). */
  addInterest(id: string, pubsubTopic: string, delta: number): void {
    const n = this.#node(id);
    const before = n.interest.get(pubsubTopic) ?? 0;
    const c = before + delta;
    if (c > 0) n.interest.set(pubsubTopic, c);
    else n.interest.delete(pubsubTopic);
    if (before <= 0 && c > 0) this.#startRelaying(n, pubsubTopic);
    else if (before > 0 && c <= 0) this.#stopRelaying(n, pubsubTopic);
  }

  #startRelaying(n: NetNode, topic: string): void {
    let list = this.#relaying.get(topic);
    if (!list) {
      list = [];
      this.#relaying.set(topic, list);
    }
    let i = list.length;
    while (i > 0 && (list[i - 1] as NetNode).index > n.index) i--;
    list.splice(i, 0, n);
  }

  #stopRelaying(n: NetNode, topic: string): void {
    const list = this.#relaying.get(topic);
    const i = list ? list.indexOf(n) : -1;
    if (list && i >= 0) list.splice(i, 1);
  }

  publish(from: string, msg: RelayMessage): void {
    const src = this.#node(from);
    const id = ++this.#published;
    const hash = hexDigits(msg.message.hash.subarray(0, 8));
    if (!(src.up && src.online)) {
      this.#trace.record('relay.publish', { from, id, hash, dropped: 'offline' });
      return;
    }
    this.#trace.record('relay.publish', {
      from,
      id,
      hash,
      pubsub: msg.pubsubTopic,
      content: msg.contentTopic,
      ts: msg.message.timestamp,
    });
    const kernel = this.#kernel;
    const now = kernel.now();
    // The store hears it after one hop.
    if (this.#store.online) {
      kernel.schedule(now + this.#sample(this.#defaults.latency, src.rng), 'store.receive', storeReceive, {
        net: this,
        msg,
        id,
      });
    }
    for (const to of this.#relaying.get(msg.pubsubTopic) ?? []) {
      if (to === src || !to.up) continue;
      const link = this.link(from, to.id);
      if (!to.online || to.group !== src.group) {
        this.#trace.record('relay.lost', {
          from,
          to: to.id,
          id,
          reason: to.online ? 'partition' : 'offline',
        });
        continue;
      }
      const rng = src.rng;
      if (rng.chance(link.loss)) {
        this.#trace.record('relay.lost', { from, to: to.id, id, reason: 'loss' });
        continue;
      }
      const copies = rng.chance(link.duplicate) ? 2 : 1;
      for (let copy = 0; copy < copies; copy++) {
        let delay = this.#sample(link.latency, rng);
        if (rng.chance(link.reorder)) delay += Math.round(rng.next() * link.reorderDelayMs);
        kernel.schedule(now + delay, 'relay.deliver', relayDeliver, {
          net: this,
          from: src,
          to,
          msg,
          id,
          copy,
        });
      }
    }
  }

  /** @internal */
  deliver(d: Delivery): void {
    const to = d.to;
    if (!(to.up && to.online) || to.group !== d.from.group) {
      this.#trace.record('relay.lost', {
        from: d.from.id,
        to: to.id,
        id: d.id,
        reason: !to.up ? 'crashed' : !to.online ? 'offline' : 'partition',
      });
      return;
    }
    if (!to.interest.has(d.msg.pubsubTopic) || !to.receiver) return;
    this.#trace.record('relay.deliver', { from: d.from.id, to: to.id, id: d.id, copy: d.copy || undefined });
    to.receiver(d.msg, d.from.id);
  }

  /** @internal */
  storeReceive(msg: RelayMessage, id: number): void {
    if (!this.#store.online) return;
    if (this.#store.add(msg)) this.#trace.record('store.keep', { id });
  }

  // ---------- store queries ----------

  /**
   * Ask the store from node `from`. The answer arrives after a round trip, computed when
   * the request reaches the store; `done(undefined)` after STORE_TIMEOUT_MS when the node
   * is offline or the store is down. A crashed node never gets an answer.
   */
  queryStore(from: string, query: StoreQuery, done: (result: RelayMessage[] | undefined) => void): void {
    const src = this.#node(from);
    const kernel = this.#kernel;
    const q = { ...query, contentTopics: [...query.contentTopics].sort() };
    this.#trace.record('store.query', {
      from,
      pubsub: q.pubsubTopic,
      topics: q.contentTopics,
      qfrom: q.from,
      qto: q.to,
    });
    const fail = () => {
      kernel.after(STORE_TIMEOUT_MS, 'store.timeout', () => {
        if (!src.up) return;
        this.#trace.record('store.answer', { to: from, error: 'timeout' });
        done(undefined);
      });
    };
    if (!(src.up && src.online) || !this.#store.online) {
      fail();
      return;
    }
    const there = this.#sample(this.#defaults.latency, src.rng);
    const back = this.#sample(this.#defaults.latency, src.rng);
    kernel.after(there, 'store.request', () => {
      if (!this.#store.online) {
        fail();
        return;
      }
      const result = this.#store.query(q);
      kernel.after(back, 'store.answer', () => {
        if (!src.up) return;
        if (!src.online) {
          fail();
          return;
        }
        this.#trace.record('store.answer', { to: from, count: result.length });
        done(result);
      });
    });
  }
}

function relayDeliver(d: Delivery): void {
  d.net.deliver(d);
}

function storeReceive(a: { net: SimNetwork; msg: RelayMessage; id: number }): void {
  a.net.storeReceive(a.msg, a.id);
}
