// What an exploration reached, summed over its runs: for every state and every transition
// branch of the machines, every fault kind and every reference quirk, the number of runs
// that entered the state, took the branch, injected the fault or came to the point where
// the quirk's switch decides (explore/coverage-watch.ts records one run). Every item is
// listed, reached or not, so summaries of shards add up key by key and a merge knows what
// none of them reached. Pure: the CLI's merge loads only this.

export interface RunCoverage {
  states: string[];
  transitions: string[];
  faults: string[];
  quirks: string[];
}

export interface Coverage {
  /** Runs counted (the generated scenario of each; shrinking is not counted). */
  runs: number;
  states: Record<string, number>;
  transitions: Record<string, number>;
  faults: Record<string, number>;
  quirks: Record<string, number>;
}

const SECTIONS = ['states', 'transitions', 'faults', 'quirks'] as const;
type Section = (typeof SECTIONS)[number];

function zeros(keys: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...keys].sort()) out[k] = 0;
  return out;
}

/** A coverage of no runs over the given items. */
export function emptyCoverage(items: Record<Section, readonly string[]>): Coverage {
  return {
    runs: 0,
    states: zeros(items.states),
    transitions: zeros(items.transitions),
    faults: zeros(items.faults),
    quirks: zeros(items.quirks),
  };
}

/** Counts one run in (items it reached that the coverage did not list are added). */
export function addRun(coverage: Coverage, run: RunCoverage): void {
  coverage.runs++;
  for (const section of SECTIONS) {
    const counts = coverage[section];
    for (const item of new Set(run[section])) counts[item] = (counts[item] ?? 0) + 1;
  }
}

function sorted(counts: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(counts).sort()) out[k] = counts[k] as number;
  return out;
}

/** The coverage of several summaries together. */
export function mergeCoverage(parts: readonly Coverage[]): Coverage {
  const out: Coverage = { runs: 0, states: {}, transitions: {}, faults: {}, quirks: {} };
  for (const p of parts) {
    out.runs += p.runs;
    for (const section of SECTIONS)
      for (const [k, v] of Object.entries(p[section])) out[section][k] = (out[section][k] ?? 0) + v;
  }
  for (const section of SECTIONS) out[section] = sorted(out[section]);
  return out;
}

const pct = (a: number, b: number): string => (b === 0 ? '-' : `${Math.round((100 * a) / b)}%`);

/** Reached items per machine (the part of a state id or branch name before the first "."). */
function perMachine(coverage: Coverage): { machine: string; states: number[]; transitions: number[] }[] {
  const byMachine = new Map<string, { states: number[]; transitions: number[] }>();
  const count = (section: 'states' | 'transitions') => {
    for (const [k, v] of Object.entries(coverage[section])) {
      const machine = k.split(/[.|]/)[0] as string;
      const m = byMachine.get(machine) ?? { states: [0, 0], transitions: [0, 0] };
      const pair = m[section] as [number, number];
      pair[1]++;
      if (v > 0) pair[0]++;
      byMachine.set(machine, m);
    }
  };
  count('states');
  count('transitions');
  return [...byMachine.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([machine, m]) => ({ machine, ...m }));
}

/** The coverage report printed by `archivist explore` and `archivist explore merge`. */
export function coverageText(coverage: Coverage, notes: { faultsAsked?: readonly string[] } = {}): string {
  const lines: string[] = [`coverage over ${coverage.runs} runs (runs reaching each):`];
  const reached = (c: Record<string, number>) => Object.values(c).filter((v) => v > 0).length;
  const total = (c: Record<string, number>) => Object.keys(c).length;
  lines.push(
    `  machines: states ${reached(coverage.states)}/${total(coverage.states)} (${pct(reached(coverage.states), total(coverage.states))}), transitions ${reached(coverage.transitions)}/${total(coverage.transitions)} (${pct(reached(coverage.transitions), total(coverage.transitions))})`,
  );
  for (const m of perMachine(coverage))
    lines.push(
      `    ${m.machine.padEnd(15)} states ${m.states[0]}/${m.states[1]}, transitions ${m.transitions[0]}/${m.transitions[1]}`,
    );
  const never = [
    ...Object.entries(coverage.states)
      .filter(([, v]) => v === 0)
      .map(([k]) => k),
    ...Object.entries(coverage.transitions)
      .filter(([, v]) => v === 0)
      .map(([k]) => k),
  ];
  if (never.length > 0) {
    const shown = never.slice(0, 12);
    lines.push(
      `    not reached: ${shown.join(', ')}${never.length > shown.length ? `, … (${never.length - shown.length} more)` : ''}`,
    );
  }
  const asked = notes.faultsAsked ? new Set(notes.faultsAsked) : undefined;
  const faults = Object.entries(coverage.faults);
  const drawn = faults.filter(([k, v]) => !asked || asked.has(k) || v > 0);
  const notDrawn = faults.filter(([k, v]) => asked && !asked.has(k) && v === 0).map(([k]) => k);
  lines.push(
    `  fault kinds (runs injecting each): ${drawn.map(([k, v]) => `${k} ${v}`).join(', ') || 'none'}${notDrawn.length > 0 ? `; not drawn: ${notDrawn.join(', ')}` : ''}`,
  );
  lines.push(
    `  quirk switches (runs reaching the decision): ${Object.entries(coverage.quirks)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  return `${lines.join('\n')}\n`;
}
