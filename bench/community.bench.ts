// `npm run bench:community [-- --members N --weeks W --per-day M --swarm piece|flow --progress]`: one
// owner and N members (default 5,000) running the archive node actors on the simulated world
// for W weekly rounds (default 52) of M messages a day (default 2,000) of 200–2,000 bytes;
// every member downloads every archive through the simulated swarm (`--swarm piece`, the
// default: the piece-level model with its default options; `--swarm flow`: the flow-level
// model) and imports it. Prints events/s, the virtual-to-wall ratio, wall time, peak RSS and
// the members' completion times of each round's download (from the owner's magnetlink to
// the member's historyArchiveDownloaded): median and p90 over members and rounds; the cost
// per member-round and week W's cost against week 1's.
//
// What is lightened for scale, and why it does not change the protocol run:
// - members keep archive bookkeeping in the simulated storage but count imported messages
//   instead of storing them (5,000 copies of a year of messages would not fit in memory);
// - decoded archives are shared between members (`archiveCache`): every member's bytes are
//   piece-verified copies of the owner's, so one decode per archive is enough;
// - only the owner listens to live chat traffic (members get history from the archives),
//   and the magnetlink channel travels on its own pubsub topic, so members do not relay
//   every chat message (`magnetlinkPubsubTopicOf`);

import { parseArgs } from 'node:util';
import { DAY } from '../machines/options.ts';
import type { NodeAdapters, Storage } from '../ports/index.ts';
import type { WakuMessage } from '../proto/types.ts';
import { createHarness } from '../scenarios/harness.ts';

const { values } = parseArgs({
  options: {
    members: { type: 'string', default: '5000' },
    weeks: { type: 'string', default: '52' },
    'per-day': { type: 'string', default: '2000' },
    seed: { type: 'string', default: '1' },
    swarm: { type: 'string', default: 'piece' },
    progress: { type: 'boolean', default: false },
  },
});
const members = Number(values.members);
const weeks = Number(values.weeks);
const perDay = Number(values['per-day']);
const seed = Number(values.seed);
for (const [k, v] of Object.entries({ members, weeks, perDay, seed })) {
  if (!Number.isInteger(v) || v < 0) {
    process.stderr.write(`--${k}: expected a non-negative integer\n`);
    process.exit(2);
  }
}
const model = values.swarm;
if (model !== 'piece' && model !== 'flow') {
  process.stderr.write(`--swarm: expected piece or flow, got ${model}\n`);
  process.exit(2);
}

/** A member's storage that counts imported messages instead of keeping them. */
function countingStorage(inner: Storage): Storage & { imported: number } {
  const s = Object.create(null) as Storage & { imported: number };
  s.imported = 0;
  s.saveMessages = (m: WakuMessage[]) => {
    s.imported += m.length;
    return m.length;
  };
  s.messagesInRange = () => [];
  s.oldestMessageTimestamp = () => undefined;
  s.newestMessageTimestamp = () => undefined;
  s.deleteMessagesInRange = () => 0;
  s.countMessages = () => s.imported;
  s.getArchiveState = (id) => inner.getArchiveState(id);
  s.updateArchiveState = (id, p) => inner.updateArchiveState(id, p);
  s.archives = (id) => inner.archives(id);
  s.markArchiveDownloaded = (id, r) => inner.markArchiveDownloaded(id, r);
  s.markArchiveImported = (id, a) => inner.markArchiveImported(id, a);
  s.forgetCommunity = (id) => inner.forgetCommunity(id);
  return s;
}

/** Decoded archives shared by the members, the few most recent only (members import together). */
class RecentArchives<K, V> extends Map<K, V> {
  override set(key: K, value: V): this {
    super.set(key, value);
    while (this.size > 8) this.delete(this.keys().next().value as K);
    return this;
  }
}

const median = (xs: number[]): number => {
  const v = [...xs].sort((a, b) => a - b);
  return ((v[(v.length - 1) >> 1] as number) + (v[v.length >> 1] as number)) / 2;
};

let peakRss = 0;
const sampleRss = (): void => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
};

/** When the owner dispatched each round's magnetlink, and the members' completion times (ms). */
const dispatched: number[] = [];
const downloadedBy = new Map<string, number>();
const completion: number[] = [];
const quantile = (xs: number[], q: number): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(q * (s.length - 1))]!;
};

