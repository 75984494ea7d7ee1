// The package as a host app gets it: `npm pack` (which compiles dist/ at prepack), the
// tarball installed into a fresh project with plain `npm i` (no overrides, no flags that
// skip install scripts), then the README's host-app section run there as written: its
// shell block line by line (with the tarball for `archivist`), its two example files
// type-checked against the shipped declarations and run by package name, on the simulated
// and on the real backends. Also: the tarball holds only what users need, every package the
// compiled code imports is a dependency, the installed bin works, and all of it runs on the
// oldest Node that `engines` allows, with the same trace as on ours.
//
// Installing the tarball's dependencies goes through npm's cache (`--prefer-offline`): the
// repository's own `npm ci` has filled it with the same packages, so the install reads the
// registry only for what the cache lacks.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..');
const BIN_DIR = join(ROOT, 'node_modules', '.bin');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  engines: { node: string };
  dependencies: Record<string, string>;
  exports: Record<string, string | { types: string; default: string }>;
};
const work = mkdtempSync(join(tmpdir(), 'archivist-package-'));
const host = join(work, 'host');

/** The child processes' environment: this repo's Node 24 first on the PATH, none of npm's run variables. */
const env: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('npm_') && k !== 'NODE_OPTIONS'),
);
env.PATH = `${BIN_DIR}:${process.env.PATH ?? ''}`;

