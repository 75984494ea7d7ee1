// Contract of the Messaging port (Waku-like relay + store), for any implementation. The
// fixture gives at least three endpoints on one network and a way to let time pass.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Messaging, RelayMessage } from '../../ports/messaging.ts';
import type { WakuMessage } from '../../proto/types.ts';

export interface MessagingFixture {
  /** At least three endpoints that can reach each other and the store. */
  nodes: Messaging[];
  /** Let `ms` of the implementation's time pass. */
  settle(ms: number): Promise<void>;
  /** The implementation's current time, ms since the epoch (message timestamps derive from it). */
  now(): number;
  /** Time for a message to reach every subscriber and the store (default 1000 ms). */
  deliveryMs?: number;
  teardown?(): Promise<void> | void;
}

export const CONTRACT_PUBSUB = '/waku/2/archivist-contract/proto';
export const TOPIC_A = '/waku/1/0x0a0a0a0a/rfc26';
export const TOPIC_B = '/waku/1/0x0b0b0b0b/rfc26';

let counter = 0;

/** A message whose hash is the SHA-256 of its fields (unique per call). */
export function contractMessage(
  contentTopic: string,
  timestamp: number,
  text = `m${++counter}`,
): RelayMessage {
  const payload = new TextEncoder().encode(text);
  const topic = Buffer.from(contentTopic.slice(11, 19), 'hex');
  const hash = createHash('sha256').update(`${contentTopic}|${timestamp}|${text}`).digest();
  const message: WakuMessage = {
    sig: new Uint8Array(65).fill(1),
    timestamp,
    topic: new Uint8Array(topic),
    payload,
    padding: new Uint8Array(0),
    hash: new Uint8Array(hash),
    thirdPartyId: '',
  };
  return { pubsubTopic: CONTRACT_PUBSUB, contentTopic, message };
}

async function settleUntil<T>(fx: MessagingFixture, p: Promise<T>, maxMs = 30_000): Promise<T> {
  let state: 'pending' | 'ok' | 'err' = 'pending';
  let value: T | undefined;
  let error: unknown;
  p.then(
    (v) => {
      state = 'ok';
      value = v;
    },
    (e) => {
      state = 'err';
      error = e;
    },
  );
  for (let waited = 0; state === 'pending' && waited < maxMs; waited += 100) await fx.settle(100);
  if (state === 'pending') throw new Error(`still pending after ${maxMs} ms`);
  if (state === 'err') throw error;
  return value as T;
}

function texts(msgs: RelayMessage[]): string[] {
  return msgs.map((m) => new TextDecoder().decode(m.message.payload));
}

