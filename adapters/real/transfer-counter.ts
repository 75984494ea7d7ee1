// A libp2p Metrics implementation that only counts the bytes of every connection (what
// the ContentStore port's stats report), and gives every other metric a no-op. libp2p hands
// each raw connection to trackMultiaddrConnection; bytes received arrive as its 'message'
// events and bytes sent go through its `send`.
import type { Metrics, MultiaddrConnection } from '@libp2p/interface';

const noop = (): void => {};
const stopTimer = (): (() => void) => noop;
const metric = {
  update: noop,
  increment: noop,
  decrement: noop,
  reset: noop,
  observe: noop,
  timer: stopTimer,
};

function byteLength(data: unknown): number {
  if (data instanceof Uint8Array) return data.byteLength;
  const n = (data as { byteLength?: number } | undefined)?.byteLength;
  return typeof n === 'number' ? n : 0;
}

export class TransferCounter {
  bytesDown = 0;
  bytesUp = 0;

  /** The factory libp2p's `metrics` option takes. */
  metrics(): Metrics {
    const register = ((_name: string, options?: { calculate?: unknown }) =>
      options && 'calculate' in options ? undefined : metric) as never;
    return {
      trackMultiaddrConnection: (maConn: MultiaddrConnection) => this.#track(maConn),
      trackProtocolStream: noop,
      registerMetric: register,
      registerMetricGroup: register,
      registerCounter: register,
      registerCounterGroup: register,
      registerHistogram: register,
      registerHistogramGroup: register,
      registerSummary: register,
      registerSummaryGroup: register,
      traceFunction: ((_name: string, fn: unknown) => fn) as never,
      createTrace: () => undefined,
    };
  }

  #track(maConn: MultiaddrConnection): void {
    maConn.addEventListener('message', (event) => {
      this.bytesDown += byteLength((event as unknown as { data: unknown }).data);
    });
    const send = maConn.send.bind(maConn);
    maConn.send = (data) => {
      this.bytesUp += byteLength(data);
      return send(data);
    };
  }
}
