import { describe, expect, it } from 'vitest';
import { StoreUnavailable, synchronousHandler } from '../adapters/sim/sim-messaging.ts';
import { SimWorld, type SimWorldOptions } from '../adapters/sim/world.ts';
import type { RelayMessage } from '../ports/messaging.ts';
import { STORE_TIMEOUT_MS } from '../sim/network.ts';

const T0 = Date.UTC(2026, 0, 1);
const PS = '/waku/2/test/proto';
const CT = '/waku/1/0x01020304/rfc26';
let n = 0;

function message(timestampS: number, text = `m${++n}`): RelayMessage {
  const hash = new Uint8Array(32);
  new DataView(hash.buffer).setUint32(0, ++n);
  return {
    pubsubTopic: PS,
    contentTopic: CT,
    message: {
      sig: new Uint8Array(1),
      timestamp: timestampS,
      topic: new Uint8Array([1, 2, 3, 4]),
      payload: new TextEncoder().encode(text),
      padding: new Uint8Array(0),
      hash,
      thirdPartyId: '',
    },
  };
}

function world(opts: Partial<SimWorldOptions> = {}, ids = ['a', 'b', 'c']) {
  const w = new SimWorld({
    seed: 1,
    startTime: T0,
    network: { latency: { kind: 'fixed', ms: 50 } },
    ...opts,
  });
  const got = new Map<string, { text: string; at: number }[]>();
  for (const id of ids) {
    const node = w.addNode({ id });
    const list: { text: string; at: number }[] = [];
    got.set(id, list);
    node.adapters.messaging.subscribe(PS, [CT], (m) =>
      list.push({ text: new TextDecoder().decode(m.message.payload), at: w.kernel.now() - T0 }),
    );
  }
  const texts = (id: string) => got.get(id)!.map((x) => x.text);
  const publish = (id: string, text?: string) => {
    void w.node(id).adapters.messaging.publish(message(Math.floor(w.kernel.now() / 1000), text));
  };
  return { w, got, texts, publish };
}

describe('network: latency', () => {
  it('fixed latency delivers exactly after it; the publisher does not hear itself', () => {
    const { w, got, texts, publish } = world();
    publish('a', 'x');
    w.runUntil(T0 + 1000);
    expect(got.get('b')).toEqual([{ text: 'x', at: 50 }]);
    expect(got.get('c')).toEqual([{ text: 'x', at: 50 }]);
    expect(texts('a')).toEqual([]);
  });

  it('uniform and per-link latencies stay in their ranges', () => {
    const { w, got, publish } = world({ network: { latency: { kind: 'uniform', minMs: 100, maxMs: 200 } } });
    w.network.setLink('a', 'c', { latency: { kind: 'fixed', ms: 7 } });
    for (let i = 0; i < 200; i++) publish('a');
    w.runUntil(T0 + 10_000);
    const atB = got.get('b')!.map((x) => x.at);
    expect(atB.length).toBe(200);
    expect(Math.min(...atB)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...atB)).toBeLessThanOrEqual(200);
    expect(new Set(atB).size).toBeGreaterThan(20);
    expect(new Set(got.get('c')!.map((x) => x.at))).toEqual(new Set([7]));
  });

  it('normal and log-normal latencies centre where asked', () => {
    for (const latency of [
      { kind: 'normal' as const, meanMs: 300, sdMs: 30 },
      { kind: 'lognormal' as const, medianMs: 300, sigma: 0.3 },
    ]) {
      const { w, got, publish } = world({ network: { latency } });
      for (let i = 0; i < 400; i++) publish('a');
      w.runUntil(T0 + 60_000);
      const at = got
        .get('b')!
        .map((x) => x.at)
        .sort((x, y) => x - y);
      const median = at[200]!;
      expect(Math.abs(median - 300)).toBeLessThan(30);
      expect(at[0]!).toBeLessThan(at[399]!);
    }
  });
});

