// One worker thread of `exploreInWorkers`: runs its sub-shard and posts progress and the
// summary back. Errors are posted as text (an Error does not survive structured clone
// with its class).

import { parentPort, workerData } from 'node:worker_threads';
import { explore } from './explorer.ts';
import type { WorkerConfig, WorkerMessage } from './parallel.ts';

const port = parentPort;
if (!port) throw new Error('explore-worker.ts runs only as a worker thread');
const post = (m: WorkerMessage): void => port.postMessage(m);

try {
  const summary = await explore({
    ...(workerData as WorkerConfig),
    onRun: (done, total, failures) => post({ type: 'run', done, total, failures }),
  });
  post({ type: 'done', summary });
} catch (e) {
  post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
}
