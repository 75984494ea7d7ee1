// Every machine definition, for Stately's visualizer (paste a definition into
// stately.ai/viz or the Stately editor's "import from JSON"). `archivist machines --json`
// prints them. Implementations (actors, guards, actions, delays) appear by name only.

import type { AnyStateMachine } from 'xstate';
import { controlNodeMachine } from './control-node.machine.ts';
import { memberMachine } from './member.machine.ts';
import { nodeMachine } from './node.machine.ts';

export const machines: Record<string, AnyStateMachine> = {
  node: nodeMachine,
  controlNode: controlNodeMachine,
  member: memberMachine,
};

/**
 * Every machine as a Stately-importable config (`createMachine` JSON): states, initial,
 * `on`, `after`, `always`, `invoke` with `onDone`/`onError`, entry/exit. Targets are
 * `#id` references; guards, actions, actors and delays appear by name (inline functions
 * as "inline").
 */
export function machineDefinitions(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of Object.keys(machines).sort()) {
    out[name] = stateConfig((machines[name] as AnyStateMachine).root as unknown as DefNode, true);
  }
  return out;
}

interface DefTransition {
  target?: { id: string }[];
  guard?: unknown;
  actions?: unknown[];
  reenter?: boolean;
  eventType: string;
  delay?: unknown;
}

interface DefNode {
  id: string;
  key: string;
  type: string;
  initial?: { target: { key: string }[] };
  states: Record<string, DefNode>;
  transitions: Map<string, DefTransition[]>;
  always?: DefTransition[];
  invoke: { src: unknown; id: string }[];
  entry: unknown[];
  exit: unknown[];
}

function nameOf(x: unknown): string {
  if (typeof x === 'string') return x;
  if (typeof x === 'function') {
    const n = x.name;
    return n && n !== 'guard' && n !== 'actions' && !n.startsWith('bound ') ? n : 'inline';
  }
  if (x && typeof x === 'object' && 'type' in x) return String((x as { type: unknown }).type);
  return 'inline';
}

// XState's own bookkeeping of delayed events, not protocol actions.
const internal = (a: unknown): boolean => /^(xstate\.)?(raise|cancel)$/.test(nameOf(a));

function transitionConfig(t: DefTransition): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (t.target && t.target.length === 1) c.target = `#${t.target[0]?.id}`;
  else if (t.target && t.target.length > 1) c.target = t.target.map((n) => `#${n.id}`);
  if (t.guard !== undefined) c.guard = nameOf(t.guard);
  const actions = (t.actions ?? []).filter((a) => !internal(a)).map(nameOf);
  if (actions.length > 0) c.actions = actions;
  if (t.reenter) c.reenter = true;
  return c;
}

function stateConfig(n: DefNode, root = false): Record<string, unknown> {
  const c: Record<string, unknown> = {};
  if (root) c.id = n.id;
  else if (!n.id.includes('.')) c.id = n.id;
  if (n.type === 'final' || n.type === 'parallel') c.type = n.type;
  const initial = n.initial?.target[0];
  if (n.type === 'compound' && initial) c.initial = initial.key;
  const entry = n.entry.filter((a) => !internal(a)).map(nameOf);
  const exit = n.exit.filter((a) => !internal(a)).map(nameOf);
  if (entry.length > 0) c.entry = entry;
  if (exit.length > 0) c.exit = exit;
  const on: Record<string, unknown> = {};
  const after: Record<string, unknown> = {};
  const invoke = n.invoke.map((i) => ({ src: nameOf(i.src), id: i.id }) as Record<string, unknown>);
  for (const [event, ts] of n.transitions) {
    const list = ts.map(transitionConfig);
    if (event.startsWith('xstate.after.')) {
      after[nameOf(ts[0]?.delay ?? event.split('.')[2])] = list;
    } else if (event.startsWith('xstate.done.actor.') || event.startsWith('xstate.error.actor.')) {
      const done = event.startsWith('xstate.done.actor.');
      const id = event.slice(done ? 'xstate.done.actor.'.length : 'xstate.error.actor.'.length);
      const inv = invoke.find((i) => i.id === id);
      if (inv) inv[done ? 'onDone' : 'onError'] = list;
    } else {
      on[event] = list;
    }
  }
  if (n.always && n.always.length > 0) c.always = n.always.map(transitionConfig);
  if (Object.keys(on).length > 0) c.on = on;
  if (Object.keys(after).length > 0) c.after = after;
  if (invoke.length > 0) c.invoke = invoke;
  const states = Object.entries(n.states);
  if (states.length > 0) c.states = Object.fromEntries(states.map(([k, v]) => [k, stateConfig(v)]));
  return c;
}

/** One line per machine and its states, for humans. */
export function describeMachines(): string {
  const lines: string[] = [];
  for (const name of Object.keys(machines).sort()) {
    const m = machines[name] as AnyStateMachine;
    lines.push(`${name} (${m.id})`);
    const walk = (node: { states?: Record<string, unknown> }, depth: number): void => {
      for (const [key, child] of Object.entries(node.states ?? {})) {
        lines.push(`${'  '.repeat(depth)}${key}`);
        walk(child as { states?: Record<string, unknown> }, depth + 1);
      }
    };
    walk(m.definition as { states?: Record<string, unknown> }, 1);
  }
  return lines.join('\n');
}
