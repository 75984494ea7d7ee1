// `archivist run`, `archivist replay` and `archivist scenario schema` through the CLI entry:
// output shapes and exit codes (0 all holds, 1 something failed, 2 bad input).

import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { captureCli } from './cli-helpers.ts';

const small = (expectation: string) => `name: cli-small
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
    rate: 30/d
    size: 500B
expect:
${expectation}
`;

const io = captureCli();
const cli = io.run;
let dir = '';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'archivist-cli-'));
});

describe('archivist run', () => {
  it('prints one JSON object with the documented fields, writes trace and report, exits 0', async () => {
    const file = join(dir, 'ok.yaml');
    writeFileSync(file, small('  - rounds: {min: 1}\n  - node: alice\n    fullHistory: true'));
    const trace = join(dir, 'out', 'trace.jsonl');
    const report = join(dir, 'out', 'report.html');
    const code = await cli('run', file, '--seed', '3', '--json', '--trace', trace, '--report', report);
    expect(io.err).toBe('');
    expect(code).toBe(0);
    const result = JSON.parse(io.out);
    expect(Object.keys(result)).toEqual([
      'scenario',
      'seed',
      'ok',
      'traceHash',
      'virtualMs',
      'events',
      'rounds',
      'magnetlinks',
      'members',
      'signals',
      'invariants',
      'checks',
      'expectations',
    ]);
    expect(result.checks).toEqual({
      noNodeFailure: 'ok',
      noMissedArchives: 'ok',
      noStuckImport: 'ok',
      temperatureBounded: 'ok',
      importedRangesCover: 'ok',
      noImportBeforeDelay: 'ok',
      archiveCreationFinishes: 'ok',
    });
    expect(result).toMatchObject({ scenario: 'cli-small', seed: 3, ok: true, virtualMs: 9 * 86_400_000 });
    expect(result.traceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.keys(result.rounds[0])).toEqual(['communityId', 'start', 'end', 'archives', 'infoHash']);
    expect(Object.keys(result.magnetlinks[0])).toEqual([
      'communityId',
      'sender',
      'clock',
      'infoHash',
      'accepted',
    ]);
    expect(Object.keys(result.members[0])).toEqual([
      'node',
      'communityId',
      'downloaded',
      'imported',
      'messagesImported',
      'bytesDown',
      'bytesUp',
      'peakImportBytes',
    ]);
    expect(result.expectations).toHaveLength(2);
    expect(existsSync(report)).toBe(true);
    const header = JSON.parse(readFileSync(trace, 'utf8').split('\n')[0] as string);
    expect(header).toMatchObject({ kind: 'archivist.scenario', seed: 3, scenario: { name: 'cli-small' } });

    io.clear();
    expect(await cli('replay', trace)).toBe(0);
    expect(io.out).toContain(`identical:`);
    expect(io.out).toContain(result.traceHash);
  });

  it('prints a readable summary without --json and exits 1 when an expectation fails', async () => {
    const file = join(dir, 'fail.yaml');
    writeFileSync(file, small('  - rounds: {min: 50}\n    text: far too many rounds'));
    const code = await cli('run', file);
    expect(code).toBe(1);
    expect(io.out).toContain('cli-small (seed 1): FAILED');
    expect(io.out).toMatch(/FAIL far too many rounds — rounds >= 50 \(got 1\)/);
  });

  it('exits 2 with a path-precise message on a bad scenario or flag', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, small('  - rounds: {min: 1}').replace('size: 500B', 'size: 500 bytes'));
    expect(await cli('run', file)).toBe(2);
    expect(io.err).toBe(
      `archivist: ${file}: traffic[0].size: expected a size like "100KiB" or a number of bytes, or {min, max} of those (line 14)\n`,
    );
    io.clear();
    writeFileSync(file, small('  - rounds: {min: 1}'));
    expect(await cli('run', file, '--seed', 'abc')).toBe(2);
    expect(io.err).toContain('--seed: expected a whole number');
    io.clear();
    writeFileSync(
      file,
      small('  - rounds: {min: 1}').replace('    role: owner', '    role: owner\n    joinAt: 1d'),
    );
    expect(await cli('run', file)).toBe(2);
    expect(io.err).toBe(
      `archivist: ${file}: nodes[0].joinAt: a first owner starting late is not supported by the simulated runner yet\n`,
    );
    io.clear();
    expect(await cli('replay', join(dir, 'none.jsonl'))).toBe(2);
    expect(io.err).toContain('none.jsonl: no such file');
  });
  it('exits 2 with one line on YAML whose alias names no anchor, or too many aliases', async () => {
    const file = join(dir, 'alias.yaml');
    writeFileSync(file, 'name: x\ncommunities: *a\n');
    expect(await cli('run', file)).toBe(2);
    expect(io.err).toBe(
      `archivist: ${file}: not valid YAML or JSON: Unresolved alias (the anchor must be set before the alias): a\n`,
    );
    io.clear();
    // A "billion laughs": each level doubles the aliases the previous one expands to.
    const levels = ['a: &a [x, x]'];
    for (let i = 1; i < 12; i++)
      levels.push(`l${i}: &l${i} [*${i === 1 ? 'a' : `l${i - 1}`}, *${i === 1 ? 'a' : `l${i - 1}`}]`);
    writeFileSync(file, `${levels.join('\n')}\nname: x\n`);
    expect(await cli('run', file)).toBe(2);
    expect(io.err).toMatch(new RegExp(`^archivist: ${file}: not valid YAML or JSON: .*alias.*\n$`, 'i'));
  });
});

describe('archivist scenario schema', () => {
  it('prints the JSON Schema', async () => {
    expect(await cli('scenario', 'schema')).toBe(0);
    const schema = JSON.parse(io.out);
    expect(schema.$schema).toContain('json-schema.org');
    expect(schema.title).toBe('archivist scenario');
    expect(schema.properties.timeline.type).toBe('array');
  });
});
