// Model-based tests of every machine (machines/definitions.ts) with xstate/graph.
//
// The model (test/model-graph.ts): each machine's own state tree, with every transition
// branch made an explicit event (`<state>|<event>#<branch>`), so `createTestModel`
// traverses every branch. Its shortest paths, transition-cover paths and simple paths are
// the generated tests.
//
// The system under test (test/model-worlds.ts): the machines composed with the simulated
// adapters, driven through a set of simulated worlds, some with port faults injected
// (adapters/sim/faulty-adapters.ts). An inspector records every state each real actor
// entered and every transition it took (source, event, branch). Executing a path checks
// that every state and every transition on it happened in the real machines.
//
// The suite prints state and transition coverage per machine and in total, and fails
// unless every state and transition was taken, except the ones listed in UNREACHABLE:
// dead branches of the definitions, each with the reason, reported to be removed. That
// list is checked too: an entry that names nothing, or that a world now drives, fails.

import { readdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Actor, type AnyStateMachine, createActor, type InspectionEvent, StateMachine } from 'xstate';
import { createTestModel } from 'xstate/graph';
import { machines } from '../machines/definitions.ts';
import { branchName, type DefTransition, edgesOf, skeleton, statesOf } from './model-graph.ts';
import { WORLDS } from './model-worlds.ts';

// ---------------------------------------------------------------- observing the machines

const observed = { states: new Set<string>(), edges: new Set<string>() };

interface SnapshotLike {
  _nodes?: { id: string }[];
}

function inspector(ev: InspectionEvent): void {
  if (ev.type === '@xstate.snapshot') {
    for (const n of (ev.snapshot as SnapshotLike)._nodes ?? []) observed.states.add(n.id);
  }
  if (ev.type === '@xstate.microstep') {
    for (const t of (ev as unknown as { _transitions: DefTransition[] })._transitions ?? []) {
      observed.edges.add(branchName(t));
      // states passed through within one macrostep never show in a snapshot
      observed.states.add(t.source.id);
      for (const target of t.target ?? []) observed.states.add(target.id);
    }
  }
}

/**
 * Watch every actor from its very first step: while the worlds run, each root actor
 * attaches the inspector to its system as it is created (children share the system).
 */
async function watching(run: () => Promise<void>): Promise<void> {
  // `_initState` runs in the constructor once the system exists and before the initial
  // macrostep (whose eventless transitions would otherwise go unseen).
  const proto = Actor.prototype as unknown as { _initState(s: unknown): unknown };
  const original = proto._initState;
  proto._initState = function initState(this: Actor<AnyStateMachine>, persisted: unknown) {
    if (!(this as unknown as { _parent?: unknown })._parent) this.system.inspect(inspector);
    return original.call(this, persisted);
  };
  try {
    await run();
  } finally {
    proto._initState = original;
  }
}

// ---------------------------------------------------------------- what no world can drive

/**
 * Dead branches of the machine definitions, with the reason, while they wait to be removed
 * (none now: the §5.5 NodeFault branches of controlNode and member were removed once this
 * suite showed that env.fault fails the node, stopping its community actors, before any
 * NodeFault rejection could reach them).
 */
const UNREACHABLE: Record<string, string> = {};

// ---------------------------------------------------------------- the tests

const coverage: string[] = [];
const totals = { states: 0, seenStates: 0, edges: 0, seenEdges: 0 };
const pct = (a: number, b: number) => `${Math.round((100 * a) / b)}%`;

beforeAll(async () => {
  await watching(async () => {
    for (const [, world] of WORLDS) await world();
  });
}, 60_000);

afterAll(() => {
  process.stdout.write(
    `\nmodel coverage (states, transitions) over ${WORLDS.length} simulated worlds:\n${coverage.join('\n')}\n` +
      `  ${'total'.padEnd(15)} states ${totals.seenStates}/${totals.states} (${pct(totals.seenStates, totals.states)}), transitions ${totals.seenEdges}/${totals.edges} (${pct(totals.seenEdges, totals.edges)})\n`,
  );
});

test('every machines/*.machine.ts machine is in machines/definitions.ts, so this suite models it', async () => {
  const dir = new URL('../machines/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.machine.ts'));
  expect(files.length).toBeGreaterThan(0);
  const listed = new Set(Object.values(machines));
  for (const f of files) {
    const mod = (await import(new URL(f, dir).href)) as Record<string, unknown>;
    const found = Object.values(mod).filter((v) => v instanceof StateMachine);
    expect(found.length, `${f} exports no machine`).toBeGreaterThan(0);
    for (const m of found)
      expect(listed.has(m as AnyStateMachine), `${f}: ${(m as AnyStateMachine).id}`).toBe(true);
  }
});

