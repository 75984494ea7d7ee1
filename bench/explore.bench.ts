// `npm run bench:explore [-- --runs N --repeats R --seed S --jobs J]`: small faulted scenarios
// (one owner, five members, four weeks, every fault kind, at most six faults, 4–40 messages
// a day) explored per minute: N generated scenarios, each run on the simulated world and
// judged on every property, no failure expected (the reference bugs are off). Each repeat
// explores the same scenarios twice: in this thread (the baseline) and over J threads, this
// one and J - 1 workers (default one per core); prints each repeat, the medians and their
// ratio, against the target of 1,000 scenarios a minute. This thread is warm (compiled
// code) after its first scenarios; each repeat's workers start cold.

import { parseArgs } from 'node:util';
import { DEFAULT_SHAPE, type ScenarioShape } from '../explore/arbitraries.ts';
import { explore } from '../explore/explorer.ts';
import { defaultJobs, exploreInWorkers } from '../explore/parallel.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    repeats: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
    jobs: { type: 'string' },
  },
});
const runs = Number(values.runs);
const repeats = Number(values.repeats);
const seed = Number(values.seed);
const jobs = values.jobs === undefined ? defaultJobs(runs) : Number(values.jobs);
for (const [k, v] of Object.entries({ runs, repeats, seed, jobs })) {
  if (!Number.isInteger(v) || v < (k === 'seed' ? 0 : 1)) {
    process.stderr.write(`--${k}: expected a whole number${k === 'seed' ? ' >= 0' : ' >= 1'}\n`);
    process.exit(2);
  }
}

const TARGET = 2000;
const shape: ScenarioShape = { ...DEFAULT_SHAPE, members: { min: 5, max: 5 }, days: { min: 28, max: 28 } };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

process.stdout.write(
  `explore bench: ${runs} scenarios per repeat (1 owner, 5 members, 28 days, up to ${shape.maxFaults} faults of ${shape.faults.length} kinds), ${repeats} repeats, 1 thread vs ${jobs} threads\n`,
);
const single: number[] = [];
const parallel: number[] = [];
const eventsPerSecond: number[] = [];
for (let r = 0; r < repeats; r++) {
  // each repeat explores other scenarios (seed + r), all of the same shape; both ways run the same ones
  const config = { runs, seed: seed + r, shape, maxShrinkRuns: 0 };
  const t0 = performance.now();
  const one = await explore(config);
  const t1 = performance.now();
  const many = await exploreInWorkers(config, jobs);
  const t2 = performance.now();
  if (many.events !== one.events)
    throw new Error(`${jobs} threads simulated ${many.events} events, one thread ${one.events}`);
  single.push((one.runs * 60_000) / (t1 - t0));
  parallel.push((many.runs * 60_000) / (t2 - t1));
  eventsPerSecond.push((one.events * 1000) / (t1 - t0));
  process.stdout.write(
    `  repeat ${r + 1}: ${one.runs} scenarios, ${one.events} events, ${one.failures.length} failures; 1 thread ${((t1 - t0) / 1000).toFixed(2)} s = ${single[r]?.toFixed(0)}/min; ${jobs} threads ${((t2 - t1) / 1000).toFixed(2)} s = ${parallel[r]?.toFixed(0)}/min\n`,
  );
}
const one = median(single);
const many = median(parallel);
process.stdout.write(
  `median: 1 thread ${one.toFixed(0)} scenarios/min (${median(eventsPerSecond).toFixed(0)} events/s); ${jobs} threads ${many.toFixed(0)}/min = ${(many / one).toFixed(2)}x the thread; target ${TARGET}/min: ${many >= TARGET ? 'met' : `not met (${(many / TARGET).toFixed(2)}x)`}\n`,
);
