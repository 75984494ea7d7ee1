// The layers import downward only (docs/architecture.md). Every relative import of every
// source file, static or dynamic, is checked against the folders its layer may use; a
// violation names the file, the import and the rule.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');

/** What each layer may import besides itself and npm packages. */
const MAY_IMPORT: Record<string, string[]> = {
  proto: [],
  errors: [],
  ports: ['proto'],
  archive: ['proto', 'ports'],
  sim: ['proto', 'ports', 'archive'],
  machines: ['proto', 'ports', 'archive'],
  adapters: ['proto', 'ports', 'archive', 'sim', 'errors'],
  host: ['proto', 'ports', 'archive', 'machines', 'adapters', 'errors'],
  scenarios: ['proto', 'ports', 'archive', 'sim', 'machines', 'adapters', 'errors'],
  explore: ['proto', 'ports', 'archive', 'sim', 'machines', 'adapters', 'scenarios', 'errors'],
  report: ['proto', 'scenarios', 'machines'],
  cli: [
    'proto',
    'ports',
    'archive',
    'sim',
    'machines',
    'adapters',
    'host',
    'scenarios',
    'explore',
    'report',
    'errors',
  ],
  // The package's entry points re-export the public API from every layer but the CLI.
  api: [
    'proto',
    'ports',
    'archive',
    'sim',
    'machines',
    'adapters',
    'host',
    'scenarios',
    'explore',
    'report',
    'errors',
  ],
};

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT =
  /(?:^|\n)\s*(import|export)\s+(type\s+)?[^'"]*?from\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

interface Edge {
  file: string;
  target: string;
  typeOnly: boolean;
}

function edges(layer: string): Edge[] {
  const out: Edge[] = [];
  for (const file of sourceFiles(join(ROOT, layer))) {
    const src = readFileSync(file, 'utf8');
    for (const m of src.matchAll(IMPORT)) {
      const spec = m[3] ?? m[4];
      if (spec === undefined) continue;
      out.push({
        file: relative(ROOT, file),
        target: relative(ROOT, resolve(file, '..', spec)),
        typeOnly: m[2] !== undefined,
      });
    }
  }
  return out;
}

describe('imports run downward only', () => {
  it('the scan sees static, type-only and dynamic imports', () => {
    const sample = `import { a } from '../sim/x.ts';\nimport type { B } from './y.ts';\nawait import('../cli/z.ts');`;
    expect([...sample.matchAll(IMPORT)].map((m) => [m[3] ?? m[4], m[2] !== undefined])).toEqual([
      ['../sim/x.ts', false],
      ['./y.ts', true],
      ['../cli/z.ts', false],
    ]);
    expect(Object.keys(MAY_IMPORT).flatMap(edges).length).toBeGreaterThan(250);
  });

  for (const [layer, allowed] of Object.entries(MAY_IMPORT)) {
    it(`${layer}/ imports only ${allowed.length > 0 ? allowed.join(', ') : 'itself'}`, () => {
      const found = edges(layer);
      const bad = found
        .filter((e) => {
          const top = e.target.split('/')[0] as string;
          if (top === layer) return false;
          if (!allowed.includes(top)) return true;
          // The ports are interfaces: they may name proto's types, nothing that runs.
          return layer === 'ports' && !e.typeOnly;
        })
        .map((e) => `${e.file} imports ${e.target}${e.typeOnly ? ' (types)' : ''}`);
      expect(bad).toEqual([]);
    });
  }
});
