// Scenario files: parsing, normalization, and errors that name the file, the path of the
// wrong field and what was expected.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_OPTIONS, resolveOptions } from '../machines/options.ts';
import { loadScenario, parseScenario, ScenarioError } from '../scenarios/load.ts';
import { machineOptions } from '../scenarios/run/plan.ts';
import { ScenarioSchema, scenarioJsonSchema } from '../scenarios/schema.ts';
import { formatDuration, parseDuration, parseRate, parseSize } from '../scenarios/units.ts';

const DAY = 86_400_000;

const base = `name: small
duration: 35d
communities:
  - id: c1
    chats: [general, random]
nodes:
  - name: owner
    role: owner
  - name: alice
    role: member
    joinAt: 2d
traffic:
  - community: c1
    rate: 100/d
    size: {min: 200, max: 2KiB}
timeline:
  - at: 7d
    do: offline
    node: owner
  - at: 8d
    do: online
    node: owner
  - at: 9d
    do: partition
    groups: [[owner], [alice]]
  - at: 10d
    do: heal
expect:
  - signal: historyArchivesCreated
    node: owner
    count: {min: 4}
  - node: alice
    fullHistory: true
  - invariant: convergence
`;

function errorOf(text: string, file = 'scenarios/x.yaml'): string {
  try {
    parseScenario(text, file);
  } catch (error) {
    expect(error).toBeInstanceOf(ScenarioError);
    return (error as Error).message;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('units', () => {
  it('parses durations, sizes and rates', () => {
    expect(parseDuration('7d')).toBe(7 * DAY);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('7 days')).toBeUndefined();
    expect(formatDuration(7 * DAY + 5_400_000)).toBe('7d1h30m');
    expect(parseSize('100KiB')).toBe(102_400);
    expect(parseSize('30MB')).toBe(30_000_000);
    expect(parseSize('12 parsecs')).toBeUndefined();
    expect(parseRate('100/d')).toEqual({ count: 100, perMs: DAY });
    expect(parseRate('3/12h')).toEqual({ count: 3, perMs: 12 * 3_600_000 });
    expect(parseRate('often')).toBeUndefined();
  });

  it('keeps to the scenario grammar: no words, no years, kB = 1000 and KiB = 1024', () => {
    expect(parseDuration('1 hour')).toBeUndefined();
    expect(parseDuration('-1h')).toBeUndefined();
    expect(parseDuration('2w')).toBe(14 * DAY);
    expect(formatDuration(400 * DAY)).toBe('400d');
    expect(formatDuration(1500)).toBe('1s500ms');
    expect(formatDuration(0)).toBe('0s');
    expect(parseSize('10kB')).toBe(10_000);
    expect(parseSize('10KiB')).toBe(10_240);
    expect(parseSize('1.5 MiB')).toBe(1_572_864);
    expect(parseSize('10 kilobytes')).toBeUndefined();
  });

  it('reads back every duration it writes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 3 * 365 * DAY }),
        (ms) => parseDuration(formatDuration(ms)) === ms,
      ),
    );
  });
});

