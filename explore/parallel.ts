// An exploration spread over worker threads on this machine. The main thread hands out the
// run numbers of the shard in ascending order, one at a time, to whichever worker is free
// (runs differ a lot in cost: a static split left one worker idle while the other
// finished). Each run is the scenario a sequential exploration draws for it
// (`runSeed(seed, k)`), so the merged summary is the sequential one, run for run. With
// `maxFailures`, no new run is handed out once that many failures are in; the runs already
// out finish, and the failures of the smallest run numbers are kept — the ones a
// sequential exploration would have stopped at.

import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ExploreConfig, RunConfig, RunOutcome } from './explorer.ts';
import { type ExploreSummary, shardRuns } from './shards.ts';

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
 * dir, where \`module.enableCompileCache()\` puts it) unless the user set or disabled it.
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
  };
  const outcomes: RunOutcome[] = [];
  let next = 0;
  let failures = 0;
  const enough = (): boolean => config.maxFailures !== undefined && failures >= config.maxFailures;

  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(jobs, runs.length)) }, (_, w) => {
      return new Promise<void>((resolve, reject) => {
        const worker = new Worker(new URL('./explore-worker.ts', import.meta.url), {
          workerData: runConfig,
          env: workerEnv(),
        });
        let failed = false;
        const handOut = (): void => {
          const k = runs[next];
          if (k === undefined || enough()) {
            worker.postMessage({ type: 'stop' } satisfies ToWorker);
            return;
          }
          next++;
          worker.postMessage({ type: 'run', k } satisfies ToWorker);
        };
        worker.on('message', (m: FromWorker) => {
          if (m.type === 'ready') handOut();
          else if (m.type === 'done') {
            outcomes.push(m.outcome);
            if (m.outcome.failure) failures++;
            config.onRun?.(outcomes.length, runs.length, failures);
            handOut();
          } else {
            failed = true;
            reject(new Error(`explore worker ${w + 1}/${jobs}: ${m.message}`));
            void worker.terminate();
          }
        });
        worker.on('error', (e) => {
          failed = true;
          reject(e);
        });
        worker.on('exit', (code) => {
          if (failed) return;
          if (code === 0) resolve();
          else reject(new Error(`explore worker ${w + 1}/${jobs} exited with code ${code}`));
        });
      });
    }),
  );

  outcomes.sort((a, b) => a.run - b.run);
  let found = outcomes.flatMap((o) => (o.failure ? [o.failure] : []));
  if (config.maxFailures !== undefined) found = found.slice(0, config.maxFailures);
  const text = `${shard.index}/${shard.count}`;
  return {
    runs: outcomes.length,
    failures: found,
    seed: config.seed,
    shard: text,
    shards: [text],
    passed: outcomes.filter((o) => !o.failure).length,
    events: outcomes.reduce((n, o) => n + o.events, 0),
  };
}
