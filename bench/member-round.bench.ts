// npm run bench:member-round — what the member machine itself costs per round: one member's
// community actor (machines/member.machine.ts) driven through whole rounds (a link, the
// metadata, the index, one archive, seeding, the import's chunks) on ports that answer at
// once, so the figure is the machine and its effects, not the swarm. Printed beside a
// baseline measured in the same run: a one-state machine taking the same number of events
// per round. Medians over several runs. Options: --rounds N, --runs N; COUNT=1 prints the
// events and microsteps the member took.

import { parseArgs } from 'node:util';
import { createActor, setup } from 'xstate';
import { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
import { MemoryKeyStore } from '../adapters/sim/memory-keys.ts';
import { MemoryStorage } from '../adapters/sim/memory-storage.ts';
import { createArchiveRound } from '../archive/index.ts';
import { createCommunityEnv } from '../machines/community-env.ts';
import { ImportLimiter } from '../machines/import-limiter.ts';
import { memberMachine } from '../machines/member.machine.ts';
import { resolveOptions } from '../machines/options.ts';
import { SignalBus } from '../machines/signals.ts';
import { torrentArchiveService } from '../machines/torrent-archive-service.ts';
import type { Clock, NodeAdapters, TorrentClient, TorrentDownload } from '../ports/index.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { chatTopic } from '../proto/topics.ts';

const { values } = parseArgs({
  options: { rounds: { type: 'string', default: '20000' }, runs: { type: 'string', default: '5' } },
});
const ROUNDS = Number(values.rounds);
const RUNS = Number(values.runs);

/** A clock whose timers run when the bench says so, in time order. */
class StepClock implements Clock {
  t = Date.UTC(2026, 0, 5);
  readonly #timers = new Map<number, { at: number; fn: () => void }>();
  #next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.#timers.set(id, { at: this.t + Math.max(0, ms), fn });
    return id;
  }
  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }
  /** Runs the earliest timer; false when there is none. */
  fireNext(): boolean {
    let best: [number, { at: number; fn: () => void }] | undefined;
    for (const e of this.#timers) if (!best || e[1].at < best[1].at) best = e;
    if (!best) return false;
    this.#timers.delete(best[0]);
    this.t = Math.max(this.t, best[1].at);
    best[1].fn();
    return true;
  }
}

const key = generateCommunityKey(new Uint8Array(32).fill(5));
const id = communityIdOf(key);
const topic = chatTopic('general');
const fs = new MemoryFileSystem();
createArchiveRound(fs, {
  dataDir: '/data',
  torrentDir: '/torrents',
  communityId: id,
  topics: [topic],
  messages: Array.from({ length: 40 }, (_, i) => ({
    sig: new Uint8Array(65),
    timestamp: 1_767_571_200 + i * 3600,
    topic,
    payload: new Uint8Array(200),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill(i + 1),
    thirdPartyId: '',
  })),
  start: 1_767_571_200,
  end: 1_767_571_200 + 7 * 86_400,
});
const dataLength = fs.size(`/data/${id}/data`);
const indexLength = fs.size(`/data/${id}/index`);
const P = 102_400;
const pieceCount = Math.ceil((dataLength + indexLength) / P);
const meta = {
  infoHash: 'ab'.repeat(20),
  name: id,
  pieceLength: P,
  pieceCount,
  files: [
    { path: 'data', length: dataLength, offset: 0 },
    { path: 'index', length: indexLength, offset: dataLength },
  ],
};
const download: TorrentDownload = {
  infoHash: meta.infoHash,
  metadata: () => Promise.resolve(meta),
  downloadFile: () => Promise.resolve(),
  downloadPieces: () => Promise.resolve(),
  onProgress: () => () => {},
};
const torrent: TorrentClient = {
  running: true,
  start: () => Promise.resolve(),
  stop: () => Promise.resolve(),
  seed: () => Promise.resolve(meta.infoHash),
  add: () => download,
  remove: () => Promise.resolve(),
  active: () => [],
  stats: () => ({ bytesDown: 0, bytesUp: 0 }),
};

