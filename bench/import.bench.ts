// `npm run bench:import [-- --scale 10 --runs 3]`: the library's import-rate.yaml (slow
// against fast import, and a host switching slow to fast a minute in) at `scale` times its
// history: the library runs 2,000 messages of 10 KiB (20 MB, scale 1); scale 100 is the
// multi-GB history users reported (200,000 messages, 2 GB; it needs several GB of memory,
// as every node holds the archives). Prints per run the virtual import time of each member,
// the slow/fast ratio (the §2 rates give 100x), the wall time and the peak RSS; then the
// medians. The virtual times are the same every run (deterministic); the wall times are not.
// The switcher switches at the scenario's fixed time: at a large scale its download is still
// running then, and it imports at the fast rate throughout.
// On this machine (2 cores, shared): scale 100 (2.05 GB), slow 20,082 s, fast 200.8 s
// (virtual), 100x; wall 335 s, peak RSS 8.9 GiB; scale 10: 2,008 s / 20.1 s, wall 7.7 s, 1.0 GiB.

import { parseArgs } from 'node:util';
import { loadScenario } from '../scenarios/load.ts';
import { runScenario } from '../scenarios/runner.ts';

const { values } = parseArgs({
  options: { scale: { type: 'string', default: '10' }, runs: { type: 'string', default: '3' } },
});
const scale = Number(values.scale);
const runs = Number(values.runs);
for (const [k, v] of Object.entries({ scale, runs })) {
  if (!Number.isInteger(v) || v < 1) {
    process.stderr.write(`--${k}: expected a whole number >= 1\n`);
    process.exit(2);
  }
}

const base = loadScenario('scenarios/import-rate.yaml');
const traffic = base.traffic[0];
if (!traffic) throw new Error('scenarios/import-rate.yaml: no traffic');
const messages = Math.round(((traffic.rate.count * (traffic.to ?? 0)) / traffic.rate.perMs) * scale);
const joinAt = Math.max(...base.nodes.map((n) => n.joinAt));
// slow: 10 messages a second; room for the download, the 5-minute delay and the slow import
const duration = joinAt + 10 * 60_000 + Math.ceil(messages / 10) * 1200;
const scenario = {
  ...base,
  duration,
  traffic: [{ ...traffic, rate: { count: traffic.rate.count * scale, perMs: traffic.rate.perMs } }],
  expect: [],
};

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
};

process.stdout.write(
  `import-rate.yaml x${scale}: ~${messages} messages of 10 KiB (${((messages * 10_240) / 1e9).toFixed(2)} GB), ${runs} runs\n`,
);
const walls: number[] = [];
const ratios: number[] = [];
let peakRss = 0;
for (let run = 1; run <= runs; run++) {
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  const started = performance.now();
  await runScenario(scenario, {
    sampleHistory: false,
    hashTrace: false,
    onSignal: (n, s) => {
      if (s.type === 'community.importingHistoryArchiveMessages' && !first.has(n.id)) first.set(n.id, s.t);
      if (s.type === 'archive.archiveImported') last.set(n.id, s.t);
      peakRss = Math.max(peakRss, process.memoryUsage.rss());
    },
  });
  const wall = (performance.now() - started) / 1000;
  const took = (id: string): number => ((last.get(id) ?? Number.NaN) - (first.get(id) ?? Number.NaN)) / 1000;
  const ratio = took('slowpoke') / took('speedy');
  walls.push(wall);
  ratios.push(ratio);
  process.stdout.write(
    `run ${run}: import slow ${took('slowpoke').toFixed(0)} s, fast ${took('speedy').toFixed(1)} s, ` +
      `switched ${took('switcher').toFixed(1)} s (virtual); slow/fast ${ratio.toFixed(1)}x; wall ${wall.toFixed(1)} s\n`,
  );
}
process.stdout.write(
  `median: slow/fast ${median(ratios).toFixed(1)}x (the rates' 100x); wall ${median(walls).toFixed(1)} s; peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB\n`,
);
