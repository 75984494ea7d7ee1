// How far the flow-level swarm's per-member completion times are from the piece-level
// swarm's on the same community (docs/simulation.md, "Flow-level swarm"): 100 members,
// 4 weekly rounds of 2,000 messages a day, the same seed; per member and round, the time
// from the owner's magnetlink to the member's historyArchiveDownloaded.
import { describe, expect, it } from 'vitest';
import { DAY } from '../machines/options.ts';
import type { NodeAdapters, Storage } from '../ports/index.ts';
import type { WakuMessage } from '../proto/types.ts';
import { createHarness } from '../scenarios/harness.ts';
import type { SwarmModel } from '../sim/swarm.ts';

/** A member's storage that counts imported messages instead of keeping them (100 copies of a month would not fit). */
function countingStorage(inner: Storage): Storage {
  let imported = 0;
  const s = Object.create(null) as Storage;
  s.saveMessages = (m: WakuMessage[]) => {
    imported += m.length;
    return m.length;
  };
  s.messagesInRange = () => [];
  s.oldestMessageTimestamp = () => undefined;
  s.newestMessageTimestamp = () => undefined;
  s.deleteMessagesInRange = () => 0;
  s.countMessages = () => imported;
  s.getArchiveState = (id) => inner.getArchiveState(id);
  s.updateArchiveState = (id, p) => inner.updateArchiveState(id, p);
  s.archives = (id) => inner.archives(id);
  s.markArchiveDownloaded = (id, r) => inner.markArchiveDownloaded(id, r);
  s.markArchiveImported = (id, a) => inner.markArchiveImported(id, a);
  s.forgetCommunity = (id) => inner.forgetCommunity(id);
  return s;
}

interface RoundTimes {
  /** Per member (id order), per round: ms from the magnetlink to the archive downloaded. */
  times: number[][];
  /** Transfers (runs or flows) delivered. */
  transfers: number;
}

async function roundTimes(model: SwarmModel, seed: number): Promise<RoundTimes> {
  const dispatched: number[] = [];
  const done = new Map<string, number[]>();
  const h = await createHarness({
    seed,
    members: 100,
    messagesPerDay: 2000,
    durationMs: 4 * 7 * DAY + DAY,
    liveDelivery: 'owner',
    swarm: { tracePieces: true, model },
    keepSignals: false,
    options: {
      importRate: 'fast',
      archiveCache: new Map(),
      magnetlinkPubsubTopicOf: (id) => `/waku/2/${id}/archive`,
    },
    adaptersFor: (node) =>
      node.id === 'owner'
        ? node.adapters
        : ({ ...node.adapters, storage: countingStorage(node.adapters.storage) } as NodeAdapters),
    onSignal: (node, signal) => {
      if (signal.type === 'archive.magnetlinkDispatched') dispatched.push(signal.t);
      if (signal.type === 'community.historyArchiveDownloaded') {
        const list = done.get(node.id) ?? [];
        list.push(signal.t - dispatched[list.length]!);
        done.set(node.id, list);
      }
    },
  });
  let transfers = 0;
  h.world.trace.onRecord((r) => {
    if (r.kind === 'swarm.piece') transfers++;
  });
  const summary = await h.run();
  expect(summary.violation).toBeUndefined();
  return { times: [...done].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, t]) => t), transfers };
}

const quantile = (xs: number[], q: number): number =>
  [...xs].sort((a, b) => a - b)[Math.floor(q * (xs.length - 1))]!;

/** Seeds pooled: one seed's pairing is as noisy as the piece level is against itself. */
const SEEDS = [1, 2, 3];

describe('flow-level swarm: accuracy against the piece-level swarm', () => {
  it('per-member completion times of each round within a few per cent, with a tenth of the transfers', async () => {
    const rel: number[] = [];
    const signed: number[] = [];
    const roundMedians: number[] = [];
    for (const seed of SEEDS) {
      const piece = await roundTimes('piece', seed);
      const flow = await roundTimes('flow', seed);
      expect(piece.times).toHaveLength(100);
      expect(flow.times).toHaveLength(100);
      piece.times.forEach((rounds, i) => {
        expect(rounds).toHaveLength(4);
        expect(flow.times[i]).toHaveLength(4);
        rounds.forEach((p, j) => {
          const f = flow.times[i]![j]!;
          rel.push(Math.abs(f - p) / p);
          signed.push((f - p) / p);
        });
      });
      // the shape of a round: its median member, flow against piece level
      for (let j = 0; j < 4; j++) {
        const p = quantile(
          piece.times.map((r) => r[j]!),
          0.5,
        );
        const f = quantile(
          flow.times.map((r) => r[j]!),
          0.5,
        );
        roundMedians.push(Math.abs(f - p) / p);
      }
      expect(flow.transfers * 8).toBeLessThan(piece.transfers);
    }
    // the figures docs/simulation.md states (seeds 1–3 pooled): per member median 8.3 %,
    // p90 20.0 %, signed median −7.5 % (flows finish early); a round's median member
    // within 26 % (half the rounds within 6 %). These bounds guard that figure from drifting;
    // they are not the 5 % issue 13 aimed for.
    expect(quantile(rel, 0.5)).toBeLessThan(0.1);
    expect(quantile(rel, 0.9)).toBeLessThan(0.25);
    expect(Math.abs(quantile(signed, 0.5))).toBeLessThan(0.1);
    expect(quantile(roundMedians, 0.5)).toBeLessThan(0.08);
    expect(Math.max(...roundMedians)).toBeLessThan(0.3);
  }, 180_000);
});