/** Resolves once every pending promise continuation has run (the simulator's drain). */
const drained = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function settle(clock: StepClock, done: () => boolean): Promise<void> {
  // promise continuations, then timers, until the round's task has ended
  for (let i = 0; i < 10_000 && !done(); i++) {
    await drained();
    if (!done()) clock.fireNext();
  }
}

async function memberRounds(rounds: number): Promise<number> {
  const clock = new StepClock();
  const storage = new MemoryStorage();
  const adapters: NodeAdapters = {
    clock,
    fs,
    storage,
    messaging: {
      publish: () => Promise.resolve(),
      subscribe: () => () => {},
      queryStore: () => Promise.resolve([]),
      whenStoreAvailable: () => Promise.resolve(),
    } as unknown as NodeAdapters['messaging'],
    torrent,
    keys: new MemoryKeyStore('member'),
    dataDir: '/data',
    torrentDir: '/torrents',
  };
  const options = resolveOptions({ importRate: 'fast', importDelayMs: 0, magnetlinkHistoryOnStart: false });
  const bus = new SignalBus('member', () => clock.now());
  let ended = 0;
  bus.subscribe((s) => {
    if (s.type === 'archive.taskEnded') ended++;
  });
  const env = createCommunityEnv({
    nodeId: 'member',
    adapters,
    options,
    bus,
    config: { id, chats: ['general'] },
    nodeStartedAt: clock.now(),
    importLimiter: new ImportLimiter(clock, 10),
    awaitStore: false,
    lookup: () => true,
    isMember: () => true,
    fault: () => {},
    services: [torrentArchiveService],
  });
  const actor = createActor(memberMachine, {
    input: { env },
    clock,
    ...(process.env.COUNT
      ? {
          inspect: (e: { type: string; event?: { type: string } }) => {
            if (e.type === '@xstate.microstep') micro++;
            if (e.type === '@xstate.event')
              evs.set(e.event?.type ?? '', (evs.get(e.event?.type ?? '') ?? 0) + 1);
          },
        }
      : {}),
  });
  actor.start();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    storage.forgetCommunity(id); // every round downloads and imports the archive again
    actor.send({
      type: 'MAGNETLINK',
      signer: id,
      clock: clock.now() + r,
      magnetUri: `magnet:?xt=urn:btih:${'ab'.repeat(20)}&r=${r}`,
      kind: 'torrent',
    });
    await settle(clock, () => ended > r);
    if (ended <= r) throw new Error(`round ${r} did not end`);
  }
  const ms = performance.now() - t0;
  actor.stop();
  return (ms * 1000) / rounds;
}

/** The baseline: one state, the same number of events per round, each answered by a promise. */
async function flatRounds(rounds: number, events: number): Promise<number> {
  const m = setup({}).createMachine({
    context: { n: 0 },
    on: { STEP: { actions: ({ context }) => void context.n++ } },
  });
  const actor = createActor(m);
  actor.start();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let e = 0; e < events; e++) {
      await Promise.resolve();
      actor.send({ type: 'STEP' });
    }
    await drained();
  }
  const ms = performance.now() - t0;
  actor.stop();
  return (ms * 1000) / rounds;
}

let micro = 0;
const evs = new Map<string, number>();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
await memberRounds(500);
await flatRounds(500, 8);
const member: number[] = [];
const flat: number[] = [];
for (let i = 0; i < RUNS; i++) {
  member.push(await memberRounds(ROUNDS));
  flat.push(await flatRounds(ROUNDS, 8));
}
const m = median(member);
const f = median(flat);
process.stdout.write(
  `${JSON.stringify({ rounds: ROUNDS, runs: RUNS, memberMicrosecondsPerRound: Number(m.toFixed(1)), flatBaselineMicrosecondsPerRound: Number(f.toFixed(1)), ratio: Number((m / f).toFixed(2)) }, null, 2)}\n`,
);
if (process.env.COUNT)
  process.stderr.write(`microsteps ${micro}, events ${JSON.stringify(Object.fromEntries(evs))}\n`);
