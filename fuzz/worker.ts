// A worker thread running one synchronous campaign (fuzz/run-in-worker.ts starts it): it
// writes the number of the input it is on into shared memory before each input, so the
// thread that started it can tell a hang from slow progress and name the input.
import { parentPort, workerData } from 'node:worker_threads';
import { runCampaign } from './campaign.ts';
import { campaignNamed } from './targets.ts';

interface Job {
  name: string;
  seed: number;
  from: number;
  count: number;
  budgetMs?: number;
  progress: SharedArrayBuffer;
}

const job = workerData as Job;
const progress = new Int32Array(job.progress);
const campaign = campaignNamed(job.name);
const result = await runCampaign(campaign, {
  seed: job.seed,
  from: job.from,
  count: job.count,
  ...(job.budgetMs !== undefined ? { budgetMs: job.budgetMs } : {}),
  onInput: (i) => {
    Atomics.store(progress, 0, i);
  },
});
parentPort?.postMessage(result);
