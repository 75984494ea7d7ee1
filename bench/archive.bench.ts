// npm run bench:archive — 52 weekly rounds of generated traffic into one community folder,
// on the in-memory FileSystem (default: the archive code's own cost) or on node:fs.
// Traffic: `mixed` (default, about 20 MB a round: 97% text-like messages of 200 B–2 KB, 3%
// media-like of 50–150 KB) or `community` (bench:community's: 2,000 messages a day of
// 200–2,000 B, so a round is 14,000 small messages and per-message costs weigh more).
// Prints:
//   (a) a round's build throughput next to raw SHA-1 over the same bytes in the same run
//       (target: build >= 0.5x raw SHA-1), in wall time and in CPU time of the process.
//       Each round is paired with SHA-1 over exactly the bytes it appended, right after
//       it; on the in-memory FileSystem those bytes are hashed where they lie (no copy, so
//       the baseline leaves no 20 MB of garbage for the next round's allocation to reuse).
//       On a shared machine the wall times include waiting for a core; CPU time does not.
//   (b) the cost of the last round next to the first, beside a full-rebuild baseline that
//       re-hashes the whole `data` as the reference does (target: last/first <= 1.5 while
//       the baseline grows with history). Rounds 1 and N are each timed REPS times on
//       zero-copy clones of the folder (median), both ways.
//   Beside them, on the in-memory FileSystem: the CPU time of only copying each round's
//   bytes into new memory, as the FileSystem keeps them. A round's bytes are new pages the
//   kernel must hand over (fault, zero, map): no build can take less than SHA-1 plus that,
//   so SHA-1 / (SHA-1 + copy) is the best ratio this machine allows.
// Medians over the rounds of a run, then over several runs. Each run is a process of its
// own (`--same-process`: all in this one), so that no run allocates into memory an earlier
// one freed. (No forced GC before the timed rounds: a round right after a full collection
// costs a quarter more, not less.)
//
//   npm run bench:archive -- [--rounds 52] [--runs 3] [--mb 20] [--fs memory|node]
//                            [--traffic mixed|community] [--per-day 2000] [--same-process]

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { NodeFileSystem } from '../adapters/real/node-fs.ts';
import { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
import { communityFolder, createArchiveRound, dataPath, indexPath, torrentPath } from '../archive/index.ts';
import type { FileSystem } from '../ports/filesystem.ts';
import { chatTopic } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '52' },
    runs: { type: 'string', default: '3' },
    mb: { type: 'string', default: '20' },
    fs: { type: 'string', default: 'memory' },
    traffic: { type: 'string', default: 'mixed' },
    'per-day': { type: 'string', default: '2000' },
    'same-process': { type: 'boolean', default: false },
    /** Internal: the one run a child process does. */
    run: { type: 'string' },
  },
});
const ROUNDS = Number(values.rounds);
const RUNS = Number(values.runs);
const MB = Number(values.mb);
const FS_KIND = values.fs;
const TRAFFIC = values.traffic;
const PER_DAY = Number(values['per-day']);
if (FS_KIND !== 'memory' && FS_KIND !== 'node') throw new Error('--fs must be memory or node');
if (TRAFFIC !== 'mixed' && TRAFFIC !== 'community') throw new Error('--traffic must be mixed or community');
for (const [k, v] of [
  ['--rounds', ROUNDS],
  ['--runs', RUNS],
  ['--mb', MB],
  ['--per-day', PER_DAY],
] as const) {
  if (!Number.isFinite(v) || v <= 0) throw new Error(`${k} must be a positive number`);
}

const WEEK = 604_800;
const T0 = 1_700_000_000;
const COMMUNITY = `0x02${'ab'.repeat(32)}`;
const TOPICS = [chatTopic('bench-general'), chatTopic('bench-random')];

// A pool of pseudo-random bytes; payloads are views into it (no copy), hashes are unique.
function xorshiftBytes(n: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(n / 4));
  let x = seed >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    words[i] = x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, n);
}
const POOL = xorshiftBytes(32 << 20, 0x9e3779b9);

let counter = 0;
/**
 * Round `r` (1-based) of the chosen traffic, timestamps spread over its week: `mixed` until
 * about `bytes` of payload+sig, `community` PER_DAY * 7 messages of 200..2,000 B.
 */