describe('network: relay faults', () => {
  it('loss drops about the configured share, and all of it at 1', () => {
    const some = world({ network: { latency: { kind: 'fixed', ms: 5 }, loss: 0.3 } });
    for (let i = 0; i < 1000; i++) some.publish('a');
    some.w.runUntil(T0 + 1000);
    const share = 1 - some.got.get('b')!.length / 1000;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.35);
    const all = world({ network: { latency: { kind: 'fixed', ms: 5 }, loss: 1 } });
    all.publish('a');
    all.w.runUntil(T0 + 1000);
    expect(all.got.get('b')).toEqual([]);
    expect(all.w.trace.lines().some((l) => l.includes('"reason":"loss"'))).toBe(true);
  });

  it('duplication delivers a second copy', () => {
    const { w, texts, publish } = world();
    w.network.setDefaults({ duplicate: 1 });
    publish('a', 'dup');
    w.runUntil(T0 + 1000);
    expect(texts('b')).toEqual(['dup', 'dup']);
  });

  it('reordering holds messages back so later ones overtake; none without it', () => {
    const plain = world();
    for (let i = 0; i < 50; i++) plain.publish('a', String(i).padStart(2, '0'));
    plain.w.runUntil(T0 + 10_000);
    const inOrder = plain.texts('b');
    expect(inOrder).toEqual([...inOrder].sort());
    const { w, texts, publish } = world();
    w.network.setDefaults({ kind: 'fixed', ms: 50 }, 0, 0, 0.5);
    for (let i = 0; i < 50; i++) publish('a', String(i).padStart(2, '0'));
    w.runUntil(T0 + 10_000);
    const got = texts('b');
    expect(got.length).toBe(50);
    expect(got).not.toEqual([...got].sort());
  });

  it('partitions cut relay between groups until healed', () => {
    const { w, texts, publish } = world({}, ['a', 'b', 'c', 'd']);
    w.network.partition([['a', 'b'], ['c']]);
    publish('a', 'p1');
    publish('c', 'p2');
    w.runUntil(T0 + 1000);
    expect(texts('b')).toEqual(['p1']);
    expect(texts('c')).toEqual([]);
    expect(texts('d')).toEqual([]); // unlisted nodes form a group of their own
    expect(w.network.reachable('a', 'b')).toBe(true);
    expect(w.network.reachable('a', 'c')).toBe(false);
    w.network.heal();
    publish('a', 'p3');
    w.runUntil(T0 + 2000);
    expect(texts('c')).toEqual(['p3']);
    expect(texts('d')).toEqual(['p3']);
  });

  it('a message in flight to a node that goes offline is lost', () => {
    const { w, texts, publish } = world();
    publish('a', 'late');
    w.kernel.schedule(T0 + 20, 'off', () => w.node('b').goOffline());
    w.runUntil(T0 + 1000);
    expect(texts('b')).toEqual([]);
    expect(texts('c')).toEqual(['late']);
  });
});

describe('network: deliveries and the microtask queue', () => {
  it('a delivery drains the microtask queue before the next event, unless its handlers are all synchronous', async () => {
    const drains = async (mark: boolean) => {
      const w = new SimWorld({ seed: 1, startTime: T0, network: { latency: { kind: 'fixed', ms: 50 } } });
      w.addNode({ id: 'a' });
      const seen: number[] = [];
      const handler = () => seen.push(w.kernel.now());
      w.addNode({ id: 'b' }).adapters.messaging.subscribe(
        PS,
        [CT],
        mark ? synchronousHandler(handler) : handler,
      );
      await w.runUntilAsync(T0 + 10);
      const before = w.kernel.drains;
      for (let i = 0; i < 3; i++)
        w.kernel.after(100 * i, 'publish', () => void w.node('a').adapters.messaging.publish(message(0)));
      await w.runUntilAsync(T0 + 1000);
      expect(seen).toHaveLength(3);
      return w.kernel.drains - before;
    };
    const plain = await drains(false);
    const marked = await drains(true);
    // each publish drains (its promise resolves), and so does each plain delivery
    expect(plain).toBe(6);
    expect(marked).toBe(3);
  });
});

describe('nodes offline, crashed, restarted', () => {
  it('offline: relay lost both ways, timers still run; online again: back, and the store has the gap', async () => {
    const { w, texts, publish } = world();
    const b = w.node('b');
    let fired = 0;
    b.adapters.clock.setTimeout(() => fired++, 500);
    b.online = false;
    expect(b.online).toBe(false);
    publish('a', 'missed');
    publish('b', 'unsent');
    w.runUntil(T0 + 1000);
    expect(fired).toBe(1);
    expect(texts('b')).toEqual([]);
    expect(texts('c')).toEqual(['missed']);
    b.goOnline();
    const q = b.adapters.messaging.queryStore({ pubsubTopic: PS, contentTopics: [CT], from: 0, to: 4e9 });
    await w.runUntilAsync(T0 + 2000);
    const history = await q;
    expect(history.map((m) => new TextDecoder().decode(m.message.payload))).toEqual(['missed']);
  });

  it('crash cancels timers and subscriptions; timers of the dead incarnation never fire; restart comes back online', () => {
    const { w, texts, publish } = world();
    const b = w.node('b');
    let fired = 0;
    b.adapters.clock.setTimeout(() => fired++, 500);
    b.crash();
    expect(b.crashed).toBe(true);
    expect(b.online).toBe(false);
    b.adapters.clock.setTimeout(() => fired++, 10);
    publish('a', 'while-down');
    w.runUntil(T0 + 1000);
    expect(fired).toBe(0);
    b.restart();
    expect(b.online).toBe(true);
    publish('a', 'after-restart');
    w.runUntil(T0 + 2000);
    expect(texts('b')).toEqual([]); // subscriptions died with the process
    let got = 0;
    b.adapters.messaging.subscribe(PS, [CT], () => got++);
    b.adapters.clock.setTimeout(() => fired++, 10);
    publish('a', 'resubscribed');
    w.runUntil(T0 + 3000);
    expect(got).toBe(1);
    expect(fired).toBe(1);
  });
});

