// The trace of a run: one JSON object per line, `t` (virtual ms, integer) and `kind`
// first, then the fields sorted by name (nested objects too), byte arrays as lowercase
// hex, bigints as decimal strings, undefined fields left out. The SHA-256 of all lines
// (each followed by '\n') is updated as lines arrive, so the hash is available even when
// the lines themselves are not kept. A run that needs neither lines nor hash (an explored
// scenario, judged on its verdicts only) can turn both off: records are then only counted,
// which saves encoding every line.

import { createHash, type Hash } from 'node:crypto';
import { hexDigits } from '../proto/hex.ts';

export interface TraceRecord {
  t: number;
  kind: string;
  fields: Record<string, unknown>;
  line: string;
}

export interface TraceOptions {
  /** Keep the lines in memory for `lines()` (default true). */
  keepLines?: boolean;
  /**
   * Hash the lines (default true). With `keepLines: false` and `hash: false`, and no
   * `onRecord` listener, a record is only counted and `hash()` returns "".
   */
  hash?: boolean;
}

function encodeValue(v: unknown): string {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : JSON.stringify(String(v));
    case 'string':
      return JSON.stringify(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return JSON.stringify(v.toString());
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
    default:
      break;
  }
  if (v === null) return 'null';
  if (v instanceof Uint8Array) return JSON.stringify(hexDigits(v));
  if (Array.isArray(v)) return `[${v.map(encodeValue).join(',')}]`;
  if (v instanceof Map) {
    const keys = [...v.keys()].map(String).sort();
    const obj: Record<string, unknown> = {};
    for (const k of keys) obj[k] = v.get(k);
    return encodeObject(obj);
  }
  if (v instanceof Set) return `[${[...v].map(encodeValue).sort().join(',')}]`;
  return encodeObject(v as Record<string, unknown>);
}

/** JSON spellings of field names (a handful of names, quoted millions of times). */
const quotedKeys = new Map<string, string>();
function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    quotedKeys.set(k, q);
  }
  return q;
}

function encodeObject(o: Record<string, unknown>): string {
  const keys = Object.keys(o).sort();
  let s = '{';
  let first = true;
  for (const k of keys) {
    const val = o[k];
    if (val === undefined) continue;
    if (!first) s += ',';
    first = false;
    s += `${quoteKey(k)}:${encodeValue(val)}`;
  }
  return `${s}}`;
}

/** The canonical line for a record (exported for tests and tools). */
export function traceLine(t: number, kind: string, fields: Record<string, unknown>): string {
  const body = encodeObject(fields);
  return `{"t":${Math.round(t)},"kind":${JSON.stringify(kind)}${body === '{}' ? '}' : `,${body.slice(1)}`}`;
}

export class Trace {
  readonly #now: () => number;
  readonly #keep: boolean;
  readonly #hashing: boolean;
  readonly #lines: string[] = [];
  readonly #listeners = new Set<(record: TraceRecord) => void>();
  #hash: Hash = createHash('sha256');
  /** Lines not yet fed to the hash: one `update` per ~64 KB instead of two per line. */
  #pending = '';
  #count = 0;

  constructor(now: () => number, opts: TraceOptions = {}) {
    this.#now = now;
    this.#keep = opts.keepLines ?? true;
    this.#hashing = opts.hash ?? true;
  }

  record(kind: string, fields: Record<string, unknown> = {}): void {
    if (!this.#hashing && !this.#keep && this.#listeners.size === 0) {
      this.#count++;
      return;
    }
    const t = Math.round(this.#now());
    const line = traceLine(t, kind, fields);
    if (this.#hashing) {
      this.#pending += `${line}\n`;
      if (this.#pending.length > 65_536) this.#flush();
    }
    this.#count++;
    if (this.#keep) this.#lines.push(line);
    if (this.#listeners.size > 0) {
      const record = { t, kind, fields, line };
      for (const l of [...this.#listeners]) l(record);
    }
  }

  /** Lines recorded so far (empty when created with keepLines: false). */
  lines(): string[] {
    return this.#lines.slice();
  }

  /** Number of records so far. */
  get count(): number {
    return this.#count;
  }

  /** SHA-256 (hex) of every line so far, each followed by '\n'; "" when not hashing. */
  hash(): string {
    if (!this.#hashing) return '';
    this.#flush();
    return this.#hash.copy().digest('hex');
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    this.#hash.update(this.#pending);
    this.#pending = '';
  }

  onRecord(listener: (record: TraceRecord) => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }
}