function traffic(r: number, bytes: number): WakuMessage[] {
  const out: WakuMessage[] = [];
  const start = T0 + (r - 1) * WEEK;
  const count = TRAFFIC === 'community' ? PER_DAY * 7 : Number.POSITIVE_INFINITY;
  let total = 0;
  let k = r * 7919;
  while (TRAFFIC === 'community' ? out.length < count : total < bytes) {
    k = (k * 1103515245 + 12345) >>> 0;
    // mixed: 97% text-like (200 B .. 2 KB), 3% media-like (50 .. 150 KB).
    const len =
      TRAFFIC === 'community'
        ? 200 + ((k >>> 8) % 1801)
        : k % 100 < 3
          ? 50_000 + (k % 100_001)
          : 200 + ((k >>> 8) % 1849);
    const at = k % (POOL.length - len - 65);
    const hash = new Uint8Array(32);
    new DataView(hash.buffer).setUint32(0, counter++);
    out.push({
      sig: POOL.subarray(at + len, at + len + 65),
      timestamp: start + (k % WEEK),
      topic: TOPICS[k & 1]!,
      payload: POOL.subarray(at, at + len),
      padding: new Uint8Array(0),
      hash,
      thirdPartyId: '',
    });
    total += len + 65;
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const ms = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e6;
/** CPU time of the whole process (every thread: the GC's helpers count too), in ms. */
const cpuMs = (): number => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

/** A place for one community folder: a fresh in-memory FS, or a fresh temporary folder on disk. */
interface Place {
  fs: FileSystem;
  root: string;
  dispose(): void;
}

function newPlace(): Place {
  if (FS_KIND === 'memory') return { fs: new MemoryFileSystem(), root: '', dispose() {} };
  const root = mkdtempSync(join(tmpdir(), 'archivist-bench-'));
  return { fs: new NodeFileSystem(), root, dispose: () => rmSync(root, { recursive: true, force: true }) };
}

const folderOf = (p: Place) => communityFolder(`${p.root}/data`, COMMUNITY);
const torrentOf = (p: Place) => torrentPath(`${p.root}/torrents`, COMMUNITY);

/** Copies the folder (and the `.torrent` with `withTorrent`): zero-copy in memory, cp on disk. */
function clone(from: Place, withTorrent: boolean): Place {
  const to = newPlace();
  const pairs: Array<[string, string]> = [
    [dataPath(folderOf(from)), dataPath(folderOf(to))],
    [indexPath(folderOf(from)), indexPath(folderOf(to))],
  ];
  if (withTorrent) pairs.push([torrentOf(from), torrentOf(to)]);
  for (const [a, b] of pairs) {
    if (!from.fs.exists(a)) continue;
    if (from.fs instanceof MemoryFileSystem && to.fs instanceof MemoryFileSystem) {
      to.fs.writeChunks(b, [...from.fs.chunks(a)]);
    } else {
      mkdirSync(dirname(b), { recursive: true });
      copyFileSync(a, b);
    }
  }
  return to;
}

function round(p: Place, r: number, messages: WakuMessage[]) {
  return createArchiveRound(p.fs, {
    dataDir: `${p.root}/data`,
    torrentDir: `${p.root}/torrents`,
    communityId: COMMUNITY,
    topics: TOPICS,
    messages,
    start: T0 + (r - 1) * WEEK,
    end: T0 + r * WEEK,
  });
}

const REPS = FS_KIND === 'memory' ? 3 : 1;

/**
 * Median cost of round `r` over REPS tries, each on a clone of the folder. With `reuse`
 * the old `.torrent` is cloned too, so its piece hashes are re-used (archivist); without
 * it every piece of `data` is read back and re-hashed, as the reference does when it
 * rebuilds the torrent (the full-rebuild baseline).
 */
function roundCost(place: Place, r: number, messages: WakuMessage[], reuse: boolean): number {
  const tries: number[] = [];
  for (let i = 0; i < REPS; i++) {
    const copy = clone(place, reuse);
    try {
      const t0 = process.hrtime.bigint();
      round(copy, r, messages);
      tries.push(ms(t0));
    } finally {
      copy.dispose();
    }
  }
  return median(tries);
}

interface RunFigures {
  buildMBps: number;
  sha1MBps: number;
  /** Median CPU ms of a round's build, and of SHA-1 over the same bytes. */
  buildCpuMs: number;
  sha1CpuMs: number;
  /** Median minor page faults of a round's build (fresh pages the kernel hands over). */
  buildFaults: number;
  /** Median CPU ms of copying a round's bytes into new memory (in-memory FileSystem only). */
  freshCopyCpuMs: number | null;
  first: number;
  last: number;
  baseFirst: number;
  baseLast: number;
  dataMB: number;
}

function oneRun(run: number): RunFigures {
  const place = newPlace();
  const fs = place.fs;
  const data = dataPath(folderOf(place));
  const ratios: { build: number; sha1: number; buildCpu: number; sha1Cpu: number; faults: number }[] = [];
  let first = 0;
  let last = 0;
  let baseFirst = 0;
  let baseLast = 0;
  for (let r = 1; r <= ROUNDS; r++) {
    const messages = traffic(r, MB * 1_000_000);
    if (r === 1)
      [first, baseFirst] = [roundCost(place, r, messages, true), roundCost(place, r, messages, false)];
    if (r === ROUNDS)
      [last, baseLast] = [roundCost(place, r, messages, true), roundCost(place, r, messages, false)];
    const before = fs.exists(data) ? fs.size(data) : 0;
    const f0 = process.resourceUsage().minorPageFault;
    const c0 = cpuMs();
    const t0 = process.hrtime.bigint();
    const result = round(place, r, messages);
    const took = ms(t0);
    const buildCpu = cpuMs() - c0;
    const faults = process.resourceUsage().minorPageFault - f0;
    if (result.archives.length === 0) throw new Error(`round ${r} made no archive`);
    // Raw SHA-1 over exactly the bytes this round appended: in memory, the round's own
    // chunk (a round is one append); on disk, read back first (not timed).
    const appended =
      fs instanceof MemoryFileSystem
        ? fs.chunks(data).at(-1)!
        : fs.readRange(data, before, fs.size(data) - before);
    if (appended.length !== fs.size(data) - before) throw new Error(`round ${r}: not one appended chunk`);
    const c1 = cpuMs();
    const t1 = process.hrtime.bigint();
    createHash('sha1').update(appended).digest();
    const sha = ms(t1);
    const sha1Cpu = cpuMs() - c1;
    const mb = appended.length / 1e6;
    ratios.push({ build: mb / (took / 1000), sha1: mb / (sha / 1000), buildCpu, sha1Cpu, faults });
  }
  // The floor of writing: each round's bytes copied into new memory, kept as the FileSystem
  // keeps them (so that every copy gets fresh pages, as every round does).
  let freshCopyCpuMs: number | null = null;
  if (fs instanceof MemoryFileSystem) {
    const kept: Uint8Array[] = [];
    const copies: number[] = [];
    for (const chunk of fs.chunks(data)) {
      const c0 = cpuMs();
      const copy = new Uint8Array(chunk.length);
      copy.set(chunk);
      copies.push(cpuMs() - c0);
      kept.push(copy);
    }
    freshCopyCpuMs = median(copies);
  }
  const fig: RunFigures = {
    buildMBps: median(ratios.map((x) => x.build)),
    sha1MBps: median(ratios.map((x) => x.sha1)),
    buildCpuMs: median(ratios.map((x) => x.buildCpu)),
    sha1CpuMs: median(ratios.map((x) => x.sha1Cpu)),
    buildFaults: median(ratios.map((x) => x.faults)),
    freshCopyCpuMs,
    first,
    last,
    baseFirst,
    baseLast,
    dataMB: fs.size(data) / 1e6,
  };
  place.dispose();
  console.log(
    `run ${run}: build ${fig.buildMBps.toFixed(0)} MB/s, sha1 ${fig.sha1MBps.toFixed(0)} MB/s; ` +
      `CPU a round: build ${fig.buildCpuMs.toFixed(1)} ms (${fig.buildFaults} page faults), sha1 ${fig.sha1CpuMs.toFixed(1)} ms` +
      (fig.freshCopyCpuMs === null ? '; ' : `, copy into new memory ${fig.freshCopyCpuMs.toFixed(1)} ms; `) +
      `round 1 ${fig.first.toFixed(0)} ms, round ${ROUNDS} ${fig.last.toFixed(0)} ms; ` +
      `full rebuild round 1 ${fig.baseFirst.toFixed(0)} ms, round ${ROUNDS} ${fig.baseLast.toFixed(0)} ms; ` +
      `data ${fig.dataMB.toFixed(0)} MB`,
  );
  return fig;
}

/** Warm-up (JIT, zero-piece cache) so that round 1 of a run is not penalised. */
function warmUp(): void {
  const place = newPlace();
  round(place, 1, traffic(1, 2_000_000));
  round(place, 2, traffic(2, 2_000_000));
  place.dispose();
}

const RESULT = 'result: ';
if (values.run !== undefined) {
  // A child: one run, its figures as the last line.
  warmUp();
  console.log(RESULT + JSON.stringify(oneRun(Number(values.run))));
  process.exit(0);
}

const started = process.hrtime.bigint();
const runs: RunFigures[] = [];
if (values['same-process']) warmUp();
for (let i = 1; i <= RUNS; i++) {
  if (values['same-process']) {
    runs.push(oneRun(i));
    continue;
  }
  const child = spawnSync(
    process.execPath,
    [...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2), '--run', String(i)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 },
  );
  if (child.status !== 0) throw new Error(`run ${i} failed (exit ${child.status ?? child.signal})`);
  for (const line of child.stdout.trimEnd().split('\n')) {
    if (line.startsWith(RESULT)) runs.push(JSON.parse(line.slice(RESULT.length)) as RunFigures);
    else console.log(line);
  }
}

const m = (f: (x: RunFigures) => number) => median(runs.map(f));
const build = m((x) => x.buildMBps);
const sha1 = m((x) => x.sha1MBps);
const buildCpu = m((x) => x.buildCpuMs);
const sha1Cpu = m((x) => x.sha1CpuMs);
const freshCopy = runs.every((x) => x.freshCopyCpuMs !== null) ? m((x) => x.freshCopyCpuMs!) : null;
const first = m((x) => x.first);
const last = m((x) => x.last);
const baseFirst = m((x) => x.baseFirst);
const baseLast = m((x) => x.baseLast);
const summary = {
  rounds: ROUNDS,
  runs: RUNS,
  mbPerRound: TRAFFIC === 'community' ? null : MB,
  fs: FS_KIND,
  traffic: TRAFFIC === 'community' ? `community ${PER_DAY}/day` : 'mixed',
  dataMB: Math.round(m((x) => x.dataMB)),
  buildMBps: Math.round(build),
  sha1MBps: Math.round(sha1),
  buildOverSha1: Number((build / sha1).toFixed(2)),
  buildCpuMs: Number(buildCpu.toFixed(1)),
  sha1CpuMs: Number(sha1Cpu.toFixed(1)),
  buildFaults: m((x) => x.buildFaults),
  cpuBuildOverSha1: Number((sha1Cpu / buildCpu).toFixed(2)),
  freshCopyCpuMs: freshCopy === null ? null : Number(freshCopy.toFixed(1)),
  cpuBestOverSha1: freshCopy === null ? null : Number((sha1Cpu / (sha1Cpu + freshCopy)).toFixed(2)),
  sameProcess: values['same-process'],
  firstRoundMs: Math.round(first),
  lastRoundMs: Math.round(last),
  lastOverFirst: Number((last / first).toFixed(2)),
  fullRebuildFirstMs: Math.round(baseFirst),
  fullRebuildLastMs: Math.round(baseLast),
  fullRebuildLastOverFirst: Number((baseLast / baseFirst).toFixed(2)),
  totalSeconds: Number((ms(started) / 1000).toFixed(1)),
};
console.log(
  `\nmedians over ${RUNS} runs of ${ROUNDS} rounds (${TRAFFIC === 'community' ? `${PER_DAY} messages a day` : `~${MB} MB each`}, ${FS_KIND} fs):\n` +
    `  (a) build ${summary.buildMBps} MB/s vs raw SHA-1 ${summary.sha1MBps} MB/s: ${summary.buildOverSha1}x (target >= 0.5) ${summary.buildOverSha1 >= 0.5 ? 'OK' : 'MISSED'}\n` +
    `      CPU a round: build ${summary.buildCpuMs} ms vs SHA-1 ${summary.sha1CpuMs} ms: ${summary.cpuBuildOverSha1}x\n` +
    (summary.freshCopyCpuMs === null
      ? ''
      : `      copying the same bytes into new memory alone: ${summary.freshCopyCpuMs} ms, so at best ${summary.cpuBestOverSha1}x on this machine\n`) +
    `  (b) round ${ROUNDS} ${summary.lastRoundMs} ms / round 1 ${summary.firstRoundMs} ms = ${summary.lastOverFirst} (target <= 1.5) ${summary.lastOverFirst <= 1.5 ? 'OK' : 'MISSED'}\n` +
    `      full rebuild: round ${ROUNDS} ${summary.fullRebuildLastMs} ms / round 1 ${summary.fullRebuildFirstMs} ms = ${summary.fullRebuildLastOverFirst}`,
);
console.log(JSON.stringify(summary));
