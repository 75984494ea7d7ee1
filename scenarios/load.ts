// Reading a scenario file: YAML (or JSON, which YAML reads too) -> validated, normalized
// Scenario. A bad file raises one ScenarioError listing every problem, one line each, naming
// the file, the path of the wrong field and what was expected, plus the line in the file
// when it can be found:
//   scenarios/x.yaml: timeline[3].at: expected a duration like "7d" or a number of ms (line 12)
//   scenarios/x.yaml: nodes[1].id: missing (expected string) (line 20)

import { readFileSync } from 'node:fs';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { UserError } from '../errors/user-error.ts';
import { type Scenario, ScenarioSchema } from './schema.ts';

export interface ScenarioProblem {
  /** Path of the wrong field (`timeline[3].at`), "" for the file as a whole. */
  path: string;
  detail: string;
}

const problemLine = (file: string, p: ScenarioProblem): string =>
  p.path ? `${file}: ${p.path}: ${p.detail}` : `${file}: ${p.detail}`;

/**
 * A bad scenario file, with every problem found. A UserError, so the CLI prints each
 * problem as one line and exits 2.
 */
export class ScenarioError extends UserError {
  readonly file: string;
  /** The first problem's path. */
  readonly path: string;
  readonly problems: ScenarioProblem[];
  constructor(file: string, path: string, detail: string, more: ScenarioProblem[] = []) {
    const problems = [{ path, detail }, ...more];
    super(problems.map((p) => problemLine(file, p)).join('\n'));
    this.name = 'ScenarioError';
    this.file = file;
    this.path = path;
    this.problems = problems;
  }
}

/** `['timeline', 3, 'at']` -> `timeline[3].at`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out === '' ? String(key) : `.${String(key)}`;
  }
  return out;
}

function valueAt(document: unknown, path: readonly PropertyKey[]): unknown {
  let value = document;
  for (const key of path) {
    if (value === null || typeof value !== 'object') return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/** The problems one issue stands for (an unknown-keys issue is one per key). */
function describeIssue(
  issue: z.core.$ZodIssue,
  document: unknown,
): { path: PropertyKey[]; detail: string }[] {
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ path: [...issue.path, key], detail: 'unknown field' }));
  }
  const message = issue.message.replace(/^Invalid input: /, '').replace(/, received undefined$/, '');
  if (issue.code !== 'custom' && issue.path.length > 0 && valueAt(document, issue.path) === undefined) {
    return [{ path: issue.path, detail: `missing (${message})` }];
  }
  return [{ path: issue.path, detail: message }];
}

/** Validates an already parsed document. `lineOf` maps a path to a 1-based line, when known. */
export function validateScenario(
  document: unknown,
  file: string,
  lineOf: (path: readonly PropertyKey[]) => number | undefined = () => undefined,
): Scenario {
  const parsed = ScenarioSchema.safeParse(document);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues.flatMap((issue) =>
    describeIssue(issue, document).map(({ path, detail }): ScenarioProblem => {
      const line = lineOf(path);
      return { path: formatPath(path), detail: `${detail}${line ? ` (line ${line})` : ''}` };
    }),
  );
  const [first, ...more] = problems as [ScenarioProblem, ...ScenarioProblem[]];
  throw new ScenarioError(file, first.path, first.detail, more);
}

/** Parses YAML or JSON text of a scenario; `file` only names it in errors. */
export function parseScenario(text: string, file: string): Scenario {
  const lineCounter = new LineCounter();
  // logLevel 'error': yaml would print a process warning for a mapping or sequence used as
  // a key; such a key is an unknown field to the schema, reported like any other.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, logLevel: 'error' });
  const syntax = doc.errors[0];
  if (syntax) {
    const pos = lineCounter.linePos(syntax.pos[0]);
    const where = pos ? ` (line ${pos.line}, column ${pos.col})` : '';
    throw new ScenarioError(file, '', `not valid YAML or JSON: ${syntax.message.split('\n')[0]}${where}`);
  }
  let value: unknown;
  try {
    // Aliases are resolved here: one naming no anchor, or more than yaml's alias budget (a
    // "billion laughs" document), throws.
    value = doc.toJS();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new ScenarioError(file, '', `not valid YAML or JSON: ${message.split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new ScenarioError(file, '', 'expected a mapping with at least name, duration, communities, nodes');
  }
  const lineOf = (path: readonly PropertyKey[]): number | undefined => {
    // The deepest node of the path that exists in the document (a missing field -> its parent).
    for (let depth = path.length; depth >= 0; depth--) {
      const node = doc.getIn(path.slice(0, depth) as unknown[], true);
      if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line;
    }
    return undefined;
  };
  return validateScenario(value, file, lineOf);
}

/** Reads and validates a scenario file. */
export function loadScenario(file: string): Scenario {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ScenarioError(
      file,
      '',
      code === 'ENOENT' ? 'no such file' : `cannot read (${code ?? 'error'})`,
    );
  }
  return parseScenario(text, file);
}
