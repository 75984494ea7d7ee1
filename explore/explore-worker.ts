// One worker thread of `exploreInWorkers`: says it is ready, then runs each run number the
// main thread sends and posts its outcome, until told to stop. Errors are posted as text
// (an Error does not survive structured clone with its class).

import { parentPort, workerData } from 'node:worker_threads';
import { exploreRun, type RunConfig } from './explorer.ts';
import type { FromWorker, ToWorker } from './parallel.ts';

const port = parentPort;
if (!port) throw new Error('explore-worker.ts runs only as a worker thread');
const post = (m: FromWorker): void => port.postMessage(m);
const config = workerData as RunConfig;

port.on('message', (m: ToWorker) => {
  if (m.type === 'stop') {
    port.close();
    return;
  }
  exploreRun(m.k, config).then(
    (outcome) => post({ type: 'done', outcome }),
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
  );
});
post({ type: 'ready' });