export function describeMessagingContract(name: string, factory: () => Promise<MessagingFixture>): void {
  describe(`Messaging contract: ${name}`, () => {
    async function withFixture(
      fn: (fx: MessagingFixture, wait: () => Promise<void>) => Promise<void>,
    ): Promise<void> {
      const fx = await factory();
      expect(fx.nodes.length).toBeGreaterThanOrEqual(3);
      try {
        await fn(fx, () => fx.settle(fx.deliveryMs ?? 1000));
      } finally {
        await fx.teardown?.();
      }
    }
    const seconds = (fx: MessagingFixture) => Math.floor(fx.now() / 1000);

    it('delivers a published message to subscribers of its content topic, intact', () =>
      withFixture(async (fx, wait) => {
        const [a, b, c] = fx.nodes as [Messaging, Messaging, Messaging];
        const atB: RelayMessage[] = [];
        const atC: RelayMessage[] = [];
        b.subscribe(CONTRACT_PUBSUB, [TOPIC_A], (m) => atB.push(m));
        c.subscribe(CONTRACT_PUBSUB, [TOPIC_A, TOPIC_B], (m) => atC.push(m));
        await wait();
        const msg = contractMessage(TOPIC_A, seconds(fx), 'hello');
        await a.publish(msg);
        await wait();
        expect(texts(atB)).toEqual(['hello']);
        expect(texts(atC)).toEqual(['hello']);
        const got = atB[0]!;
        expect(got.pubsubTopic).toBe(CONTRACT_PUBSUB);
        expect(got.contentTopic).toBe(TOPIC_A);
        expect(got.message.timestamp).toBe(msg.message.timestamp);
        expect([...got.message.payload]).toEqual([...msg.message.payload]);
        expect([...got.message.hash]).toEqual([...msg.message.hash]);
        expect([...got.message.sig]).toEqual([...msg.message.sig]);
      }));

    it('filters by content topic and by pubsub topic', () =>
      withFixture(async (fx, wait) => {
        const [a, b] = fx.nodes as [Messaging, Messaging];
        const atB: RelayMessage[] = [];
        b.subscribe(CONTRACT_PUBSUB, [TOPIC_A], (m) => atB.push(m));
        await wait();
        await a.publish(contractMessage(TOPIC_B, seconds(fx), 'other-content-topic'));
        // Nobody relays that pubsub topic: an implementation may refuse to publish there.
        await a
          .publish({
            ...contractMessage(TOPIC_A, seconds(fx), 'other-pubsub'),
            pubsubTopic: '/waku/2/elsewhere/proto',
          })
          .catch(() => {});
        await a.publish(contractMessage(TOPIC_A, seconds(fx), 'wanted'));
        await wait();
        expect(texts(atB)).toEqual(['wanted']);
      }));

    it('stops delivering after unsubscribe', () =>
      withFixture(async (fx, wait) => {
        const [a, b] = fx.nodes as [Messaging, Messaging];
        const atB: RelayMessage[] = [];
        const stop = b.subscribe(CONTRACT_PUBSUB, [TOPIC_A], (m) => atB.push(m));
        await wait();
        await a.publish(contractMessage(TOPIC_A, seconds(fx), 'before'));
        await wait();
        stop();
        stop();
        await a.publish(contractMessage(TOPIC_A, seconds(fx), 'after'));
        await wait();
        expect(texts(atB)).toEqual(['before']);
      }));

    it('answers store queries by content topics and [from, to), ordered by timestamp', () =>
      withFixture(async (fx, wait) => {
        const [a, b, c] = fx.nodes as [Messaging, Messaging, Messaging];
        b.subscribe(CONTRACT_PUBSUB, [TOPIC_A, TOPIC_B], () => {});
        await wait();
        const t = seconds(fx) - 100;
        // published out of timestamp order on purpose
        await a.publish(contractMessage(TOPIC_A, t + 2, 'a2'));
        await a.publish(contractMessage(TOPIC_A, t, 'a0'));
        await a.publish(contractMessage(TOPIC_A, t + 1, 'a1'));
        await a.publish(contractMessage(TOPIC_B, t + 1, 'b1'));
        await wait();
        const q = (contentTopics: string[], from: number, to: number) =>
          settleUntil(fx, c.queryStore({ pubsubTopic: CONTRACT_PUBSUB, contentTopics, from, to }));
        expect(texts(await q([TOPIC_A], t, t + 2))).toEqual(['a0', 'a1']);
        expect(texts(await q([TOPIC_A], t, t + 3))).toEqual(['a0', 'a1', 'a2']);
        const both = texts(await q([TOPIC_A, TOPIC_B], t, t + 3));
        expect(both.length).toBe(4);
        expect(both[0]).toBe('a0');
        expect(both[3]).toBe('a2');
        expect(new Set(both.slice(1, 3))).toEqual(new Set(['a1', 'b1']));
        expect(await q([TOPIC_B], t + 2, t + 10)).toEqual([]);
      }));

    it('says when the store can be reached, and gives up a wait whose signal aborts', () =>
      withFixture(async (fx) => {
        const c = fx.nodes[2] as Messaging;
        await settleUntil(fx, c.whenStoreAvailable());
        const aborted = new AbortController();
        aborted.abort(new Error('given up'));
        await expect(c.whenStoreAvailable(aborted.signal)).rejects.toThrow('given up');
      }));
  });
}
