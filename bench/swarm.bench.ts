// npm run bench:swarm — one seeder and 5,000 leechers fetch a 50 MB torrent (100 KiB
// pieces) on the simulated swarm, with residential bandwidths. Prints simulated events per
// second (wall and CPU time), pieces delivered per second (a transfer carries a run of
// pieces, so events alone do not measure the swarm), the virtual-to-wall time ratio and
// peak RSS; medians over several runs. Options: --leechers N, --mb N, --runs N, --seed N,
// --peers N (peers per torrent), --per-transfer N (pieces per transfer; the swarm's
// default if absent), --swarm piece|flow (the swarm model; default piece).
//
// The machine is shared with other jobs, which moves every figure. So each run is cut in
// slices of SLICE events with a slice of a fixed reference workload (bench/
// reference-workload.ts) after each, and the bench prints the median over slices of
// (events per CPU second of the slice) / (reference steps per CPU second of the slice
// after it): a same-run ratio that stays put when the load changes, compared with the same
// ratio of the piece-level engine as it was before issue 13.

import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { SimWorld } from '../adapters/sim/world.ts';
import type { SwarmModel } from '../sim/swarm.ts';
import { buildTorrentFile, magnetFor, parseTorrentFile } from '../sim/torrent-file.ts';
import { ReferenceWorkload } from './reference-workload.ts';

const { values } = parseArgs({
  options: {
    leechers: { type: 'string', default: '5000' },
    mb: { type: 'string', default: '50' },
    runs: { type: 'string', default: '3' },
    seed: { type: 'string', default: '1' },
    peers: { type: 'string', default: '20' },
    'per-transfer': { type: 'string' },
    swarm: { type: 'string', default: 'piece' },
  },
});
const LEECHERS = Number(values.leechers);
const BYTES = Number(values.mb) * 1024 * 1024;
const RUNS = Number(values.runs);
const SEED = Number(values.seed);
const PEERS = Number(values.peers);
/** Pieces per transfer (the swarm's default when not given). */
const RUN = values['per-transfer'] === undefined ? undefined : Number(values['per-transfer']);
for (const [k, v] of Object.entries({ LEECHERS, BYTES, RUNS, SEED, PEERS, RUN: RUN ?? 1 })) {
  if (!Number.isFinite(v) || v < 0 || (k === 'RUN' && !(Number.isInteger(v) && v >= 1))) {
    throw new Error(`swarm bench: bad value for ${k === 'RUN' ? 'per-transfer' : k.toLowerCase()}: ${v}`);
  }
}
if (values.swarm !== 'piece' && values.swarm !== 'flow') {
  throw new Error(`swarm bench: --swarm piece|flow, got ${values.swarm}`);
}
const MODEL: SwarmModel = values.swarm;
const PIECE = 102_400;
const MBIT = 125_000; // bytes/s
/** Events per slice of a run, and reference workload steps after each slice. */
const SLICE = 200_000;
const REFERENCE_SLICE = 1_000_000;
/**
 * The same-run ratio (see the header) of the default bench (5,000 leechers, piece level)
 * with the piece-level engine as it was before issue 13 (commit f4592bd, this bench file
 * run on it): median of 3 runs.
 */
const BEFORE_ISSUE_13 = 0.015;