describe('scenario loading', () => {
  it('normalizes a valid scenario', () => {
    const s = parseScenario(base, 'x.yaml');
    expect(s.duration).toBe(35 * DAY);
    expect(s.seed).toBe(1);
    expect(s.mode).toBe('reference');
    expect(s.start).toBe(Date.parse('2026-01-05T00:00:00Z'));
    expect(s.store.retention).toBe(30 * DAY);
    expect(s.nodes[1]?.joinAt).toBe(2 * DAY);
    expect(s.traffic[0]?.rate).toEqual({ count: 100, perMs: DAY });
    expect(s.traffic[0]?.size).toEqual({ min: 200, max: 2048 });
    expect(s.timeline[0]).toEqual({ at: 7 * DAY, do: 'offline', node: 'owner' });
    expect(s.expect[0]).toMatchObject({ signal: 'community.historyArchivesCreated', count: { min: 4 } });
    expect(s.expect[2]).toMatchObject({ invariant: 'convergence', holds: true });
  });

  it('reads JSON too, and a normalized scenario is a fixed point (trace headers rely on it)', () => {
    const s = parseScenario(base, 'x.yaml');
    const again = parseScenario(JSON.stringify(s), 'x.json');
    expect(again).toEqual(s);
    expect(ScenarioSchema.parse(JSON.parse(JSON.stringify(again)))).toEqual(s);
  });

  it.each([
    [
      'a bad duration',
      base.replace('at: 8d', 'at: 8 days'),
      'scenarios/x.yaml: timeline[1].at: expected a duration like "7d" or a number of ms (line 20)',
    ],
    [
      'a negative duration',
      base.replace('at: 8d', 'at: -5'),
      'scenarios/x.yaml: timeline[1].at: expected a duration like "7d" or a number of ms',
    ],
    [
      'an unknown action',
      base.replace('do: heal', 'do: mend'),
      'scenarios/x.yaml: timeline[3].do: expected `do` to be one of: offline,',
    ],
    [
      'an unknown field',
      base.replace('    joinAt: 2d', '    joinedAt: 2d'),
      'scenarios/x.yaml: nodes[1].joinedAt: unknown field (line 11)',
    ],
    [
      'a missing field',
      base.replace('duration: 35d\n', ''),
      'scenarios/x.yaml: duration: missing (expected a duration like "7d" or a number of ms) (line 1)',
    ],
    [
      'a bad role',
      base.replace('role: member', 'role: lurker'),
      'scenarios/x.yaml: nodes[1].role: expected "owner" or "member" (line 10)',
    ],
    [
      'an unknown node',
      base.replace('node: owner\n  - at: 8d', 'node: bob\n  - at: 8d'),
      'scenarios/x.yaml: timeline[0].node: unknown node "bob" (nodes: owner, alice) (line 19)',
    ],
    [
      'an unknown node in a partition',
      base.replace('[[owner], [alice]]', '[[owner], [alicia]]'),
      'scenarios/x.yaml: timeline[2].groups[1][0]: unknown node "alicia"',
    ],
    [
      'an unknown community',
      base.replace('  - community: c1', '  - community: c2'),
      'scenarios/x.yaml: traffic[0].community: unknown community "c2"',
    ],
    [
      'a bad size',
      base.replace('max: 2KiB', 'max: 2 lots'),
      'scenarios/x.yaml: traffic[0].size.max: expected a size like "100KiB" or a number of bytes',
    ],
    [
      'a bad rate',
      base.replace('rate: 100/d', 'rate: lots'),
      'scenarios/x.yaml: traffic[0].rate: expected a rate like "100/d"',
    ],
    [
      'a bad signal',
      base.replace('signal: historyArchivesCreated', 'signal: archivesMade'),
      'scenarios/x.yaml: expect[0].signal: expected a signal of protocol.md §7',
    ],
    [
      'an action after the end',
      base.replace('at: 10d', 'at: 40d'),
      "scenarios/x.yaml: timeline[3].at: expected a time within the run's duration",
    ],
    [
      'no owner',
      base.replace('role: owner', 'role: member'),
      'scenarios/x.yaml: nodes: community "c1" has no owner',
    ],
    [
      'a duplicate node',
      base.replace('name: alice', 'name: owner'),
      'scenarios/x.yaml: nodes[1].name: duplicate node "owner"',
    ],
    [
      'a bad probability',
      base.replace('duration: 35d', 'duration: 35d\nnetwork:\n  loss: 1.5'),
      'scenarios/x.yaml: network.loss: expected a probability between 0 and 1 (line 4)',
    ],
    [
      'a bad start',
      base.replace('duration: 35d', 'duration: 35d\nstart: yesterday'),
      'scenarios/x.yaml: start: expected an ISO date',
    ],
    [
      'a bad file to delete',
      base.replace('do: heal', 'do: deleteFile\n    node: alice\n    community: c1\n    file: journal'),
      'scenarios/x.yaml: timeline[3].file: expected "index" or "data"',
    ],
    [
      'a bad duration range',
      `${base}  - node: alice\n    timeToHistory: {max: soon}\n`,
      'scenarios/x.yaml: expect[3].timeToHistory.max: expected a duration like "7d" or a number of ms (line 36)',
    ],
    [
      'an unknown check',
      `${base}  - check: allGood\n`,
      'scenarios/x.yaml: expect[3].check: expected one of: noNodeFailure, noMissedArchives, noStuckImport, temperatureBounded',
    ],
    [
      'a check of an unknown node',
      `${base}  - check: temperatureBounded\n    node: bob\n`,
      'scenarios/x.yaml: expect[3].node: unknown node "bob"',
    ],
    [
      'a bad expectation',
      `${base}  - somebody: happy\n`,
      'scenarios/x.yaml: expect[3]: expected an expectation with one of: signal, node, rounds, magnetlinks, invariant, check',
    ],
  ])('rejects %s with the path and what was expected', (_label, text, message) => {
    expect(errorOf(text)).toContain(message);
  });

  it('reports YAML syntax errors with their line', () => {
    expect(errorOf('name: x\nnodes: [a, b\n')).toMatch(
      /^scenarios\/x\.yaml: not valid YAML or JSON: .*\(line \d+, column \d+\)$/,
    );
    expect(errorOf('- just\n- a list\n')).toBe(
      'scenarios/x.yaml: expected a mapping with at least name, duration, communities, nodes',
    );
  });

  it('names the file when reading it fails or it is wrong', () => {
    const dir = mkdtempSync(join(tmpdir(), 'archivist-scenario-'));
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, base.replace('duration: 35d', 'duration: soon'));
    expect(() => loadScenario(file)).toThrow(
      `${file}: duration: expected a duration like "7d" or a number of ms (line 2)`,
    );
    expect(() => loadScenario(join(dir, 'none.yaml'))).toThrow(`${join(dir, 'none.yaml')}: no such file`);
  });

  it('maps the trust quirks to the hardening options (reference: trusting, unset)', () => {
    const quirks = (q: string) => machineOptions(parseScenario(`${base}quirks: ${q}\n`, 'q.yaml'));
    expect(quirks('{}')).not.toHaveProperty('validateIndex');
    expect(quirks('{}')).not.toHaveProperty('boundMagnetlinkClock');
    expect(quirks('{trustIndex: false, trustMagnetlinkClock: false}')).toMatchObject({
      validateIndex: true,
      boundMagnetlinkClock: true,
    });
    expect(quirks('{trustIndex: true, trustMagnetlinkClock: true}')).toMatchObject({
      validateIndex: false,
      boundMagnetlinkClock: false,
    });
  });

  it('emits a JSON Schema that describes the fields', () => {
    const schema = scenarioJsonSchema() as {
      type: string;
      required: string[];
      properties: Record<string, { description?: string }>;
      additionalProperties: boolean;
    };
    expect(schema.type).toBe('object');
    expect(schema.required).toEqual(expect.arrayContaining(['name', 'duration', 'communities', 'nodes']));
    expect(Object.keys(schema.properties)).toEqual(
      expect.arrayContaining(['timeline', 'expect', 'network', 'store', 'options', 'quirks', 'traffic']),
    );
    expect(schema.additionalProperties).toBe(false);
    const text = JSON.stringify(schema);
    expect(text).toContain('forgeMagnetlink');
    expect(text).toContain('historyArchivesCreated');
  });

  it('maps every quirk to its machine switch; unset ones keep the reference default (on)', () => {
    const quirks = {
      emptyDownloadSignals: 'signalEmptyDownload',
      finishedOnAnyImportEnd: 'finishedOnAnyImportEnd',
      startFailsWhenNotMember: 'startFailsWhenNotMember',
      storeFailureStopsArchiving: 'storeFailureStopsArchiving',
      seedTwiceAtStartup: 'seedTwiceAtStartup',
    } as const;
    const off = parseScenario(
      `${base}\nquirks:\n${Object.keys(quirks)
        .map((q) => `  ${q}: false`)
        .join('\n')}\n`,
      'quirks.yaml',
    );
    const o = resolveOptions(machineOptions(off));
    const defaults = resolveOptions(machineOptions(parseScenario(base, 'base.yaml')));
    for (const option of Object.values(quirks)) {
      expect(o[option]).toBe(false);
      expect(defaults[option]).toBe(true);
      expect(DEFAULT_OPTIONS[option]).toBe(true);
    }
  });
});
