// npm run bench:content — the simulated content network at community scale, below the
// machines: an owner makes one content-addressed round a week (archive + index uploaded
// through its SimContentStore, earlier entries kept), every member fetches the new index
// and the archives it lacks some minutes later, with churn (a share of the members offline
// for hours to days each week; they fetch when back). Prints wall time, kernel events,
// per-week completion times (virtual) and who served the bytes (owner vs members).
//
//   BENCH_MEMBERS=500 BENCH_WEEKS=8 BENCH_ARCHIVE_KB=1500 npm run bench:content

import { SimWorld } from '../adapters/sim/world.ts';
import {
  type CidIndex,
  createCidRound,
  decodeStoredCidIndex,
  loadPreviousCidIndex,
} from '../archive/index.ts';
import { chatTopic } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 500);
const WEEKS = Number(process.env.BENCH_WEEKS ?? 8);
const ARCHIVE_KB = Number(process.env.BENCH_ARCHIVE_KB ?? 1500);
const CHURN = Number(process.env.BENCH_CHURN ?? 0.2);
const WEEK_MS = 7 * 86_400_000;
const T0 = Date.UTC(2026, 0, 5);
const topic = chatTopic('general');

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? Number.NaN : s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

function weekMessages(week: number): WakuMessage[] {
  const count = Math.max(1, Math.round(ARCHIVE_KB / 5));
  return Array.from({ length: count }, (_, i) => ({
    sig: Uint8Array.of(week, i & 255, i >> 8),
    timestamp: Math.floor(T0 / 1000) + week * 604_800 + Math.floor((i * 604_800) / count),
    topic,
    payload: new Uint8Array(5000).fill((week * 13 + i) & 255),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill((week * 7 + i) & 255).map((v, k) => (k < 4 ? (i >> (8 * k)) & 255 : v)),
    thirdPartyId: '',
  }));
}

const wall = performance.now();
const w = new SimWorld({ seed: 14, startTime: T0, trace: { keepLines: false, hash: false } });
const rng = w.rng('bench');
const owner = w.addNode({ id: 'owner' });
const members = Array.from({ length: MEMBERS }, (_, i) => w.addNode({ id: `m${i}` }));
await owner.sim.content.start();
for (const m of members) await m.sim.content.start();

const downloaded = new Map<string, Set<string>>(members.map((m) => [m.id, new Set()]));
const perWeek: number[][] = [];
let link: string | undefined;
let pending = 0;

async function memberFetch(
  m: (typeof members)[number],
  indexCid: string,
  week: number,
  since: number,
): Promise<void> {
  pending++;
  try {
    const index: CidIndex = decodeStoredCidIndex(await m.sim.content.fetch(indexCid));
    const have = downloaded.get(m.id)!;
    const missing = [...index.archives].filter(([id]) => !have.has(id));
    await Promise.all(missing.map(([, e]) => m.sim.content.fetch(e.cid)));
    for (const [id] of missing) have.add(id);
    perWeek[week]!.push(w.kernel.now() - since);
  } finally {
    pending--;
  }
}

for (let week = 0; week < WEEKS; week++) {
  // The round at the end of the week archives the week's messages.
  const start = T0 + week * WEEK_MS;
  await w.runUntilAsync(start + WEEK_MS);
  perWeek.push([]);
  // churn: some members go away for hours to days
  for (const m of members) {
    if (!rng.chance(CHURN)) continue;
    const away = rng.int(3_600_000, 3 * 86_400_000);
    w.kernel.after(rng.int(0, 7_200_000), 'bench.offline', () => {
      m.goOffline();
      w.kernel.after(away, 'bench.online', () => m.goOnline());
    });
  }
  const previous = await loadPreviousCidIndex(owner.sim.content, link);
  const round = await createCidRound(owner.sim.content, {
    topics: [topic],
    messages: weekMessages(week),
    start: Math.floor(start / 1000),
    end: Math.floor(start / 1000) + 604_800,
    previous,
  });
  link = round.indexCid;
  const indexCid = link!;
  const now = w.kernel.now();
  for (const m of members) {
    const retryUntilOnline = (): void => {
      if (!m.online) {
        w.kernel.after(600_000, 'bench.retry', retryUntilOnline);
        return;
      }
      void memberFetch(m, indexCid, week, now);
    };
    w.kernel.after(rng.int(60_000, 3_600_000), 'bench.fetch', retryUntilOnline);
  }
}
await w.runUntilAsync(T0 + (WEEKS + 1) * WEEK_MS);

const wallS = (performance.now() - wall) / 1000;
const up = (id: string) => w.content.stats(id).bytesUp;
const ownerUp = up('owner');
const membersUp = members.reduce((n, m) => n + up(m.id), 0);
console.log(
  `bench:content  ${MEMBERS} members, ${WEEKS} weeks, one ${ARCHIVE_KB} KB archive a week, churn ${CHURN}: wall ${wallS.toFixed(1)} s, ${w.kernel.processed} kernel events, ${pending} fetches unfinished`,
);
perWeek.forEach((t, week) => {
  console.log(
    `week ${week + 1}: ${t.length}/${MEMBERS} members done; index+archives after the round: p50 ${(quantile(t, 0.5) / 60_000).toFixed(1)} min, p95 ${(quantile(t, 0.95) / 60_000).toFixed(1)} min, max ${(Math.max(...t) / 3_600_000).toFixed(1)} h`,
  );
});
console.log(
  `bytes served: owner ${(ownerUp / 1e6).toFixed(1)} MB, members ${(membersUp / 1e6).toFixed(1)} MB (${((100 * membersUp) / (ownerUp + membersUp)).toFixed(0)}% from members)`,
);
