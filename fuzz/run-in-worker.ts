// Runs a synchronous campaign in worker threads under a watchdog. The worker marks each
// input's number in shared memory; when that number stays the same for `hangMs`, the
// input is a hang: the worker is terminated (a loop that never returns cannot be stopped
// otherwise), the input is drawn again here from its number and reported, and a new worker
// goes on from the next input.
import { Worker } from 'node:worker_threads';
import { type CampaignResult, describeInput, inputAt } from './campaign.ts';
import { campaignNamed } from './targets.ts';

export interface WorkerRunOptions {
  seed: number;
  count: number;
  budgetMs?: number;
  /** An input running longer than this is a hang (default 10 s). */
  hangMs?: number;
}

function merge(a: CampaignResult, b: CampaignResult): CampaignResult {
  return {
    name: a.name,
    inputs: a.inputs + b.inputs,
    refused: a.refused + b.refused,
    untyped: [...a.untyped, ...b.untyped],
    hangs: [...a.hangs, ...b.hangs],
    slowest: b.slowest.ms > a.slowest.ms ? b.slowest : a.slowest,
    seconds: a.seconds + b.seconds,
  };
}

export async function runInWorker(name: string, o: WorkerRunOptions): Promise<CampaignResult> {
  const campaign = campaignNamed(name);
  const hangMs = o.hangMs ?? 10_000;
  const deadline = o.budgetMs !== undefined ? performance.now() + o.budgetMs : undefined;
  let total: CampaignResult = {
    name,
    inputs: 0,
    refused: 0,
    untyped: [],
    hangs: [],
    slowest: { index: -1, input: '', ms: 0 },
    seconds: 0,
  };
  let from = 0;
  while (from < o.count) {
    const left = deadline === undefined ? undefined : deadline - performance.now();
    if (left !== undefined && left <= 0) break;
    const progress = new SharedArrayBuffer(4);
    const marks = new Int32Array(progress);
    Atomics.store(marks, 0, from - 1);
    const worker = new Worker(new URL('./worker.ts', import.meta.url), {
      workerData: {
        name,
        seed: o.seed,
        from,
        count: o.count - from,
        ...(left !== undefined ? { budgetMs: left } : {}),
        progress,
      },
    });
    const started = performance.now();
    const outcome = await new Promise<{ done: CampaignResult } | { hang: number }>((resolve, reject) => {
      let last = Atomics.load(marks, 0);
      let since = performance.now();
      const timer = setInterval(
        () => {
          const now = Atomics.load(marks, 0);
          if (now !== last) {
            last = now;
            since = performance.now();
          } else if (now >= from && performance.now() - since > hangMs) {
            // (`now < from`: the worker is still loading, before its first input.)
            clearInterval(timer);
            void worker.terminate();
            resolve({ hang: now });
          }
        },
        Math.min(250, hangMs / 4),
      );
      worker.once('message', (r: CampaignResult) => {
        clearInterval(timer);
        resolve({ done: r });
      });
      worker.once('error', (e) => {
        clearInterval(timer);
        reject(e);
      });
    });
    if ('done' in outcome) {
      total = merge(total, outcome.done);
      break;
    }
    const index = outcome.hang;
    const seconds = (performance.now() - started) / 1000;
    total = merge(total, {
      name,
      inputs: index - from + 1,
      refused: 0,
      untyped: [],
      hangs: [
        {
          index,
          input: describeInput(campaign, inputAt(campaign.arbitrary, o.seed, index)),
          error: `no answer within ${hangMs} ms`,
        },
      ],
      slowest: { index: -1, input: '', ms: 0 },
      seconds,
    });
    from = index + 1;
  }
  return total;
}
