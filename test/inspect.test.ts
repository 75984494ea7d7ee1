// Live inspection of the machines (issue 17.8): XState's `inspect` option from the embedding
// API (`createArchiveNode({inspect})`), through the scenario runner, and from the CLI
// (`archivist run --inspect file.jsonl`, a local sink that works offline). The inspection
// receives the machines' events, snapshots and transitions, and watching changes nothing.

import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { InspectionEvent } from 'xstate';
import { SimWorld } from '../adapters/sim/world.ts';
import { createArchiveNode } from '../machines/embed.ts';
import { communityIdOf, generateCommunityKey } from '../proto/signing.ts';
import { parseScenario } from '../scenarios/load.ts';
import { runScenario } from '../scenarios/runner.ts';
import { captureCli } from './cli-helpers.ts';

const SMALL = `name: inspect-small
duration: 9d
communities:
  - id: c1
    chats: [general]
nodes:
  - name: owner
    role: owner
  - name: alice
    role: member
traffic:
  - community: c1
    rate: 20/d
    size: 500B
`;

const io = captureCli();

describe('inspection', () => {
  test('createArchiveNode({inspect}) receives the events, snapshots and transitions of the node and the actors it spawns', async () => {
    const world = new SimWorld({ seed: 1, startTime: Date.UTC(2026, 0, 5) });
    const ownerNode = world.addNode({ id: 'owner' });
    const key = generateCommunityKey(new Uint8Array(32).fill(9));
    const communityId = communityIdOf(key);
    ownerNode.sim.keys.set(communityId, key);
    const seen: InspectionEvent[] = [];
    const owner = createArchiveNode({
      nodeId: 'owner',
      adapters: ownerNode.adapters,
      communities: [{ id: communityId, chats: [`${communityId}-general`] }],
      inspect: (event) => seen.push(event),
    });
    await world.runForAsync(8 * 86_400_000);
    await owner.stop();

    const machines = new Set(
      seen
        .filter((e) => e.type === '@xstate.actor')
        .map((e) => (e.actorRef as unknown as { logic: { id?: string } }).logic.id),
    );
    expect(machines).toContain('node');
    expect(machines).toContain('controlNode');
    const events = new Set(seen.filter((e) => e.type === '@xstate.event').map((e) => e.event.type));
    expect(events).toContain('xstate.init');
    expect(events).toContain('NODE.STOP');
    const transitions = seen.flatMap((e) =>
      e.type === '@xstate.microstep'
        ? (e as unknown as { _transitions: { source: { id: string } }[] })._transitions.map(
            (t) => t.source.id,
          )
        : [],
    );
    expect(transitions.some((id) => id.startsWith('controlNode.'))).toBe(true);
    expect(seen.some((e) => e.type === '@xstate.snapshot')).toBe(true);
  });

  test('an inspected run has the trace of an uninspected one', async () => {
    const scenario = parseScenario(SMALL, 'inspect-small.yaml');
    const plain = await runScenario(scenario);
    let count = 0;
    const nodes = new Set<string>();
    const inspected = await runScenario(scenario, {
      inspect: (_event, node) => {
        count++;
        nodes.add(node);
      },
    });
    expect(count).toBeGreaterThan(100);
    expect([...nodes].sort()).toEqual(['alice', 'owner']);
    expect(inspected.result.traceHash).toBe(plain.result.traceHash);
    expect(inspected.result).toEqual(plain.result);
  });

  test('archivist run --inspect writes every inspection event as a JSON line, the same for the same run', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'archivist-inspect-'));
    const file = join(dir, 'small.yaml');
    writeFileSync(file, SMALL);
    const out = join(dir, 'inspect.jsonl');
    expect(await io.run('run', file, '--inspect', out)).toBe(0);
    const text = readFileSync(out, 'utf8');
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(io.out).toContain(`inspection: ${lines.length} events in ${out}`);
    const kinds = new Set(lines.map((l) => l.kind));
    for (const k of ['actor', 'event', 'snapshot', 'microstep', 'action']) expect(kinds).toContain(k);
    const machines = new Set(lines.filter((l) => l.kind === 'actor').map((l) => l.machine));
    for (const m of ['node', 'controlNode', 'member']) expect(machines, m).toContain(m);
    // the member's own transitions, with the node and the virtual time they happened at
    const memberSteps = lines.filter(
      (l) =>
        l.kind === 'microstep' &&
        l.node === 'alice' &&
        (l.transitions as { source: string }[]).some((t) => t.source.startsWith('member.')),
    );
    expect(memberSteps.length).toBeGreaterThan(0);
    const start = Date.UTC(2026, 0, 5);
    for (const l of lines) {
      expect(l.t as number).toBeGreaterThanOrEqual(start);
      expect(l.t as number).toBeLessThanOrEqual(start + 9 * 86_400_000);
    }
    expect(lines.some((l) => l.kind === 'event' && (l.event as { type: string }).type === 'MAGNETLINK')).toBe(
      true,
    );
    // a second run of the same scenario writes the same bytes (actors named by first sight)
    expect(await io.run('run', file, '--inspect', out)).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(text);
  });

  test('archivist run --inspect to a place that cannot be written exits 2 with one line', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'archivist-inspect-'));
    const file = join(dir, 'small.yaml');
    writeFileSync(file, SMALL);
    expect(await io.run('run', file, '--inspect', '/dev/null/x.jsonl')).toBe(2);
    expect(io.err).toMatch(/^archivist: --inspect: \/dev\/null\/x\.jsonl: cannot write \([A-Z]+\)\n$/);
  });
});
