// An exploration spread over threads on this machine: this thread and `jobs - 1` worker
// threads. This thread hands out the run numbers of the shard in ascending order, one at a
// time, to whichever thread is free, itself included (runs differ a lot in cost: a static
// split left one worker idle while the other finished). It runs scenarios too rather than
// wait: it has the simulator loaded and compiled already, where a worker starts by loading
// and compiling it all; a simulated run yields to the event loop at every microtask drain,
// so the workers' messages are still answered at once. Each run is the scenario a
// sequential exploration draws for it (`runSeed(seed, k)`), so the merged summary is the
// sequential one, run for run. With `maxFailures`, no new run is handed out once that many
// failures are in; the runs already out finish, and the failures of the smallest run
// numbers are kept — the ones a sequential exploration would have stopped at. An error in
// any thread stops them all.

import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { type ExploreConfig, exploreRun, type RunConfig, type RunOutcome, summaryOf } from './explorer.ts';
import { type ExploreSummary, shardRuns } from './shards.ts';

/**
 * `.ts` in a checkout run by type stripping, `.js` in the compiled package: the worker is
 * the sibling of this module, written as this module is.
 */
const MODULE_EXTENSION = import.meta.url.endsWith('.ts') ? '.ts' : '.js';

/** Messages between the main thread and a worker. */
export type ToWorker = { type: 'run'; k: number } | { type: 'stop' };
export type FromWorker =
  | { type: 'ready' }
  | { type: 'done'; outcome: RunOutcome }
  | { type: 'error'; message: string };

/** Workers worth starting here: one per core, but never more than there are runs. */
export function defaultJobs(runs: number): number {
  return Math.max(1, Math.min(availableParallelism(), runs));
}

/**
 * The workers' environment: the process's, with Node's compile cache on (in the OS temp
 * dir, where `module.enableCompileCache()` puts it) unless the user set or disabled it.
 * Each worker compiles every module of the simulator again; with the cache a worker is
 * ready in about half the time from the second exploration on.
 */
function workerEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  if (env.NODE_COMPILE_CACHE === undefined && env.NODE_DISABLE_COMPILE_CACHE === undefined)
    env.NODE_COMPILE_CACHE = join(tmpdir(), 'node-compile-cache');
  return env;
}

export async function exploreInWorkers(config: ExploreConfig, jobs: number): Promise<ExploreSummary> {
  const shard = config.shard ?? { index: 1, count: 1 };
  const runs = shardRuns(config.runs, shard);
  const runConfig: RunConfig = {
    seed: config.seed,
    ...(config.shape ? { shape: config.shape } : {}),
    ...(config.outDir ? { outDir: config.outDir } : {}),
    ...(config.maxShrinkRuns !== undefined ? { maxShrinkRuns: config.maxShrinkRuns } : {}),
    ...(config.coverage !== undefined ? { coverage: config.coverage } : {}),
  };
  const outcomes: RunOutcome[] = [];
  let next = 0;
  let failures = 0;
  const enough = (): boolean => config.maxFailures !== undefined && failures >= config.maxFailures;
  /** The next run number to hand out, or undefined when there is none or enough failed. */
  const take = (): number | undefined => {
    const k = runs[next];
    if (k === undefined || enough()) return undefined;
    next++;
    return k;
  };
  const record = (outcome: RunOutcome): void => {
    outcomes.push(outcome);
    if (outcome.failure) failures++;
    config.onRun?.(outcomes.length, runs.length, failures);
  };
  const threads = Math.max(1, Math.min(jobs, runs.length));
  const workers: Worker[] = [];
  /** After the first error no run is handed out and every worker is stopped. */
  let broken = false;
  const breakAll = (): void => {
    broken = true;
    for (const w of workers) void w.terminate();
  };

  const inThisThread = async (): Promise<void> => {
    for (let k = take(); k !== undefined && !broken; k = take()) {
      try {
        record(await exploreRun(k, runConfig));
      } catch (error) {
        breakAll();
        throw error;
      }
    }
  };
  const inWorker = (w: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const worker = new Worker(new URL(`./explore-worker${MODULE_EXTENSION}`, import.meta.url), {
        workerData: runConfig,
        env: workerEnv(),
      });
      workers.push(worker);
      let failed = false;
      const stop = (error: Error): void => {
        failed = true;
        breakAll();
        reject(error);
      };
      const handOut = (): void => {
        const k = broken ? undefined : take();
        worker.postMessage((k === undefined ? { type: 'stop' } : { type: 'run', k }) satisfies ToWorker);
      };
      worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') handOut();
        else if (m.type === 'done') {
          record(m.outcome);
          handOut();
        } else stop(new Error(`explore worker ${w + 1}/${threads - 1}: ${m.message}`));
      });
      worker.on('error', stop);
      worker.on('exit', (code) => {
        if (failed) return;
        if (code === 0 || broken) resolve();
        else stop(new Error(`explore worker ${w + 1}/${threads - 1} exited with code ${code}`));
      });
    });
  await Promise.all([inThisThread(), ...Array.from({ length: threads - 1 }, (_, w) => inWorker(w))]);

  outcomes.sort((a, b) => a.run - b.run);
  // where a failure limit stopped early, keep the runs a single thread would have run
  let kept = outcomes;
  if (config.maxFailures !== undefined) {
    const failed = outcomes.filter((o) => o.failure);
    const last = failed[config.maxFailures - 1];
    if (last) kept = outcomes.filter((o) => o.run <= last.run);
  }
  return summaryOf(kept, config, shard);
}