describe('store service', () => {
  it('answers by range and retention measured against the current virtual time', async () => {
    const { w, publish } = world({ storeRetentionMs: 10 * 24 * 3600_000 });
    publish('a', 'day0');
    await w.runUntilAsync(T0 + 5 * 24 * 3600_000);
    publish('a', 'day5');
    await w.runUntilAsync(T0 + 9 * 24 * 3600_000);
    const ask = () =>
      w.node('c').adapters.messaging.queryStore({ pubsubTopic: PS, contentTopics: [CT], from: 0, to: 4e9 });
    const texts = (ms: RelayMessage[]) => ms.map((m) => new TextDecoder().decode(m.message.payload));
    let q = ask();
    await w.runForAsync(1000);
    expect(texts(await q)).toEqual(['day0', 'day5']);
    await w.runUntilAsync(T0 + 12 * 24 * 3600_000);
    q = ask();
    await w.runForAsync(1000);
    expect(texts(await q)).toEqual(['day5']);
    const rangeQ = w.node('c').adapters.messaging.queryStore({
      pubsubTopic: PS,
      contentTopics: [CT],
      from: Math.floor(T0 / 1000),
      to: Math.floor(T0 / 1000) + 4 * 24 * 3600,
    });
    await w.runForAsync(1000);
    expect(await rangeQ).toEqual([]);
  });

  it('defaults to 30 days of retention and deduplicates copies', async () => {
    const { w, publish } = world();
    w.network.setDefaults({ duplicate: 1 });
    publish('a', 'old');
    await w.runUntilAsync(T0 + 29 * 24 * 3600_000);
    const q1 = w
      .node('b')
      .adapters.messaging.queryStore({ pubsubTopic: PS, contentTopics: [CT], from: 0, to: 4e9 });
    await w.runForAsync(1000);
    expect((await q1).length).toBe(1);
    await w.runUntilAsync(T0 + 31 * 24 * 3600_000);
    const q2 = w
      .node('b')
      .adapters.messaging.queryStore({ pubsubTopic: PS, contentTopics: [CT], from: 0, to: 4e9 });
    await w.runForAsync(1000);
    expect((await q2).length).toBe(0);
  });

  it('rejects queries after a timeout when the store is down or the node offline', async () => {
    const { w } = world();
    w.network.setStoreOnline(false);
    const q = w
      .node('a')
      .adapters.messaging.queryStore({ pubsubTopic: PS, contentTopics: [CT], from: 0, to: 4e9 });
    let settled = false;
    q.catch(() => {}).finally(() => {
      settled = true;
    });
    await w.runForAsync(STORE_TIMEOUT_MS - 1);
    expect(settled).toBe(false);
    await w.runForAsync(10);
    await expect(q).rejects.toBeInstanceOf(StoreUnavailable);
    w.network.setStoreOnline(true);
    w.node('a').goOffline();
    const q2 = w
      .node('a')
      .adapters.messaging.queryStore({ pubsubTopic: PS, contentTopics: [CT], from: 0, to: 4e9 });
    q2.catch(() => {});
    await w.runForAsync(STORE_TIMEOUT_MS + 10);
    await expect(q2).rejects.toBeInstanceOf(StoreUnavailable);
  });

  it('says when the store is available: the node up and online, the store service up', async () => {
    const { w } = world();
    const times: Record<string, number> = {};
    const wait = (name: string, node: string) =>
      w
        .node(node)
        .adapters.messaging.whenStoreAvailable()
        .then(() => {
          times[name] = w.kernel.now();
        });
    void wait('at once', 'a');
    await w.runForAsync(1);
    expect(times['at once']).toBe(T0);
    w.network.setStoreOnline(false);
    w.node('b').goOffline();
    void wait('b', 'b');
    void wait('c', 'c');
    w.kernel.schedule(T0 + 1000, 'test', () => w.network.setStoreOnline(true), undefined);
    w.kernel.schedule(T0 + 3000, 'test', () => w.node('b').goOnline(), undefined);
    await w.runForAsync(5000);
    expect(times).toEqual({ 'at once': T0, c: T0 + 1000, b: T0 + 3000 });
    // a crashed node's wait never ends
    w.network.setStoreOnline(false);
    let crashedWaitEnded = false;
    void w
      .node('c')
      .adapters.messaging.whenStoreAvailable()
      .then(() => {
        crashedWaitEnded = true;
      });
    w.node('c').crash();
    w.network.setStoreOnline(true);
    await w.runForAsync(1000);
    expect(crashedWaitEnded).toBe(false);
  });
});
