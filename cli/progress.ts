// A progress bar on stderr for the long CLI commands (run, explore): drawn only when stderr
// is a terminal, so pipes, CI logs and --json output stay clean. cli-progress reads the
// wall clock, which is fine here: the bar lives outside the simulated run and nothing it
// sees reaches a trace or a result.

import { createRequire } from 'node:module';

interface SingleBar {
  start(total: number, value: number, payload?: Record<string, unknown>): void;
  update(value: number, payload?: Record<string, unknown>): void;
  stop(): void;
}
interface CliProgressModule {
  SingleBar: new (options: Record<string, unknown>, preset: unknown) => SingleBar;
  Presets: { shades_classic: unknown };
}

export interface ProgressBar {
  /** `payload` fills the `{name}` fields of the format. */
  update(done: number, total: number, payload?: Record<string, unknown>): void;
  stop(): void;
}

const require = createRequire(import.meta.url);

/** `format` is cli-progress's (e.g. `'[{bar}] {value}/{total}'`). */
export function progressBar(format: string): ProgressBar {
  if (!process.stderr.isTTY) return { update() {}, stop() {} };
  const { SingleBar, Presets } = require('cli-progress') as CliProgressModule;
  const bar = new SingleBar(
    { stream: process.stderr, format, hideCursor: true, clearOnComplete: true },
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
