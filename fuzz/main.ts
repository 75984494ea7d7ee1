// `npm run fuzz [-- --inputs N] [--seconds S] [--seed N] [--only a,b] [--hang-ms MS]`
//
// Runs fast-check campaigns over every decoder, the scenario loader, the store service
// (fuzz/targets.ts; each in a worker thread under a watchdog) and the peer wire
// (fuzz/peer-wire.ts; a hostile TCP peer against a running seeder and member), and prints
// per campaign: inputs run, refused (typed errors), untyped errors, hangs and the slowest
// input. `--inputs` is the whole run's budget, shared by the campaigns by weight; `--seconds`
// caps the run's wall-clock time the same way. Exit 0 when nothing was found, 1 otherwise,
// 2 for bad flags.

import { type CampaignResult, untypedCount } from './campaign.ts';
import { runPeerWireCampaign } from './peer-wire.ts';
import { runInWorker } from './run-in-worker.ts';
import { CAMPAIGNS } from './targets.ts';

const PEER_WIRE = 'peer wire';
/** Share of the budget for the peer wire: a session costs a few ms of two processes' time. */
const PEER_WIRE_WEIGHT = 0.2;

interface Flags {
  inputs: number;
  seconds?: number;
  seed: number;
  only?: string[];
  hangMs: number;
}

function usage(problem: string): never {
  process.stderr.write(
    `fuzz: ${problem}\nusage: npm run fuzz -- [--inputs N] [--seconds S] [--seed N] [--only name,name] [--hang-ms MS]\n`,
  );
  process.exit(2);
}

function parseFlags(argv: string[]): Flags {
  const flags: Flags = { inputs: 100_000, seed: 1, hangMs: 10_000 };
  const names = [...CAMPAIGNS.map((c) => c.name), PEER_WIRE];
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const number = (): number => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n) || n <= 0)
        usage(`${flag}: expected a positive number, got ${value}`);
      i++;
      return n;
    };
    if (flag === '--inputs') flags.inputs = Math.floor(number());
    else if (flag === '--seconds') flags.seconds = number();
    else if (flag === '--seed') flags.seed = Math.floor(number());
    else if (flag === '--hang-ms') flags.hangMs = number();
    else if (flag === '--only') {
      if (value === undefined) usage('--only: expected campaign names');
      flags.only = value.split(',').map((s) => s.trim());
      for (const n of flags.only)
        if (!names.includes(n)) usage(`--only: no campaign ${JSON.stringify(n)} (${names.join(', ')})`);
      i++;
    } else usage(`unknown flag ${flag}`);
  }
  return flags;
}

function line(r: CampaignResult): string {
  const slowest =
    r.slowest.index >= 0 ? `${r.slowest.ms.toFixed(1)} ms (#${r.slowest.index}: ${r.slowest.input})` : '-';
  return `${r.name.padEnd(44)} ${String(r.inputs).padStart(9)} inputs ${String(r.refused).padStart(8)} refused ${String(untypedCount(r)).padStart(3)} untyped ${String(r.hangs.length).padStart(3)} hangs  ${r.seconds.toFixed(1).padStart(6)} s  slowest ${slowest}`;
}

async function main(): Promise<number> {
  const flags = parseFlags(process.argv.slice(2));
  const chosen = CAMPAIGNS.filter((c) => !flags.only || flags.only.includes(c.name));
  const peerWire = !flags.only || flags.only.includes(PEER_WIRE);
  const totalWeight = chosen.reduce((n, c) => n + c.weight, 0) + (peerWire ? PEER_WIRE_WEIGHT : 0);
  const share = (weight: number) => ({
    count: Math.max(1, Math.round((flags.inputs * weight) / totalWeight)),
    ...(flags.seconds !== undefined ? { budgetMs: (flags.seconds * 1000 * weight) / totalWeight } : {}),
  });
  process.stdout.write(
    `fuzz: seed ${flags.seed}, ${flags.inputs} inputs${flags.seconds ? ` or ${flags.seconds} s` : ''}, ${chosen.length + (peerWire ? 1 : 0)} campaigns\n`,
  );
  const results: CampaignResult[] = [];
  let failedAfter: string[] = [];
  for (const c of chosen) {
    const r = await runInWorker(c.name, { seed: flags.seed, hangMs: flags.hangMs, ...share(c.weight) });
    results.push(r);
    process.stdout.write(`${line(r)}\n`);
  }
  if (peerWire) {
    const s = share(PEER_WIRE_WEIGHT);
    // Two targets share the peer wire's budget.
    const outcome = await runPeerWireCampaign({
      seed: flags.seed,
      sessions: Math.max(50, Math.ceil(s.count / 2)),
      ...(s.budgetMs !== undefined ? { budgetMs: s.budgetMs } : {}),
    });
    for (const r of outcome.results) {
      results.push(r);
      process.stdout.write(`${line(r)}\n`);
    }
    failedAfter = Object.entries(outcome.after)
      .filter(([, ok]) => !ok)
      .map(([what]) => what);
    process.stdout.write(
      `peer wire afterwards: ${Object.entries(outcome.after)
        .map(([what, ok]) => `${what} ${ok ? 'yes' : 'NO'}`)
        .join(', ')}${outcome.detail.length > 0 ? ` (${outcome.detail.join('; ')})` : ''}\n`,
    );
  }
  const inputs = results.reduce((n, r) => n + r.inputs, 0);
  const untyped = results.reduce((n, r) => n + untypedCount(r), 0);
  const hangs = results.reduce((n, r) => n + r.hangs.length, 0);
  const slowest = results.reduce((a, r) => (r.slowest.ms > a.slowest.ms ? r : a), results[0]!);
  process.stdout.write(
    `total: ${inputs} inputs, ${untyped} untyped errors, ${hangs} hangs, slowest input ${slowest.slowest.ms.toFixed(1)} ms (${slowest.name})\n`,
  );
  for (const r of results) {
    for (const f of [...r.untyped, ...r.hangs]) {
      process.stdout.write(`  ${r.name} #${f.index}: ${f.error ?? ''}\n    input ${f.input}\n`);
    }
  }
  return untyped > 0 || hangs > 0 || failedAfter.length > 0 ? 1 : 0;
}

process.exitCode = await main();
