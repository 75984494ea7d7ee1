// Messaging over libp2p gossipsub speaking Waku relay, and archivist's store service, on
// 127.0.0.1: relay delivery with every archive field intact, content-topic filtering,
// history queries with pagination and retention, and malformed network input ignored.
import { afterEach, describe, expect, it } from 'vitest';
import { Libp2pMessaging, StoreUnavailable } from '../adapters/real/libp2p-messaging.ts';
import { StoreService } from '../adapters/real/store-service.ts';
import { SystemClock } from '../adapters/real/system-clock.ts';
import { decodeWakuV2, encodeWakuV2, fromWakuV2, toWakuV2 } from '../adapters/real/waku-wire.ts';
import type { RelayMessage } from '../ports/messaging.ts';
import { CONTRACT_PUBSUB, describeMessagingContract } from './contract/messaging.contract.ts';

const PUBSUB = '/waku/2/rs/16/32';
const CT_A = '/waku/1/0x0a0b0c0d/rfc26';
const CT_B = '/waku/1/0x01020304/rfc26';

const nodes: Libp2pMessaging[] = [];
async function node(opts: ConstructorParameters<typeof Libp2pMessaging>[0] = {}): Promise<Libp2pMessaging> {
  const n = new Libp2pMessaging(opts);
  nodes.push(n);
  await n.start();
  return n;
}
afterEach(async () => {
  await Promise.all(nodes.splice(0).map((n) => n.stop()));
});

function manualClock(nowMs: number) {
  return {
    nowMs,
    now() {
      return this.nowMs;
    },
    setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
    clearTimeout: (h: unknown) => clearTimeout(h as NodeJS.Timeout),
  };
}

function relayMsg(
  contentTopic: string,
  ts: number,
  n: number,
  extra: Partial<RelayMessage['message']> = {},
): RelayMessage {
  const topic = Buffer.from(contentTopic.slice(10, 18), 'hex');
  return {
    pubsubTopic: PUBSUB,
    contentTopic,
    message: {
      sig: Uint8Array.of(0x30, n),
      timestamp: ts,
      topic: new Uint8Array(topic),
      payload: Uint8Array.of(1, 2, 3, n),
      padding: new Uint8Array(0),
      hash: new Uint8Array(32).fill(n),
      thirdPartyId: '',
      ...extra,
    },
  };
}

// Generous bound: gossipsub meshes form on 1 s heartbeats, slower on a loaded 2-core CI machine.
function waitFor(cond: () => boolean, ms = 15_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const start = Date.now();
    const tick = () => {
      if (cond()) return resolve();
      if (Date.now() - start > ms) return reject(new Error('condition not met in time'));
      setTimeout(tick, 10);
    };
    tick();
  });
}

describe('Waku v2 wire mapping', () => {
  it('round-trips every archive field and refuses malformed input without throwing', () => {
    const m = relayMsg(CT_A, 1_700_000_000, 7, { padding: Uint8Array.of(0, 0), thirdPartyId: 'discord-9' });
    expect(fromWakuV2(PUBSUB, decodeWakuV2(encodeWakuV2(m))!)).toEqual(m);
    const odd = relayMsg(CT_A, 5, 8, { topic: Uint8Array.of(9, 9, 9, 9) });
    expect(fromWakuV2(PUBSUB, decodeWakuV2(encodeWakuV2(odd))!)).toEqual(odd);
    const plain = relayMsg(CT_B, 1, 1, { sig: new Uint8Array(0), hash: new Uint8Array(0) });
    expect(toWakuV2(plain).meta).toBeUndefined();
    expect(toWakuV2(plain).timestamp).toBe(1_000_000_000n);
    expect(decodeWakuV2(Uint8Array.of(0xff, 0xff, 0xff))).toBeUndefined();
    expect(
      fromWakuV2(PUBSUB, { payload: Uint8Array.of(1), contentTopic: '/not/a/status/topic' }),
    ).toBeUndefined();
    expect(fromWakuV2(PUBSUB, { payload: new Uint8Array(0), contentTopic: CT_A })).toBeUndefined();
    expect(
      fromWakuV2(PUBSUB, { payload: Uint8Array.of(1), contentTopic: CT_A, meta: Uint8Array.of(0x0a, 0x40) }),
    ).toBeUndefined();
    for (let i = 0; i < 200; i++) {
      const junk = new Uint8Array(i % 40).map((_, j) => (i * 31 + j * 7) & 255);
      const w = decodeWakuV2(junk);
      if (w) fromWakuV2(PUBSUB, w);
    }
  });
});

