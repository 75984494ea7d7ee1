// What every archivist command shares: `--version`; every error line starts with
// `archivist:` (commander's own too), one line per problem, no stack trace, exit 2; a bug is
// exit 70 with its trace; colour only on a colour terminal and never under NO_COLOR; the
// bin says in one line which Node it needs instead of failing on the first `.ts` import.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureCli } from './cli-helpers.ts';

const ROOT = join(import.meta.dirname, '..');
const BIN = join(ROOT, 'bin', 'archivist.js');
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const io = captureCli({ clearOnRun: true });
const dir = mkdtempSync(join(tmpdir(), 'archivist-conventions-'));

function bin(args: string[], env: Record<string, string> = {}, nodeArgs: string[] = []) {
  return spawnSync(process.execPath, [...nodeArgs, BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    timeout: 30_000,
  });
}

describe('the archivist command', () => {
  it('--version prints the package version', async () => {
    expect(await io.run('--version')).toBe(0);
    expect(io.out.trim()).toBe(VERSION);
    const r = bin(['-V']);
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe(VERSION);
  });

  it("prefixes commander's own errors like every other: one archivist: line, exit 2", async () => {
    expect(await io.run('run', '--no-such-flag')).toBe(2);
    expect(io.err).toMatch(/^archivist: unknown option '--no-such-flag'\n$/);
    expect(await io.run('archive', 'extract')).toBe(2);
    expect(io.err).toMatch(/^archivist: missing required argument/);
    expect(io.err.trimEnd().split('\n')).toHaveLength(1);
  });

  it('lists every problem of a scenario file, one archivist: line each', async () => {
    const file = join(dir, 'three-problems.yaml');
    writeFileSync(
      file,
      [
        'name: three-problems',
        'duration: soon',
        'communities:',
        '  - id: c1',
        '    chats: [general]',
        'nodes:',
        '  - name: owner',
        '    role: owner',
        '  - role: member',
        'colour: blue',
        '',
      ].join('\n'),
    );
    expect(await io.run('run', file)).toBe(2);
    const lines = io.err.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    for (const line of lines) expect(line.startsWith(`archivist: ${file}: `)).toBe(true);
    expect(io.err).toMatch(/: duration: .*\(line 2\)/);
    expect(io.err).toMatch(/: nodes\[1\]\.name: missing .*\(line 9\)/);
    expect(io.err).toMatch(/: colour: unknown field \(line 10\)/);
    expect(io.err).not.toMatch(/more problem/);
  });

  it('reports an error nobody expected as a bug: exit 70, the archivist: line, then the trace', async () => {
    // `machines` prints the machine definitions; a stdout that throws is a failure no
    // command guards against.
    const write = process.stdout.write;
    process.stdout.write = (() => {
      throw new TypeError('stdout broke');
    }) as typeof process.stdout.write;
    let code: number;
    try {
      code = await io.run('machines', '--json');
    } finally {
      process.stdout.write = write;
    }
    expect(code).toBe(70);
    expect(io.err).toMatch(
      /^archivist: unexpected error, a bug in archivist; please report it with this trace:\n/,
    );
    expect(io.err).toMatch(/TypeError: stdout broke\n\s+at /);
  });

  it('colours the archivist: prefix on a colour terminal only, and never under NO_COLOR', () => {
    // `script` (util-linux) runs the command on a pseudo-terminal.
    // Node counts CI=true (as in .ci/run) as a terminal without colours: left out here too.
    const { FORCE_COLOR, NO_COLOR, NODE_DISABLE_COLORS, CI, ...rest } = process.env;
    const onTerminal = (env: Record<string, string>) =>
      spawnSync(
        'script',
        ['-qec', `"${process.execPath}" "${BIN}" archive inspect /no/such/folder`, '/dev/null'],
        {
          encoding: 'utf8',
          env: { ...rest, TERM: 'xterm-256color', ...env },
          timeout: 30_000,
        },
      ).stdout;
    const coloured = onTerminal({});
    expect(coloured).toContain('\u001b[31m');
    expect(coloured).toMatch(/archivist:.*\/no\/such\/folder: no such community folder/);
    const plain = onTerminal({ NO_COLOR: '1' });
    expect(plain).not.toContain('\u001b[');
    expect(plain).toContain('archivist: /no/such/folder: no such community folder');
    // A pipe is not a terminal: plain text whatever the environment says.
    expect(bin(['archive', 'inspect', '/no/such/folder']).stderr).toBe(
      'archivist: /no/such/folder: no such community folder\n',
    );
  });

  it('on a Node too old for it, says so in one line and exits 2', () => {
    // The bin is plain JavaScript; a preload makes this Node report itself as Node 20.
    const pretend = join(dir, 'pretend-node-20.mjs');
    writeFileSync(
      pretend,
      "Object.defineProperty(process, 'versions', { value: { ...process.versions, node: '20.20.2' } });\n" +
        "Object.defineProperty(process, 'version', { value: 'v20.20.2' });\n",
    );
    const r = bin(['--version'], {}, ['--import', pretend]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^archivist: needs Node\.js >= 22\.18, this is v20\.20\.2; .*npx archivist.*\n$/,
    );
  });
});
