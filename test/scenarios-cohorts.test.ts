// Member cohorts (issue 17.5): `members: {count, name, joinAt: {from, to}, …}` in a scenario
// file is expanded into nodes on load: names m1 … mN, joins spread evenly; the timeline and
// the expectations can name cohort members; errors name the cohort's field and line; a
// cohort runs exactly as the same members written out by hand, and replays from its trace.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { cohortJoinAt } from '../scenarios/cohorts.ts';
import { parseScenario } from '../scenarios/load.ts';
import { replayTrace } from '../scenarios/replay.ts';
import { runScenario } from '../scenarios/runner.ts';
import { scenarioJsonSchema } from '../scenarios/schema.ts';

const DAY = 86_400_000;

const world = (members: string, rest = '') => `name: cohorts
duration: 10d
communities:
  - id: c1
    chats: [general]
nodes:
  - name: owner
    role: owner
${members}traffic:
  - community: c1
    rate: 20/d
    size: 300B
${rest}`;

function errorOf(text: string): string {
  try {
    parseScenario(text, 'scenarios/x.yaml');
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('member cohorts', () => {
  test('a cohort becomes nodes m1 … mN with its settings, joins spread evenly from `from` to `to`', () => {
    const s = parseScenario(
      world('members:\n  count: 5\n  joinAt: {from: 1d, to: 3d}\n  importRate: fast\n'),
      'c.yaml',
    );
    expect(s.nodes.map((n) => n.name)).toEqual(['owner', 'm1', 'm2', 'm3', 'm4', 'm5']);
    expect(s.nodes.slice(1).map((n) => n.joinAt)).toEqual([DAY, 1.5 * DAY, 2 * DAY, 2.5 * DAY, 3 * DAY]);
    expect(s.nodes.slice(1).every((n) => n.role === 'member' && n.importRate === 'fast')).toBe(true);
    expect('members' in s).toBe(false);
    expect(cohortJoinAt({ count: 1, joinAt: { from: 5, to: 9 } }, 0)).toBe(5);
    expect(cohortJoinAt({ count: 3, joinAt: 7 }, 2)).toBe(7);
  });

  test('several cohorts, named, beside hand-written nodes; the timeline and expectations name their members', () => {
    const s = parseScenario(
      world(
        '  - name: alice\n    role: member\nmembers:\n  - count: 2\n  - count: 3\n    name: late\n    joinAt: 5d\n    archiveSupport: false\n',
        'timeline:\n  - at: 6d\n    do: offline\n    node: late3\nexpect:\n  - node: m2\n    fullHistory: true\n',
      ),
      'c.yaml',
    );
    expect(s.nodes.map((n) => `${n.name}@${n.joinAt / DAY}${n.archiveSupport ? '' : '-'}`)).toEqual([
      'owner@0',
      'alice@0',
      'm1@0',
      'm2@0',
      'late1@5-',
      'late2@5-',
      'late3@5-',
    ]);
  });

  test('errors name the cohort, its field and its line', () => {
    expect(errorOf(world('members:\n  count: 0\n'))).toBe(
      'scenarios/x.yaml: members.count: expected a whole number of members >= 1 (line 10)',
    );
    expect(errorOf(world('members:\n  - count: 2\n  - count: 2\n'))).toBe(
      'scenarios/x.yaml: members[1].name: member m1 of this cohort is already a node (give the cohort another name) (line 11)',
    );
    expect(errorOf(world('members:\n  count: 2\n  joinAt: {from: 3d, to: 1d}\n'))).toBe(
      'scenarios/x.yaml: members.joinAt: expected from <= to (line 11)',
    );
    expect(errorOf(world('members:\n  count: 2\n  communities: [c9]\n'))).toMatch(
      /^scenarios\/x\.yaml: members\.communities\[0\]: unknown community "c9"/,
    );
    expect(errorOf(world('members:\n  count: 2\n  size: 3\n'))).toBe(
      'scenarios/x.yaml: members.size: unknown field (line 11)',
    );
    expect(errorOf(world('members: 200\n'))).toBe(
      'scenarios/x.yaml: members: expected a cohort {count, …} or a list of cohorts (line 9)',
    );
    expect(
      errorOf(world('members:\n  count: 2\n', 'timeline:\n  - at: 1d\n    do: crash\n    node: m3\n')),
    ).toBe('scenarios/x.yaml: timeline[0].node: unknown node "m3" (nodes: owner, m1…m2) (line 18)');
  });

  test('the JSON Schema offers `members` to editors', () => {
    const schema = scenarioJsonSchema() as { properties: Record<string, { description?: string }> };
    expect(schema.properties.members?.description).toMatch(/count: 5000/);
  });

  test('a cohort runs exactly as its members written out by hand, and replays from its trace', async () => {
    const cohort = parseScenario(world('members:\n  count: 4\n  joinAt: {from: 0d, to: 3d}\n'), 'c.yaml');
    const byHand = parseScenario(
      world([0, 1, 2, 3].map((i) => `  - name: m${i + 1}\n    role: member\n    joinAt: ${i}d\n`).join('')),
      'h.yaml',
    );
    const a = await runScenario(cohort, { keepTrace: true });
    const b = await runScenario(byHand);
    expect(a.result.traceHash).toBe(b.result.traceHash);
    expect(a.result.members.map((m) => m.node)).toEqual(['owner', 'm1', 'm2', 'm3', 'm4']);
    expect(a.result.members.filter((m) => m.node !== 'owner').every((m) => m.imported > 0)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'archivist-cohorts-'));
    const trace = join(dir, 'trace.jsonl');
    writeFileSync(trace, `${a.traceLines.join('\n')}\n`);
    expect((await replayTrace(trace)).identical).toBe(true);
  });
});