describe('Libp2pMessaging', () => {
  it('relays messages between processes-worth of nodes, filtered by content topic', async () => {
    const hub = await node({ storeTopics: [PUBSUB] });
    const a = await node({ peers: hub.multiaddrs() });
    const b = await node({ peers: hub.multiaddrs() });
    const gotB: RelayMessage[] = [];
    const gotAll: RelayMessage[] = [];
    const unsub = b.subscribe(PUBSUB, [CT_A], (m) => gotB.push(m));
    b.subscribe(PUBSUB, [], (m) => gotAll.push(m));
    await a.waitForRelayPeers(PUBSUB, 1, AbortSignal.timeout(5000));
    await hub.waitForRelayPeers(PUBSUB, 2, AbortSignal.timeout(5000));
    const m1 = relayMsg(CT_A, 1_700_000_000, 1, { thirdPartyId: 'x' });
    await a.publish(m1);
    await a.publish(relayMsg(CT_B, 1_700_000_001, 2));
    await waitFor(() => gotAll.length === 2);
    expect(gotB).toEqual([m1]);
    unsub();
    await a.publish(relayMsg(CT_A, 1_700_000_002, 3));
    await waitFor(() => gotAll.length === 3);
    expect(gotB).toHaveLength(1);
  });

  it('answers history from the store service, paged, by range and content topic', async () => {
    const clock = manualClock(1_700_001_000_000);
    const store = await node({ store: { clock, retentionSeconds: 3600 }, storeTopics: [PUBSUB] });
    const a = await node({ peers: store.multiaddrs() });
    await a.waitForRelayPeers(PUBSUB, 1, AbortSignal.timeout(5000));
    const sent: RelayMessage[] = [];
    for (let i = 0; i < 130; i++) {
      const m = relayMsg(i % 2 ? CT_A : CT_B, 1_700_000_000 + i, i);
      sent.push(m);
      await a.publish(m);
    }
    await waitFor(() => store.store!.size === 130);
    const reader = await node({ storePeers: store.multiaddrs() });
    const all = await reader.queryStore({
      pubsubTopic: PUBSUB,
      contentTopics: [CT_A],
      from: 1_700_000_000,
      to: 1_700_000_200,
    });
    expect(all).toEqual(sent.filter((_, i) => i % 2));
    const range = await reader.queryStore({
      pubsubTopic: PUBSUB,
      contentTopics: [CT_A, CT_B],
      from: 1_700_000_010,
      to: 1_700_000_020,
    });
    expect(range.map((m) => m.message.timestamp)).toEqual(
      [...Array(10).keys()].map((i) => 1_700_000_010 + i),
    );

    // Retention: one hour after the newest message, only the last minute's messages remain.
    clock.nowMs = (1_700_000_129 + 3600 - 60) * 1000;
    const kept = await reader.queryStore({
      pubsubTopic: PUBSUB,
      contentTopics: [],
      from: 0,
      to: 2_000_000_000,
    });
    expect(kept.map((m) => m.message.timestamp)).toEqual([...Array(61).keys()].map((i) => 1_700_000_069 + i));
  });

  it('syncs history from the store on subscribe, then live, each message once', async () => {
    const clock = manualClock(Date.now());
    const store = await node({ store: { clock, retentionSeconds: 3600 }, storeTopics: [PUBSUB] });
    const a = await node({ peers: store.multiaddrs() });
    await a.waitForRelayPeers(PUBSUB, 1, AbortSignal.timeout(5000));
    const now = Math.floor(Date.now() / 1000);
    const m1 = relayMsg(CT_A, now - 100, 1);
    const m2 = relayMsg(CT_A, now - 50, 2);
    await a.publish(m1);
    await a.publish(relayMsg(CT_B, now - 40, 3));
    await a.publish(m2);
    await waitFor(() => store.store!.size === 3);
    const late = await node({
      peers: store.multiaddrs(),
      storePeers: store.multiaddrs(),
      historyOnSubscribeSeconds: 3600,
    });
    const got: RelayMessage[] = [];
    late.subscribe(PUBSUB, [CT_A], (m) => got.push(m));
    await waitFor(() => got.length === 2);
    await store.waitForRelayPeers(PUBSUB, 2, AbortSignal.timeout(15_000));
    await late.waitForRelayPeers(PUBSUB, 1, AbortSignal.timeout(15_000));
    const m4 = relayMsg(CT_A, now, 4);
    await a.publish(m4);
    await waitFor(() => got.length === 3);
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual([m1, m2, m4]);
  });

  it('rejects a store query when no store node answers', async () => {
    const lone = await node();
    await expect(lone.queryStore({ pubsubTopic: PUBSUB, contentTopics: [], from: 0, to: 1 })).rejects.toThrow(
      StoreUnavailable,
    );
    const gone = await node({ store: { clock: manualClock(0), retentionSeconds: 1 } });
    const addr = gone.multiaddrs();
    await gone.stop();
    const asker = await node({ storePeers: addr, storeTimeoutMs: 3000 });
    await expect(
      asker.queryStore({ pubsubTopic: PUBSUB, contentTopics: [], from: 0, to: 1 }),
    ).rejects.toThrow(/no store node answered/);
  });

  it('a store node without store peers is its own store: it answers its queries and is available at once', async () => {
    const clock = manualClock(1_700_001_000_000);
    const store = await node({ store: { clock, retentionSeconds: 3600 }, storeTopics: [PUBSUB] });
    const a = await node({ peers: store.multiaddrs() });
    await a.waitForRelayPeers(PUBSUB, 1, AbortSignal.timeout(5000));
    const m = relayMsg(CT_A, 1_700_000_000, 1);
    await a.publish(m);
    await waitFor(() => store.store!.size === 1);
    await store.whenStoreAvailable();
    expect(
      await store.queryStore({
        pubsubTopic: PUBSUB,
        contentTopics: [CT_A],
        from: 1_700_000_000,
        to: 1_700_000_001,
      }),
    ).toEqual([m]);
  });

  it('waits for a store peer that can be dialled, and gives up when its signal aborts', async () => {
    const gone = await node({ store: { clock: manualClock(0), retentionSeconds: 1 } });
    const addr = gone.multiaddrs();
    await gone.stop();
    const asker = await node({ storePeers: addr });
    const stop = new AbortController();
    const wait = asker.whenStoreAvailable(stop.signal);
    let settled = false;
    wait.then(
      () => {
        settled = true;
      },
      () => {
        settled = true;
      },
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toBe(false);
    stop.abort(new Error('stopped waiting'));
    await expect(wait).rejects.toThrow('stopped waiting');
    const store = await node({ store: { clock: manualClock(0), retentionSeconds: 1 } });
    await node({ storePeers: store.multiaddrs() }).then((n) =>
      n.whenStoreAvailable(AbortSignal.timeout(5000)),
    );
  });

  it('answers bad store requests with status 400 instead of failing', () => {
    const s = new StoreService({ clock: manualClock(0), retentionSeconds: 10 });
    expect(
      s.query({
        requestId: 'r',
        includeData: true,
        contentTopics: [],
        messageHashes: [],
        paginationForward: true,
      }).statusCode,
    ).toBe(400);
    expect(
      s.query({
        requestId: 'r',
        includeData: true,
        pubsubTopic: PUBSUB,
        contentTopics: [],
        messageHashes: [],
        paginationForward: true,
        paginationCursor: Uint8Array.of(1),
      }).statusCode,
    ).toBe(400);
  });
});

describeMessagingContract('libp2p gossipsub as Waku relay + archivist store service', async () => {
  const clock = new SystemClock();
  const started: Libp2pMessaging[] = [];
  const store = new Libp2pMessaging({
    store: { clock, retentionSeconds: 30 * 86_400 },
    storeTopics: [CONTRACT_PUBSUB],
  });
  await store.start();
  started.push(store);
  const hub = store.multiaddrs();
  const endpoints: Libp2pMessaging[] = [];
  for (let i = 0; i < 3; i++) {
    const n = new Libp2pMessaging({ peers: hub, storePeers: hub });
    await n.start();
    started.push(n);
    endpoints.push(n);
  }
  return {
    nodes: endpoints,
    settle: (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)),
    now: () => clock.now(),
    deliveryMs: 400,
    teardown: async () => {
      await Promise.all(started.map((n) => n.stop()));
    },
  };
});