describe.each(Object.keys(machines).sort())('machine %s', (name) => {
  const machine = machines[name] as AnyStateMachine;
  const skel = skeleton(machine);
  const model = createTestModel(skel, {
    events: edgesOf(machine).map((e) => ({ type: e.name })) as never,
  });
  const states = statesOf(machine);
  const edges = edgesOf(machine);
  // Simple paths follow the branches that change state; a targetless branch leaves the
  // state as it was (the transition-cover paths take each of those).
  const moves = new Set(edges.filter((e) => e.targets.length > 0).map((e) => e.name));
  let simple: ReturnType<typeof model.getSimplePaths> | undefined;
  const simplePaths = () => {
    const filterEvents = (_state: unknown, event: { type: string }) => moves.has(event.type);
    simple ??= model.getSimplePaths({ filterEvents } as never);
    return simple;
  };

  /** Executing a path: each state and transition on it happened in the real machines. */
  const params = {
    states: Object.fromEntries(
      states.map((id) => [
        id.slice(machine.id.length + 1),
        () => {
          if (id in UNREACHABLE) return;
          expect(observed.states, `state ${id} never entered`).toContain(id);
        },
      ]),
    ),
    events: Object.fromEntries(
      edges.map((e) => [
        e.name,
        () => {
          if (e.name in UNREACHABLE) return;
          expect(observed.edges, `transition ${e.name} never taken`).toContain(e.name);
        },
      ]),
    ),
  };

  test('every state and every transition was taken by the machines on the simulated worlds', () => {
    const seenStates = states.filter((s) => observed.states.has(s));
    const seenEdges = edges.filter((e) => observed.edges.has(e.name));
    const dead = [...states, ...edges.map((e) => e.name)].filter((x) => x in UNREACHABLE).length;
    totals.states += states.length;
    totals.seenStates += seenStates.length;
    totals.edges += edges.length;
    totals.seenEdges += seenEdges.length;
    coverage.push(
      `  ${name.padEnd(15)} states ${seenStates.length}/${states.length} (${pct(seenStates.length, states.length)}), transitions ${seenEdges.length}/${edges.length} (${pct(seenEdges.length, edges.length)}), ${name === 'member' ? 'transition-cover paths only' : `${simplePaths().length} simple paths`}${dead > 0 ? `; ${dead} dead (UNREACHABLE)` : ''}`,
    );
    const missing = [
      ...states.filter((s) => !observed.states.has(s)).map((s) => `state ${s}`),
      ...edges.filter((e) => !observed.edges.has(e.name)).map((e) => `transition ${e.name}`),
    ];
    for (const m of missing) coverage.push(`    not taken: ${m}`);
    const undriven = missing.filter((m) => !(m.slice(m.indexOf(' ') + 1) in UNREACHABLE));
    expect(undriven, `not covered by any world:\n  ${undriven.join('\n  ')}`).toEqual([]);
  });

  test('the UNREACHABLE entries of this machine name real states or transitions no world drives', () => {
    const mine = Object.keys(UNREACHABLE).filter((k) => k.split(/[.|]/)[0] === machine.id);
    const known = new Set([...states, ...edges.map((e) => e.name)]);
    const stale = mine.filter((k) => !known.has(k));
    expect(stale, `UNREACHABLE names what the machine no longer has:\n  ${stale.join('\n  ')}`).toEqual([]);
    const driven = mine.filter((k) => observed.states.has(k) || observed.edges.has(k));
    expect(driven, `driven now, remove from UNREACHABLE:\n  ${driven.join('\n  ')}`).toEqual([]);
  });

  test('shortest paths reach every state of the model, and the machines went through each', async () => {
    const paths = model.getShortestPaths();
    const reached = new Set<string>();
    const note = (snap: unknown) => {
      for (const n of (snap as SnapshotLike)._nodes ?? []) reached.add(n.id);
    };
    note(createActor(skel).getSnapshot());
    for (const p of paths) {
      for (const step of p.steps) note(step.state);
      await p.test(params as never);
    }
    for (const id of states) expect(reached, `${id} unreachable in the model`).toContain(id);
  });

  test('transition-cover paths (shortest path to the source, then the branch) take every transition', async () => {
    // the shortest event sequence to each model state (by its value), the initial one empty
    const key = (snap: unknown) => JSON.stringify((snap as { value: unknown }).value);
    const shortest = new Map<string, { type: string }[]>([[key(createActor(skel).getSnapshot()), []]]);
    for (const p of model.getShortestPaths()) {
      const events = p.steps.map((x) => x.event as { type: string });
      p.steps.forEach((step, i) => {
        const k = key(step.state);
        const known = shortest.get(k);
        if (!known || known.length > i + 1) shortest.set(k, events.slice(0, i + 1));
      });
    }
    const taken = new Set<string>();
    for (const [, value] of Object.entries(model.getAdjacencyMap())) {
      const prefix = shortest.get(key(value.state));
      if (!prefix) continue;
      for (const next of Object.values(value.transitions) as { event: { type: string } }[]) {
        for (const p of model.getPathsFromEvents([...prefix, next.event] as never)) {
          await p.test(params as never);
          taken.add(next.event.type);
        }
      }
    }
    const untaken = edges.filter((e) => !taken.has(e.name)).map((e) => e.name);
    expect(untaken, `no transition-cover path ends with:\n  ${untaken.join('\n  ')}`).toEqual([]);
  });

  // The member machine's simple paths run into the millions (a magnetlink may restart a
  // task from every state); its transitions are covered by the transition-cover paths.
  if (name !== 'member') {
    test('simple paths: every one happened step by step in the machines', async () => {
      const paths = simplePaths();
      expect(paths.length).toBeGreaterThan(0);
      for (const p of paths) await p.test(params as never);
    });
  }
});