/** The README's host-app section: its shell block and its example files by name. */
function hostAppSection(): { shell: string[]; files: Map<string, string> } {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('\n## Embedding the machines in a host app\n');
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf('\n## ', start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  const blocks = [...section.matchAll(/```(\w+)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, code: m[2]! }));
  const shell = blocks.filter((b) => b.lang === 'sh');
  expect(shell).toHaveLength(1);
  const files = new Map<string, string>();
  for (const b of blocks.filter((x) => x.lang === 'ts')) {
    const name = /^\/\/ ([\w-]+\.ts):/.exec(b.code)?.[1];
    expect(
      name,
      `a ts block of the host-app section names its file on its first line: ${b.code.slice(0, 60)}`,
    ).toBeDefined();
    files.set(name!, b.code);
  }
  return { shell: shell[0]!.code.trim().split('\n'), files };
}

let tarball = '';
let packed: { path: string }[] = [];
const timings: Record<string, number> = {};

function timed<T>(what: string, fn: () => T): T {
  const t0 = performance.now();
  try {
    return fn();
  } finally {
    timings[what] = Math.round(performance.now() - t0) / 1000;
  }
}

beforeAll(() => {
  const out = timed('npm pack', () =>
    execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: ROOT, env, encoding: 'utf8' }),
  );
  const report = JSON.parse(out.slice(out.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(work, report[0]!.filename);
  packed = report[0]!.files;
}, 120_000);

afterAll(() => {
  // The figures of this run, for the record (CI log).
  console.log(`package-install timings (s): ${JSON.stringify(timings)}`);
  rmSync(work, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds only what users need: the bin, the compiled entry points and their declarations, scenarios, docs', () => {
    const paths = packed.map((f) => f.path).sort();
    const allowed = [
      /^package\.json$/,
      /^README\.md$/,
      /^bin\/archivist\.js$/,
      /^dist\/.+\.(js|d\.ts)$/,
      /^scenarios\/[\w-]+\.yaml$/,
      /^docs\/[\w-]+\.md$/,
    ];
    expect(paths.filter((p) => !allowed.some((r) => r.test(p)))).toEqual([]);
    for (const [entry, target] of Object.entries(pkg.exports)) {
      if (typeof target === 'string') continue;
      for (const file of [target.types, target.default])
        expect(paths, `${entry} -> ${file}`).toContain(file.replace(/^\.\//, ''));
    }
    expect(paths.some((p) => p.startsWith('dist/test/') || p.startsWith('dist/bench/'))).toBe(false);
    expect(paths).toContain('scenarios/weekly-rounds.yaml');
    // The checkout is left as it was: dist/ is built for the tarball and removed after it.
    expect(readdirSync(ROOT)).not.toContain('dist');
  });

  it('depends on every package its compiled code imports', () => {
    const dir = mkdtempSync(join(work, 'unpacked-'));
    execFileSync('tar', ['xzf', tarball, '-C', dir]);
    const imported = new Set<string>();
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (name.endsWith('.js')) {
          const src = readFileSync(p, 'utf8');
          for (const m of src.matchAll(
            /(?<![\w.$])(?:from\s+|import\(\s*|require(?:\.resolve)?\(\s*)['"]([^'"./][^'"]*)['"]/g,
          )) {
            const spec = m[1]!;
            if (spec.startsWith('node:')) continue;
            imported.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
          }
        }
      }
    };
    walk(join(dir, 'package', 'dist'));
    expect(imported.size).toBeGreaterThan(10);
    expect(
      [...imported].filter((name) => !(name in pkg.dependencies)).sort(),
      relative(ROOT, tarball),
    ).toEqual([]);
  });

  it("installs into a fresh project with plain npm i, and the README's host-app section runs there as written", () => {
    const { shell, files } = hostAppSection();
    expect([...files.keys()].sort()).toEqual(['embed-real.ts', 'embed-sim.ts']);
    expect(shell).toContain('npm i archivist');
    execFileSync('mkdir', ['-p', host]);
    for (const [name, code] of files) writeFileSync(join(host, name), code);
    const outputs: string[] = [];
    for (const line of shell) {
      const command =
        line === 'npm i archivist'
          ? `npm i --prefer-offline --no-audit --no-fund ${JSON.stringify(tarball)}`
          : line;
      const r = timed(line, () =>
        spawnSync('bash', ['-c', command], { cwd: host, env, encoding: 'utf8', timeout: 180_000 }),
      );
      expect(r.status, `${line}\n${r.stdout}\n${r.stderr}`).toBe(0);
      outputs.push(r.stdout);
    }
    // Nothing copied by hand into the host: no overrides, and none of webtorrent's chains
    // (ip-set 3 aborts npm i in its preinstall). node-datachannel comes with Helia's libp2p
    // defaults (@helia/libp2p → @libp2p/webrtc); npm 11 does not run its install script and
    // archivist never loads WebRTC, so it installs inert.
    const hostPkg = JSON.parse(readFileSync(join(host, 'package.json'), 'utf8')) as Record<string, unknown>;
    expect(hostPkg.overrides).toBeUndefined();
    const ls = spawnSync('npm', ['ls', '--all', '--json'], { cwd: host, env, encoding: 'utf8' });
    expect(ls.stdout).not.toMatch(/"(webtorrent|ip-set)"/);

    const simOut = outputs[shell.indexOf('node embed-sim.ts')]!;
    const realOut = outputs[shell.indexOf('node embed-real.ts')]!;
    for (const out of [simOut, realOut]) {
      const signals = out.split('\n').filter((l) => l.startsWith('member community.'));
      expect(signals.slice(0, 3)).toEqual([
        'member community.historyArchivesProtocolEnabled',
        'member community.downloadingHistoryArchivesStarted',
        'member community.historyArchiveDownloaded',
      ]);
      expect(signals).toContain('member community.downloadingHistoryArchivesFinished');
      expect(out).toContain('member holds 7 messages');
    }
  }, 300_000);

  it('type-checks the examples against the shipped declarations, which are types and not any', () => {
    writeFileSync(
      join(host, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          target: 'es2023',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: false,
          types: ['node'],
          typeRoots: [join(ROOT, 'node_modules', '@types')],
        },
        include: ['*.ts'],
      }),
    );
    // Wrong uses the declarations must refuse: were they `any`, each directive would be unused.
    writeFileSync(
      join(host, 'types-are-real.ts'),
      [
        "import { createArchiveNode, type NodeAdapters } from 'archivist';",
        "import { SimWorld } from 'archivist/sim';",
        "import { BitTorrentClient } from 'archivist/real';",
        "import { loadScenario } from 'archivist/scenarios';",
        'const adapters: NodeAdapters = new SimWorld({ seed: 1, startTime: 0 }).addNode({ id: "a" }).adapters;',
        '// @ts-expect-error importRate is "slow" or "fast"',
        "createArchiveNode({ adapters, importRate: 'quick' });",
        '// @ts-expect-error a port is a number',
        "new BitTorrentClient({ port: '6881' });",
        '// @ts-expect-error a scenario is loaded from a path',
        'loadScenario(42);',
        '',
      ].join('\n'),
    );
    const r = timed('tsc', () =>
      spawnSync(join(BIN_DIR, 'tsc'), ['-p', host], { cwd: host, env, encoding: 'utf8', timeout: 120_000 }),
    );
    expect(r.status, r.stdout + r.stderr).toBe(0);
  }, 180_000);

  it('runs the installed bin: --version, and a library scenario from the package', () => {
    const archivist = join(host, 'node_modules', '.bin', 'archivist');
    const version = spawnSync(archivist, ['--version'], { cwd: host, env, encoding: 'utf8' });
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe(pkg.version);
    const run = spawnSync(
      archivist,
      ['run', 'node_modules/archivist/scenarios/weekly-rounds.yaml', '--json'],
      { cwd: host, env, encoding: 'utf8', timeout: 120_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ scenario: 'weekly-rounds', ok: true });
  }, 180_000);

  it('runs on the oldest Node that engines allows: the examples, the bin, the same trace', () => {
    const floor = /^>=(\d+)\.(\d+)$/.exec(pkg.engines.node);
    expect(floor, `engines.node is ">=major.minor": ${pkg.engines.node}`).not.toBeNull();
    const version = `${floor![1]}.${floor![2]}.0`;
    // That Node from the npm registry's `node` package, as this repository gets its own.
    const dir = join(work, 'oldest-node');
    execFileSync('mkdir', ['-p', dir]);
    const r = timed(`npm i node@${version}`, () =>
      spawnSync(
        'bash',
        ['-c', `npm init -y >/dev/null && npm i --prefer-offline --no-audit --no-fund node@${version}`],
        {
          cwd: dir,
          env,
          encoding: 'utf8',
          timeout: 180_000,
        },
      ),
    );
    expect(r.status, r.stderr).toBe(0);
    const oldest = join(dir, 'node_modules', '.bin', 'node');
    expect(execFileSync(oldest, ['--version'], { encoding: 'utf8' }).trim()).toBe(`v${version}`);
    // Node 22.15 strips types only when asked to.
    for (const file of ['embed-sim.ts', 'embed-real.ts']) {
      const run = spawnSync(oldest, ['--experimental-strip-types', '--no-warnings', file], {
        cwd: host,
        env,
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(run.status, `${file}: ${run.stderr}`).toBe(0);
      expect(run.stdout).toContain('member holds 7 messages');
    }
    const scenario = ['node_modules/archivist/scenarios/weekly-rounds.yaml', '--json'];
    const bin = join(host, 'node_modules', 'archivist', 'bin', 'archivist.js');
    const onOldest = spawnSync(oldest, [bin, 'run', ...scenario], {
      cwd: host,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    const onOurs = spawnSync(process.execPath, [bin, 'run', ...scenario], {
      cwd: host,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect(onOldest.status, onOldest.stderr).toBe(0);
    expect(onOurs.status, onOurs.stderr).toBe(0);
    const hash = (out: string) => (JSON.parse(out) as { traceHash: string }).traceHash;
    expect(hash(onOldest.stdout)).toBe(hash(onOurs.stdout));
  }, 300_000);
});
