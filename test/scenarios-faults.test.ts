// The registry of fault kinds (scenarios/faults/): each kind is declared once, the actions
// it draws are valid timeline actions, every action has a handler, the docs list every
// kind, and a port fault named in a scenario file really hits the node's port.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ACTION_HANDLERS, FAULTS } from '../scenarios/faults/index.ts';
import { parseScenario } from '../scenarios/load.ts';
import { runScenario } from '../scenarios/runner.ts';
import { Action } from '../scenarios/schema.ts';

const nodes = [
  { name: 'owner', owner: true },
  { name: 'alice', owner: false },
  { name: 'bob', owner: false, joinAt: 3_600_000 },
];

describe('fault registry', () => {
  it('declares every kind once, with its layer and knobs', () => {
    const names = FAULTS.map((k) => k.name);
    expect(new Set(names).size).toBe(names.length);
    for (const k of FAULTS) {
      expect(k.summary.length, k.name).toBeGreaterThan(10);
      if (k.actsOn !== 'community') expect(Object.keys(k.knobs).length, k.name).toBeGreaterThan(0);
    }
  });

  it('draws valid timeline actions, every one with a handler', () => {
    for (const k of FAULTS) {
      if (!k.draw) continue;
      for (const amount of [0, 1, 2, 7, 1000]) {
        const actions = k.draw(
          { kind: k.name, at: 5000, forMs: 60_000, node: amount, amount },
          {
            anyNode: nodes[amount % 3]!,
            member: nodes[1],
            owner: nodes[0]!,
            nodes,
            community: 'c1',
            at: 5000,
            end: 65_000,
          },
        );
        for (const a of actions) {
          expect(Action.safeParse(a).success, `${k.name}: ${JSON.stringify(a)}`).toBe(true);
          expect(ACTION_HANDLERS[a.do], a.do).toBeTypeOf('function');
        }
      }
    }
  });

  it('is what docs/scenarios.md lists', () => {
    const doc = readFileSync('docs/scenarios.md', 'utf8');
    for (const k of FAULTS) expect(doc, k.name).toContain(`\`${k.name}\``);
  });

  it('a port fault in a scenario file hits the port, and the member recovers with the next round', async () => {
    const scenario = parseScenario(
      `name: port-fault
duration: 15d
communities: [{ id: c1, chats: [general] }]
nodes: [{ name: owner, role: owner }, { name: alice, role: member }]
traffic: [{ community: c1, senders: [owner], rate: 20/d, size: 300B }]
timeline:
  - { at: 6d, do: portFault, node: alice, call: download.downloadPieces, times: 1 }
expect:
  - { node: alice, tasks: { error: 1, done: 1 }, fullHistory: true, downloaded: 2 }
`,
      'port-fault.yaml',
    );
    const { result } = await runScenario(scenario);
    expect(result.expectations.filter((e) => !e.ok)).toEqual([]);
    expect(result.ok).toBe(true);
  });
});
