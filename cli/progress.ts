// Progress of the long CLI commands (run, explore) on stderr, so stdout stays the result:
// - `bar`: a cli-progress bar, redrawn in place (for a terminal);
// - `lines`: one plain line every `--progress-every` (default 10 s) of wall time, for CI
//   logs, pipes and `kubectl logs`, where a bar shows nothing until the end;
// - `json`: the same moments as one JSON object a line, plus a last one when done;
// - `none`; `auto` (the default) is `bar` on a terminal and `lines` elsewhere.
// The wall clock is read here, outside the simulated run: nothing it sees reaches a trace
// or a result.

import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { UserError } from '../errors/user-error.ts';
import { formatDuration, parseDuration } from '../scenarios/units.ts';

export const PROGRESS_MODES = ['auto', 'bar', 'lines', 'json', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export function parseProgressMode(text: string): ProgressMode {
  if (!(PROGRESS_MODES as readonly string[]).includes(text))
    throw new UserError(`--progress: expected one of ${PROGRESS_MODES.join(', ')}, got "${text}"`);
  return text as ProgressMode;
}

/** `--progress-every 10s` (or a number of seconds) -> ms. */
export function parseProgressEvery(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) * 1000 : parseDuration(text);
  if (ms === undefined)
    throw new UserError(`--progress-every: expected a duration like "10s", got "${text}"`);
  return ms;
}

export interface ProgressFlags {
  progress: string;
  progressEvery: string;
}

/** The progress options every long command shares. */
export function progressFlags(command: Command): Command {
  return command
    .option(
      '--progress <mode>',
      `progress on stderr: ${PROGRESS_MODES.join(', ')} (auto: a bar on a terminal, else a line every --progress-every)`,
      'auto',
    )
    .option('--progress-every <duration>', 'wall time between two progress lines (lines, json)', '10s');
}

interface SingleBar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
interface CliProgressModule {
  SingleBar: new (options: Record<string, unknown>, preset: unknown) => SingleBar;
  Presets: { shades_classic: unknown };
}

/** Numbers and words a command reports at each step; `done` of `total` is the progress. */
export type ProgressFields = Record<string, number | string>;

export interface ProgressBar {
  update(done: number, total: number, fields?: ProgressFields): void;
  stop(): void;
}

export interface ProgressOptions {
  mode?: ProgressMode;
  /** Wall ms between two lines (`lines`, `json`); 0 writes one at every update. */
  everyMs?: number;
  /** The command, in JSON records (`"command": "run"`). */
  command: string;
  /** cli-progress's format for the bar, e.g. `'[{bar}] {value}/{total}'`. */
  barFormat: string;
  /** The plain line of `lines` mode (without the leading "archivist: "). */
  line: (done: number, total: number, fields: ProgressFields, wall: WallFigures) => string;
  /** Where it goes (default process.stderr); `isTTY` picks the bar in auto mode. */
  stream?: { write(text: string): unknown; isTTY?: boolean };
  /** The wall clock (default Date.now), for tests. */
  now?: () => number;
}

export interface WallFigures {
  /** Wall ms since the first update. */
  elapsedMs: number;
  /** Wall ms left at the pace so far, when it can be told. */
  etaMs: number | undefined;
  rssBytes: number;
}

const require = createRequire(import.meta.url);

/** "3m10s" for wall ms (whole seconds). */
export function wallText(ms: number): string {
  return formatDuration(Math.max(0, Math.round(ms / 1000)) * 1000);
}

export function progressBar(options: ProgressOptions): ProgressBar {
  const stream = options.stream ?? process.stderr;
  const mode = options.mode ?? 'auto';
  const resolved = mode === 'auto' ? (stream.isTTY ? 'bar' : 'lines') : mode;
  if (resolved === 'none') return { update() {}, stop() {} };
  if (resolved === 'bar') return cliProgressBar(options.barFormat, stream);
  const now = options.now ?? Date.now;
  const everyMs = options.everyMs ?? 10_000;
  let started: number | undefined;
  let lastLine: number | undefined;
  let last: { done: number; total: number; fields: ProgressFields } | undefined;
  const wall = (done: number, total: number): WallFigures => {
    const elapsedMs = now() - (started ?? now());
    return {
      elapsedMs,
      etaMs: done > 0 && total >= done ? Math.round((elapsedMs * (total - done)) / done) : undefined,
      rssBytes: process.memoryUsage.rss(),
    };
  };
  const write = (done: number, total: number, fields: ProgressFields, final: boolean): void => {
    const w = wall(done, total);
    if (resolved === 'json') {
      const record: Record<string, unknown> = {
        kind: final ? 'done' : 'progress',
        command: options.command,
        done,
        total,
        fraction: total > 0 ? done / total : 1,
        ...fields,
        wallMs: w.elapsedMs,
        ...(w.etaMs !== undefined && !final ? { etaMs: w.etaMs } : {}),
        rssBytes: w.rssBytes,
      };
      stream.write(`${JSON.stringify(record)}\n`);
    } else stream.write(`archivist: ${options.line(done, total, fields, w)}\n`);
  };
  return {
    update(done, total, fields = {}) {
      const t = now();
      started ??= t;
      last = { done, total, fields };
      // the first moment is the start: the first line waits one period (a short run prints none)
      lastLine ??= t;
      if (t - lastLine >= everyMs) {
        lastLine = t;
        write(done, total, fields, false);
      }
    },
    stop() {
      // JSON readers get the end too; plain lines stay quiet (the result follows on stdout)
      if (resolved === 'json' && last) write(last.done, last.total, last.fields, true);
    },
  };
}

function cliProgressBar(format: string, stream: { write(text: string): unknown }): ProgressBar {
  const { SingleBar, Presets } = require('cli-progress') as CliProgressModule;
  const bar = new SingleBar(
    { stream, format, hideCursor: true, clearOnComplete: true },
    Presets.shades_classic,
  );
  let started = false;
  return {
    update(done, total, payload) {
      if (!started) {
        bar.start(total, done, payload);
        started = true;
      } else bar.update(done, payload);
    },
    stop() {
      if (started) bar.stop();
    },
  };
}
