// npm run bench:fair-share — the bandwidth model's cost per transfer, two implementations
// of the same rule on the same workload: sim/fair-share.ts (the content network's: a Flow
// object per transfer, Sets per endpoint) and the swarm's tables (sim/swarm/bandwidth.ts).
// 5,000 nodes, at most 4 uploads and 8 downloads each, 15,000 transfers kept sending;
// 300,000 times one ends and another starts (its request arrives through the kernel at
// once; both ends are reshared at the end and at the start). Prints µs per
// end + start, medians of 3 runs: why the swarm keeps its own copy of the rule.

import { type Endpoint, FairShare, type Flow } from '../sim/fair-share.ts';
import { Kernel } from '../sim/kernel.ts';
import { Prng } from '../sim/prng.ts';
import { reshare } from '../sim/swarm/bandwidth.ts';
import {
  NodeTable,
  T_DOWN_NODE,
  T_DOWN_SHARE,
  T_LAST,
  T_RATE,
  T_REMAINING,
  T_SENDING,
  T_UP_NODE,
  T_UP_SHARE,
  TransferTable,
  TSTRIDE,
} from '../sim/swarm/tables.ts';

const NODES = 5000;
const OPS = 300_000;
const LIVE = 15_000;
const UP = 4;
const DOWN = 8;

function withFairShare(): number {
  const kernel = new Kernel(0);
  const fs = new FairShare(kernel, 'bench');
  const rng = Prng.stream(1, 'bench:fair-share');
  const eps: Endpoint[] = [];
  for (let i = 0; i < NODES; i++) eps.push(fs.endpoint(`n${i}`, 2.5e6, 12.5e6));
  const start = (): Flow => {
    for (;;) {
      const a = eps[rng.int(0, NODES - 1)]!;
      const b = eps[rng.int(0, NODES - 1)]!;
      if (a === b || a.ups.size >= UP || b.downs.size >= DOWN) continue;
      return fs.start(a, b, 1e12, 0, null, () => {}) as Flow;
    }
  };
  const live: Flow[] = [];
  for (let i = 0; i < LIVE; i++) live.push(start());
  kernel.run({ until: 0 }); // the requests arrive: all send
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const j = rng.int(0, LIVE - 1);
    fs.abort(live[j]!);
    live[j] = start();
    kernel.run({ until: 0 });
  }
  return ((performance.now() - t0) / OPS) * 1000;
}

function withTables(): number {
  const kernel = new Kernel(0);
  const rng = Prng.stream(1, 'bench:fair-share');
  const nt = new NodeTable(UP, DOWN);
  const tt = new TransferTable();
  for (let i = 0; i < NODES; i++) {
    nt.add();
    nt.upBps[i] = 2.5e6;
    nt.downBps[i] = 12.5e6;
    nt.reach[i] = 1;
  }
  tt.reserve(NODES * UP);
  tt.onDone = () => {};
  const arrive = (t: number): void => {
    const o = t * TSTRIDE;
    const a = tt.ti[o + T_UP_NODE]!;
    const b = tt.ti[o + T_DOWN_NODE]!;
    tt.ti[o + T_SENDING] = 1;
    tt.tf[o + T_LAST] = kernel.now();
    nt.sendingUp[a]!++;
    nt.sendingDown[b]!++;
    reshare(kernel, nt, tt, a, b, kernel.now());
  };
  const start = (): number => {
    for (;;) {
      const a = rng.int(0, NODES - 1);
      const b = rng.int(0, NODES - 1);
      if (a === b || nt.upN[a]! >= UP || nt.downN[b]! >= DOWN) continue;
      const t = tt.alloc();
      const o = t * TSTRIDE;
      tt.ti[o + T_UP_NODE] = a;
      tt.ti[o + T_DOWN_NODE] = b;
      tt.ti[o + T_SENDING] = 0;
      tt.tf[o + T_REMAINING] = 1e12;
      tt.tf[o + T_RATE] = 0;
      tt.tf[o + T_UP_SHARE] = 0;
      tt.tf[o + T_DOWN_SHARE] = 0;
      tt.tf[o + T_LAST] = kernel.now();
      const ui = a * UP + nt.upN[a]!;
      nt.upList[ui] = t;
      tt.upIdx[t] = ui;
      nt.upN[a]!++;
      const di = b * DOWN + nt.downN[b]!;
      nt.downList[di] = t;
      tt.downIdx[t] = di;
      nt.downN[b]!++;
      // the request arrives at once (latency 0), as in the FairShare run: then it sends
      const ev = tt.ev[t];
      if (ev === undefined) tt.ev[t] = kernel.schedule(kernel.now(), 'bench', arrive, t);
      else kernel.reschedule(ev, kernel.now(), arrive);
      return t;
    }
  };
  const end = (t: number): void => {
    const o = t * TSTRIDE;
    const a = tt.ti[o + T_UP_NODE]!;
    const b = tt.ti[o + T_DOWN_NODE]!;
    kernel.cancel(tt.ev[t]!);
    tt.tf[o + T_RATE] = 0;
    const ul = a * UP + --nt.upN[a]!;
    if (tt.upIdx[t] !== ul) {
      const m = nt.upList[ul]!;
      nt.upList[tt.upIdx[t]!] = m;
      tt.upIdx[m] = tt.upIdx[t]!;
    }
    const dl = b * DOWN + --nt.downN[b]!;
    if (tt.downIdx[t] !== dl) {
      const m = nt.downList[dl]!;
      nt.downList[tt.downIdx[t]!] = m;
      tt.downIdx[m] = tt.downIdx[t]!;
    }
    if (tt.ti[o + T_SENDING] === 1) {
      nt.sendingUp[a]!--;
      nt.sendingDown[b]!--;
    }
    tt.ti[o + T_SENDING] = 0;
    tt.release(t);
    reshare(kernel, nt, tt, a, b, kernel.now());
  };
  const live: number[] = [];
  for (let i = 0; i < LIVE; i++) live.push(start());
  kernel.run({ until: 0 });
  const t0 = performance.now();
  for (let i = 0; i < OPS; i++) {
    const j = rng.int(0, LIVE - 1);
    end(live[j]!);
    live[j] = start();
    kernel.run({ until: 0 });
  }
  return ((performance.now() - t0) / OPS) * 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fair: number[] = [];
const tables: number[] = [];
for (let r = 0; r < 3; r++) {
  fair.push(withFairShare());
  tables.push(withTables());
  console.log(
    `run ${r + 1}: FairShare ${fair[r]!.toFixed(2)} µs, swarm tables ${tables[r]!.toFixed(2)} µs per end + start`,
  );
}
console.log(
  `median: FairShare ${median(fair).toFixed(2)} µs, swarm tables ${median(tables).toFixed(2)} µs per end + start ` +
    `(ratio ${(median(fair) / median(tables)).toFixed(1)}x)`,
);
