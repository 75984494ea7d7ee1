// The model side of the model-based tests (test/model-machines.test.ts): each machine's own
// state tree, with every transition branch made an explicit event named
// `<state>|<event>#<branch>` (guards, delays, `always` and the onDone/onError of
// invocations become choices), so `createTestModel` of xstate/graph traverses every branch.

import { type AnyStateMachine, createMachine } from 'xstate';
import { type DefNode, edgesOf } from '../explore/machine-coverage.ts';

// The states and branches of a machine, named as the explorer's coverage names them.
export {
  branchName,
  type DefNode,
  type DefTransition,
  type Edge,
  edgeName,
  edgesOf,
  statesOf,
} from '../explore/machine-coverage.ts';

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
