// A fixed reference workload for benchmarks on a shared machine: a deterministic random
// walk over a graph shaped like a swarm's (40,000 nodes, 20 neighbours each, a few fields
// per node in typed arrays, one object per node), with the cache behaviour of a
// simulator's hot loop. Its speed follows what other jobs leave of the CPU and its caches;
// a benchmark runs slices of it between slices of its own work and prints its figure
// divided by this one: a same-run ratio that stays put when the machine is loaded (the
// figures themselves do not).

import { Prng } from '../sim/prng.ts';

const NODES = 40_000;
const DEGREE = 20;

interface Cell {
  value: number;
  visits: number;
}

export class ReferenceWorkload {
  readonly #next = new Int32Array(NODES * DEGREE);
  readonly #load = new Int32Array(NODES);
  readonly #rate = new Float64Array(NODES);
  readonly #cells: Cell[] = [];
  #at = 0;
  #step = 0;
  #acc = 0;
  /** Steps run and the CPU and wall time they took (ms). */
  steps = 0;
  cpuMs = 0;
  wallMs = 0;

  constructor() {
    const rng = Prng.stream(7, 'bench:reference');
    for (let i = 0; i < this.#next.length; i++) this.#next[i] = rng.int(0, NODES - 1);
    const cells: Cell[] = [];
    for (let i = 0; i < NODES; i++) cells.push({ value: rng.next(), visits: 0 });
    this.#cells = rng.shuffle(cells);
  }

  /** Run `steps` more steps, timed. */
  run(steps: number): void {
    const next = this.#next;
    const load = this.#load;
    const rate = this.#rate;
    const cells = this.#cells;
    let at = this.#at;
    let acc = this.#acc;
    const w0 = performance.now();
    const c0 = process.cpuUsage();
    for (let i = 0, s = this.#step; i < steps; i++, s++) {
      const row = at * DEGREE;
      // look at a few neighbours, as a refill looks at a few peers
      let best = next[row + (s % DEGREE)]!;
      for (let k = 1; k < 4; k++) {
        const n = next[row + ((s + k * 7) % DEGREE)]!;
        if (load[n]! < load[best]!) best = n;
      }
      load[best]!++;
      rate[best] = rate[best]! * 0.5 + 1;
      const cell = cells[best]!;
      cell.visits++;
      acc += cell.value;
      if ((s & 15) === 0) load[at] = 0;
      at = best;
    }
    const cpu = process.cpuUsage(c0);
    this.wallMs += performance.now() - w0;
    this.cpuMs += (cpu.user + cpu.system) / 1000;
    this.#step += steps;
    this.steps += steps;
    this.#at = at;
    this.#acc = acc;
  }

  get perCpuSecond(): number {
    return this.steps / (this.cpuMs / 1000);
  }
}