interface RunResult {
  events: number;
  wallMs: number;
  /** CPU time of this process during the run (user + system): steadier than wall time on a shared machine. */
  cpuMs: number;
  virtualMs: number;
  finishedP50: number;
  seederShare: number;
  /** Median over slices of events per CPU second / reference steps per CPU second. */
  relative: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function once(
  seed: number,
  data: Uint8Array,
  index: Uint8Array,
  torrent: Uint8Array,
): Promise<RunResult> {
  const world = new SimWorld({
    seed,
    startTime: Date.UTC(2026, 0, 1),
    network: { latency: { kind: 'lognormal', medianMs: 40, sigma: 0.6 } },
    swarm: {
      model: MODEL,
      tracePieces: false,
      peersPerTorrent: PEERS,
      maxConnections: 2 * PEERS,
      ...(RUN === undefined ? {} : { piecesPerTransfer: RUN }),
    },
    trace: { keepLines: false },
  });
  const rng = world.rng('bench');
  const seeder = world.addNode({ id: 'seeder', uploadBps: 40 * MBIT, downloadBps: 200 * MBIT });
  seeder.adapters.fs.mkdirp('/data/community');
  seeder.adapters.fs.writeAtomic('/data/community/data', data);
  seeder.adapters.fs.writeAtomic('/data/community/index', index);
  await seeder.adapters.torrent.start();
  const infoHash = await seeder.adapters.torrent.seed(torrent, '/data');
  const magnet = magnetFor(infoHash, 'community');
  // residential lines: (up, down) in Mbit/s
  const lines: [number, number][] = [
    [10, 50],
    [20, 100],
    [40, 250],
    [5, 25],
  ];
  const start = world.kernel.now();
  const finished: number[] = [];
  // exact virtual finish times: the swarm records 'swarm.done' when a wanted range completes
  world.trace.onRecord((r) => {
    if (r.kind === 'swarm.done') finished.push(r.t - start);
  });
  let resolved = 0;
  for (let i = 0; i < LEECHERS; i++) {
    const [up, down] = rng.pick(lines);
    const n = world.addNode({ id: `l${i}`, uploadBps: up * MBIT, downloadBps: down * MBIT });
    await n.adapters.torrent.start();
    n.adapters.torrent
      .add(magnet, '/data')
      .downloadFile('data')
      .then(() => resolved++);
  }
  const e0 = world.kernel.processed;
  let wallMs = 0;
  let cpuMs = 0;
  const reference = new ReferenceWorkload();
  const slices: number[] = [];
  // Nothing here awaits between events: the swarm runs synchronously until the queue is
  // empty, a slice at a time.
  for (;;) {
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    const n = world.kernel.run({ maxEvents: SLICE });
    const cpu = process.cpuUsage(c0);
    const sliceCpuMs = (cpu.user + cpu.system) / 1000;
    wallMs += performance.now() - w0;
    cpuMs += sliceCpuMs;
    if (n < SLICE) break;
    const r0 = reference.cpuMs;
    reference.run(REFERENCE_SLICE);
    if (sliceCpuMs > 0 && reference.cpuMs > r0) {
      slices.push(n / sliceCpuMs / (REFERENCE_SLICE / (reference.cpuMs - r0)));
    }
  }
  await new Promise((r) => setImmediate(r));
  if (finished.length !== LEECHERS || resolved !== LEECHERS) {
    throw new Error(
      `only ${finished.length} of ${LEECHERS} leechers finished (${resolved} promises resolved)`,
    );
  }
  return {
    events: world.kernel.processed - e0,
    wallMs,
    cpuMs,
    virtualMs: Math.max(...finished),
    finishedP50: median(finished),
    seederShare: seeder.bytes().up / (LEECHERS * data.length),
    relative: slices.length > 0 ? median(slices) : Number.NaN,
  };
}

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');

async function main(): Promise<void> {
  const gen = new SimWorld({ seed: SEED, startTime: 0 }).rng('bench-data');
  const data = gen.bytes(BYTES);
  const index = gen.bytes(4096);
  const torrent = buildTorrentFile('community', PIECE, [
    { path: 'data', bytes: data },
    { path: 'index', bytes: index },
  ]);
  const pieces = parseTorrentFile(torrent).pieceHashes.length / 20;
  const delivered = LEECHERS * pieces;
  console.log(
    `swarm bench: 1 seeder + ${LEECHERS} leechers, ${(BYTES / 1e6).toFixed(1)} MB torrent, ${pieces} pieces of ${PIECE} B, ` +
      `${MODEL} swarm, ${RUN ?? 'default'} pieces per transfer, ${RUNS} run(s)`,
  );
  const results: RunResult[] = [];
  for (let r = 0; r < RUNS; r++) {
    const res = await once(SEED + r, data, index, torrent);
    results.push(res);
    console.log(
      `  run ${r + 1}: ${n0(res.events)} events in ${(res.wallMs / 1000).toFixed(2)} s wall = ` +
        `${n0(res.events / (res.wallMs / 1000))} events/s (${n0(res.events / (res.cpuMs / 1000))} per CPU second), ` +
        `${n0(delivered / (res.wallMs / 1000))} pieces/s (${n0(delivered / (res.cpuMs / 1000))} per CPU second); ` +
        `virtual ${(res.virtualMs / 1000).toFixed(1)} s (median leecher done at ${(res.finishedP50 / 1000).toFixed(1)} s); ` +
        `the seeder uploaded ${(res.seederShare * LEECHERS).toFixed(2)} copies of the file; ` +
        `events per CPU second / reference steps per CPU second ${res.relative.toFixed(4)}`,
    );
  }
  const rss = process.resourceUsage().maxRSS / 1024;
  const evps = median(results.map((r) => r.events / (r.wallMs / 1000)));
  const evpcpu = median(results.map((r) => r.events / (r.cpuMs / 1000)));
  const ratio = median(results.map((r) => r.virtualMs / r.wallMs));
  console.log(`median simulated events/s: ${n0(evps)} (target >= 500,000)`);
  console.log(`median simulated events per CPU second: ${n0(evpcpu)}`);
  const pps = median(results.map((r) => delivered / (r.wallMs / 1000)));
  const ppcpu = median(results.map((r) => delivered / (r.cpuMs / 1000)));
  console.log(`median pieces delivered per second: ${n0(pps)} (${n0(ppcpu)} per CPU second)`);
  const rel = median(results.map((r) => r.relative));
  console.log(
    `median events per CPU second / reference steps per CPU second (same runs): ${rel.toFixed(4)}; ` +
      `the piece-level engine before issue 13: ${BEFORE_ISSUE_13.toFixed(4)} (${(rel / BEFORE_ISSUE_13).toFixed(2)}x)`,
  );
  console.log(`median virtual-to-wall time ratio: ${ratio.toFixed(2)}x`);
  console.log(`peak RSS: ${rss.toFixed(0)} MB`);
}

await main();
