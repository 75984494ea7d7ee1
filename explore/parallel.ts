// An exploration spread over worker threads on this machine: `jobs` workers each take a
// sub-shard of the runs (the runs k of shard i/n with k mod n·jobs = i - 1 + n·w), so
// together they run exactly the runs of the shard, each with the scenario a sequential
// exploration would draw for it (`runSeed(seed, k)`). Their summaries are merged in run
// order; with `maxFailures`, the failures of the smallest run numbers are kept, the ones a
// sequential exploration would have stopped at.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { ExploreConfig } from './explorer.ts';
import { type ExploreSummary, mergeSummaries, type Shard } from './shards.ts';

/** What a worker gets: an ExploreConfig without its callback. */
export type WorkerConfig = Omit<ExploreConfig, 'onRun'>;

/** Messages from a worker. */
export type WorkerMessage =
  | { type: 'run'; done: number; total: number; failures: number }
  | { type: 'done'; summary: ExploreSummary }
  | { type: 'error'; message: string };

/** Workers worth starting here: one per core, but never more than there are runs. */
export function defaultJobs(runs: number): number {
  return Math.max(1, Math.min(availableParallelism(), runs));
}

/** The sub-shard worker `w` (0-based) of `jobs` takes within `shard`. */
export function subShard(shard: Shard, w: number, jobs: number): Shard {
  return { index: shard.index + shard.count * w, count: shard.count * jobs };
}

export async function exploreInWorkers(config: ExploreConfig, jobs: number): Promise<ExploreSummary> {
  const shard = config.shard ?? { index: 1, count: 1 };
  const { onRun, ...plain } = config;
  const done = new Array<number>(jobs).fill(0);
  const totals = new Array<number>(jobs).fill(0);
  const found = new Array<number>(jobs).fill(0);
  const report = (): void => {
    onRun?.(
      done.reduce((a, b) => a + b, 0),
      totals.reduce((a, b) => a + b, 0),
      found.reduce((a, b) => a + b, 0),
    );
  };
  const summaries = await Promise.all(
    Array.from({ length: jobs }, (_, w) => {
      const workerData: WorkerConfig = { ...plain, shard: subShard(shard, w, jobs) };
      return new Promise<ExploreSummary>((resolve, reject) => {
        const worker = new Worker(new URL('./explore-worker.ts', import.meta.url), { workerData });
        let result: ExploreSummary | undefined;
        worker.on('message', (m: WorkerMessage) => {
          if (m.type === 'run') {
            done[w] = m.done;
            totals[w] = m.total;
            found[w] = m.failures;
            report();
          } else if (m.type === 'done') result = m.summary;
          else reject(new Error(`explore worker ${w + 1}/${jobs}: ${m.message}`));
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (result) resolve(result);
          else
            reject(new Error(`explore worker ${w + 1}/${jobs} exited with code ${code} before its summary`));
        });
      });
    }),
  );
  const merged = mergeSummaries(summaries);
  if (config.maxFailures !== undefined) merged.failures = merged.failures.slice(0, config.maxFailures);
  const text = `${shard.index}/${shard.count}`;
  return { ...merged, shard: text, shards: [text] };
}