const wall0 = performance.now();
const h = await createHarness({
  seed,
  members,
  messagesPerDay: perDay,
  durationMs: weeks * 7 * DAY + DAY,
  liveDelivery: 'owner',
  swarm: { tracePieces: false, model },
  keepSignals: false,
  onSignal: (node, signal) => {
    if (signal.type === 'archive.magnetlinkDispatched') dispatched.push(signal.t);
    else if (signal.type === 'community.historyArchiveDownloaded') {
      const n = (downloadedBy.get(node.id) ?? 0) + 1;
      downloadedBy.set(node.id, n);
      const sent = dispatched[n - 1];
      if (sent !== undefined) completion.push(signal.t - sent);
    }
  },
  options: {
    importRate: 'fast',
    archiveCache: new RecentArchives(),
    magnetlinkPubsubTopicOf: (id) => `/waku/2/${id}/archive`,
  },
  adaptersFor: (node) =>
    node.id === 'owner'
      ? node.adapters
      : ({ ...node.adapters, storage: countingStorage(node.adapters.storage) } as NodeAdapters),
});
const setupMs = performance.now() - wall0;
const end = h.start + weeks * 7 * DAY + DAY;
const sliceMs = DAY;
let day = 0;
/** Wall ms of each simulated week (the round at its end included). */
const weekMs: number[] = [];
let weekStart = performance.now();
while (h.world.kernel.now() < end && !h.monitor.violation) {
  await h.world.runUntilAsync(Math.min(end, h.world.kernel.now() + sliceMs));
  sampleRss();
  if (++day % 7 === 0) {
    const now = performance.now();
    weekMs.push(now - weekStart);
    weekStart = now;
    if (values.progress) {
      const wall = ((now - wall0) / 1000).toFixed(1);
      process.stderr.write(
        `week ${day / 7}: ${h.world.kernel.processed} events, ${wall} s wall, ${Math.round(peakRss / 2 ** 20)} MiB\n`,
      );
    }
  }
}
const wallMs = performance.now() - wall0;
const s = h.summary();
const imported = s.members.reduce((a, m) => a + m.messagesImported, 0);
const fullyImported = s.members.filter(
  (m) => m.imported === s.rounds.reduce((a, r) => a + r.archives, 0),
).length;
const virtualMs = end - h.start;
const out = {
  members,
  weeks,
  swarm: model,
  messagesPerDay: perDay,
  rounds: s.rounds.length,
  archives: s.rounds.reduce((a, r) => a + r.archives, 0),
  magnetlinks: s.magnetlinks.length,
  messagesPublished: s.messagesPublished,
  membersFullyImported: fullyImported,
  messagesImported: imported,
  bytesDownMembers: s.members.reduce((a, m) => a + m.bytesDown, 0),
  completionMs: {
    median: quantile(completion, 0.5),
    p90: quantile(completion, 0.9),
    count: completion.length,
  },
  events: s.events,
  eventsPerSecond: Math.round(s.events / (wallMs / 1000)),
  virtualToWall: Math.round(virtualMs / wallMs),
  wallSeconds: Number((wallMs / 1000).toFixed(2)),
  setupSeconds: Number((setupMs / 1000).toFixed(2)),
  peakRssMiB: Math.round(peakRss / 2 ** 20),
  /** Wall time over every member's rounds (the owner's side and the traffic included). */
  microsecondsPerMemberRound: members * weeks > 0 ? Math.round((wallMs * 1000) / (members * weeks)) : null,
  firstWeekSeconds: weekMs.length > 0 ? Number(((weekMs[0] as number) / 1000).toFixed(2)) : null,
  lastWeekSeconds: weekMs.length > 0 ? Number(((weekMs.at(-1) as number) / 1000).toFixed(2)) : null,
  /** Week W's cost ÷ week 1's (late weeks should cost what early weeks cost). */
  lastToFirstWeek:
    weekMs.length > 1 ? Number(((weekMs.at(-1) as number) / (weekMs[0] as number)).toFixed(2)) : null,
  /** The same from the medians of the first and the last four weeks (steadier). */
  lastToFirstWeekMedian4:
    weekMs.length >= 8 ? Number((median(weekMs.slice(-4)) / median(weekMs.slice(0, 4))).toFixed(2)) : null,
  violation: s.violation ? `${s.violation.invariant}: ${s.violation.message}` : null,
  invariants: s.invariants,
};
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
