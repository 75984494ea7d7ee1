// `npm run bench:explore [-- --runs N --repeats R --seed S]`: small faulted scenarios (one
// owner, five members, four weeks, every fault kind, at most six faults, 4–40 messages a
// day) explored per minute: N generated scenarios, each run on the simulated world and
// judged on every property, no failure expected (the reference bugs are off). Repeated R
// times; prints each repeat and the median scenarios/minute against the target of 1,000.

import { parseArgs } from 'node:util';
import { DEFAULT_SHAPE, type ScenarioShape } from '../explore/arbitraries.ts';
import { explore } from '../explore/explorer.ts';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '100' },
    repeats: { type: 'string', default: '5' },
    seed: { type: 'string', default: '1' },
  },
});
const runs = Number(values.runs);
const repeats = Number(values.repeats);
const seed = Number(values.seed);
for (const [k, v] of Object.entries({ runs, repeats, seed })) {
  if (!Number.isInteger(v) || v < (k === 'seed' ? 0 : 1)) {
    process.stderr.write(`--${k}: expected a whole number${k === 'seed' ? ' >= 0' : ' >= 1'}\n`);
    process.exit(2);
  }
}

const TARGET = 1000;
const shape: ScenarioShape = { ...DEFAULT_SHAPE, members: { min: 5, max: 5 }, days: { min: 28, max: 28 } };

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

process.stdout.write(
  `explore bench: ${runs} scenarios per repeat (1 owner, 5 members, 28 days, up to ${shape.maxFaults} faults of ${shape.faults.length} kinds), ${repeats} repeats\n`,
);
const perMinute: number[] = [];
const eventsPerSecond: number[] = [];
for (let r = 0; r < repeats; r++) {
  const t0 = performance.now();
  // each repeat explores other scenarios (seed + r), all of the same shape
  const summary = await explore({ runs, seed: seed + r, shape, maxShrinkRuns: 0 });
  const ms = performance.now() - t0;
  const rate = (summary.runs * 60_000) / ms;
  perMinute.push(rate);
  eventsPerSecond.push((summary.events * 1000) / ms);
  process.stdout.write(
    `  repeat ${r + 1}: ${summary.runs} scenarios in ${(ms / 1000).toFixed(2)} s = ${rate.toFixed(0)}/min, ${summary.events} events, ${summary.failures.length} failures\n`,
  );
}
const med = median(perMinute);
process.stdout.write(
  `median: ${med.toFixed(0)} scenarios/min (${median(eventsPerSecond).toFixed(0)} events/s); target ${TARGET}/min: ${med >= TARGET ? 'met' : `not met (${(med / TARGET).toFixed(2)}x)`}\n`,
);
