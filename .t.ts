import { loadScenario } from './scenarios/load.ts';
import { runScenario } from './scenarios/runner.ts';
const s = loadScenario(process.argv[2]!);
const out = await runScenario(s, { keepTrace: true });
const start = s.start;
for (const l of out.traceLines.slice(1)) {
  const o = JSON.parse(l);
  if (o.node === process.argv[3] && /^(sig|signal|archive|community|node\.|scenario)/.test(o.kind) || o.kind.startsWith('scenario')) console.log(((o.t - start) / 86400000).toFixed(4), l.slice(0, 200));
}
