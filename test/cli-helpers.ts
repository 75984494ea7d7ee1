// Running the CLI in-process from a test: `main(args)` with stdout and stderr captured
// (spies, restored after each test) and `process.exitCode` reset around every call, so one
// test's exit code never leaks into vitest's own.

import { afterEach, beforeEach, vi } from 'vitest';
import { main } from '../cli/main.ts';

export interface CliCapture {
  /** What the CLI wrote to stdout / stderr since the last `clear()` (or `run`, with clearOnRun). */
  readonly out: string;
  readonly err: string;
  clear(): void;
  /** Runs `archivist …args` in this process; resolves to its exit code. */
  run(...args: string[]): Promise<number>;
}

/** Call at the top of a test file: installs the spies for each of its tests. */
export function captureCli(options: { clearOnRun?: boolean } = {}): CliCapture {
  let out = '';
  let err = '';
  const clear = (): void => {
    out = '';
    err = '';
  };
  beforeEach(() => {
    clear();
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      err += String(chunk);
      return true;
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });
  return {
    get out() {
      return out;
    },
    get err() {
      return err;
    },
    clear,
    async run(...args) {
      if (options.clearOnRun) clear();
      process.exitCode = undefined;
      const code = await main(args);
      process.exitCode = undefined;
      return code;
    },
  };
}
