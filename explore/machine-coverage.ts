// Which states and transitions of the machines a run took. Generic over the machines of
// machines/definitions.ts: their state trees give every state (by id, e.g. "member.idle")
// and every transition branch (`<state>|<event>#<branch>`: guards, delays, `always` and the
// onDone/onError of invocations are branches of their own), and XState's inspection events
// of the running actors say which were entered and taken. The model-based tests
// (test/model-machines.test.ts) name states and branches the same way.

import type { AnyStateMachine, InspectionEvent } from 'xstate';
import { machines } from '../machines/definitions.ts';

/** The parts of XState's state node objects read here. */
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

export interface Edge {
  name: string;
  source: string;
  targets: string[];
}

/** The name of a transition branch. */
export function edgeName(sourceId: string, eventType: string, branch: number): string {
  return `${sourceId}|${eventType === '' ? 'always' : eventType}#${branch}`;
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

/** Every state and transition branch of every machine of machines/definitions.ts, sorted. */
export function machineUniverse(): { states: string[]; transitions: string[] } {
  const states: string[] = [];
  const transitions: string[] = [];
  for (const m of Object.values(machines)) {
    states.push(...statesOf(m));
    transitions.push(...edgesOf(m).map((e) => e.name));
  }
  return { states: states.sort(), transitions: transitions.sort() };
}

interface SnapshotLike {
  _nodes?: { id: string }[];
}

/** Branch names of transition objects already seen (they are the definitions' own objects). */
const branchNames = new WeakMap<DefTransition, string>();

/** Records the states entered and the branches taken, from inspection events. */
export class MachineCoverageRecorder {
  readonly states = new Set<string>();
  readonly transitions = new Set<string>();

  readonly inspect = (event: InspectionEvent): void => {
    if (event.type === '@xstate.snapshot') {
      for (const n of (event.snapshot as SnapshotLike)._nodes ?? []) this.states.add(n.id);
    } else if (event.type === '@xstate.microstep') {
      for (const t of (event as unknown as { _transitions?: DefTransition[] })._transitions ?? []) {
        let name = branchNames.get(t);
        if (name === undefined) {
          name = branchName(t);
          branchNames.set(t, name);
        }
        this.transitions.add(name);
        // states passed through within one macrostep never show in a snapshot
        this.states.add(t.source.id);
        for (const target of t.target ?? []) this.states.add(target.id);
      }
    }
  };
}
