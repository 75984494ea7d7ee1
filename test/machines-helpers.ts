// Shared helpers of the machines tests: a small harness on the simulated world, with the
// invariant monitors on (every test asserts they saw no violation), plus signal queries.

import { expect } from 'vitest';
import { type ArchiveCodec, MissingKeyError } from '../archive/index.ts';
import { DAY } from '../machines/options.ts';
import type { NodeSignal } from '../machines/signals.ts';
import { magnetlinkChannelMessage, magnetlinkTopicOf } from '../proto/magnetlink-channel.ts';
import { createHarness, type Harness, type HarnessConfig, type HarnessNode } from '../scenarios/harness.ts';

export const WEEK = 7 * DAY;

export async function small(patch: Partial<HarnessConfig> = {}): Promise<Harness> {
  return createHarness({ seed: 7, members: 2, messagesPerDay: 30, durationMs: 15 * DAY, ...patch });
}

export function ofType<T extends NodeSignal['type']>(
  n: HarnessNode,
  type: T,
): Extract<NodeSignal, { type: T }>[] {
  return n.log.filter((s) => s.type === type) as Extract<NodeSignal, { type: T }>[];
}

/** The run kept every invariant that it exercised. */
export function expectNoViolation(h: Harness): void {
  const v = h.monitor.violation;
  expect(v, v ? `${v.invariant}: ${v.message}` : '').toBeUndefined();
}

/** Publish a magnetlink message signed by `priv` on the community's channel, from `fromId`. */
export function publishMagnetlink(
  h: Harness,
  fromId: string,
  priv: Uint8Array,
  clockMs: number,
  magnetUri: string,
): void {
  const onChannel = magnetlinkChannelMessage(magnetlinkTopicOf(h.communityId), priv, clockMs, magnetUri);
  void h.node(fromId).adapters.messaging.publish({
    pubsubTopic: (h.options.magnetlinkPubsubTopicOf ?? h.options.pubsubTopicOf)(h.communityId),
    ...onChannel,
  });
}

export function at(h: Harness, offsetMs: number): number {
  return h.start + offsetMs;
}

/**
 * A stand-in for an encrypted community's hash ratchet: a marker byte plain decoding
 * rejects, and a flag saying whether the key is known yet.
 */
export function ratchet(): ArchiveCodec & { keyKnown: boolean } {
  const c = {
    keyKnown: true,
    encode: (plain: Uint8Array) => {
      const out = new Uint8Array(plain.length + 1);
      out[0] = 0xff;
      out.set(plain, 1);
      return out;
    },
    decode: (stored: Uint8Array) => {
      if (!c.keyKnown) throw new MissingKeyError();
      return stored.subarray(1);
    },
  };
  return c;
}
