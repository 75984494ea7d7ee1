// The model side of the model-based tests (test/model-machines.test.ts): each machine's own
// state tree, with every transition branch made an explicit event named
// `<state>|<event>#<branch>` (guards, delays, `always` and the onDone/onError of
// invocations become choices), so `createTestModel` of xstate/graph traverses every branch.

import { type AnyStateMachine, createMachine } from 'xstate';

/** The parts of XState's state node objects the model reads. */
export interface DefNode {
  id: string;
  key: string;
  type: string;
  initial?: { target: DefNode[] };
  states: Record<string, DefNode>;
  transitions: Map<string, DefTransition[]>;
  always?: DefTransition[];
}

export interface DefTransition {
  target?: DefNode[];
  eventType: string;
  source: DefNode;
}

/** The model's name of a transition branch. */
export function edgeName(sourceId: string, eventType: string, branch: number): string {
  return `${sourceId}|${eventType === '' ? 'always' : eventType}#${branch}`;
}

export interface Edge {
  name: string;
  source: string;
  targets: string[];
}

function walk(n: DefNode, visit: (n: DefNode) => void): void {
  visit(n);
  for (const c of Object.values(n.states)) walk(c, visit);
}

/** Every state of the machine (not the root), by id. */
export function statesOf(m: AnyStateMachine): string[] {
  const out: string[] = [];
  walk(m.root as unknown as DefNode, (n) => {
    if (n !== (m.root as unknown)) out.push(n.id);
  });
  return out;
}

/** Every transition branch of the machine. */
export function edgesOf(m: AnyStateMachine): Edge[] {
  const out: Edge[] = [];
  walk(m.root as unknown as DefNode, (n) => {
    for (const [eventType, list] of n.transitions)
      list.forEach((t, i) => {
        out.push({
          name: edgeName(n.id, eventType, i),
          source: n.id,
          targets: (t.target ?? []).map((x) => x.id),
        });
      });
    (n.always ?? []).forEach((t, i) => {
      out.push({ name: edgeName(n.id, '', i), source: n.id, targets: (t.target ?? []).map((x) => x.id) });
    });
  });
  return out;
}

/** The name of the branch a transition object of a running machine is. */
export function branchName(t: DefTransition): string {
  const src = t.source;
  const always = t.eventType === '' || t.eventType === undefined;
  const list = always ? (src.always ?? []) : (src.transitions.get(t.eventType) ?? []);
  let i = list.indexOf(t);
  if (i < 0) {
    const targets = (x: DefTransition) => (x.target ?? []).map((y) => y.id).join();
    i = list.findIndex((x) => targets(x) === targets(t));
  }
  return edgeName(src.id, always ? '' : t.eventType, Math.max(0, i));
}

function noop(): void {}

/** The machine's tree with each branch an unguarded event; no actions, invocations or delays. */
export function skeleton(m: AnyStateMachine): AnyStateMachine {
  const edges = edgesOf(m);
  const config = (n: DefNode, root: boolean): Record<string, unknown> => {
    const c: Record<string, unknown> = {};
    if (root) c.id = n.id;
    if (n.type === 'final' || n.type === 'parallel') c.type = n.type;
    const initial = n.initial?.target[0];
    if (n.type === 'compound' && initial) c.initial = initial.key;
    const on: Record<string, unknown> = {};
    // a targetless branch keeps an (empty) action: `snapshot.can()`, which the traversal
    // asks, is false for a transition with neither target nor action
    for (const e of edges.filter((x) => x.source === n.id))
      on[e.name] = e.targets.length > 0 ? { target: e.targets.map((t) => `#${t}`) } : { actions: noop };
    if (Object.keys(on).length > 0) c.on = on;
    const states = Object.entries(n.states);
    if (states.length > 0) c.states = Object.fromEntries(states.map(([k, v]) => [k, config(v, false)]));
    return c;
  };
  return createMachine(config(m.root as unknown as DefNode, true) as never);
}
