// Port faults on command: a wrapper over a node's adapters that makes chosen port calls
// fail or hang, deterministically. A test (or the explorer) arms a rule for a call such as
// `torrent.start` or `download.downloadPieces`; the next matching calls then throw (sync
// calls) or reject / never settle (async calls) instead of reaching the wrapped port.
// The simulated adapters themselves have no such knob: their failures are the world's
// (crash, offline, missing peers); these are the host's own (a disk error, a torrent
// library refusing to start), which the machines must survive just the same.
//
// Rejections settle through the node's clock (a 0 ms timer), as a real port settles from
// an I/O callback: on the simulated clock they run at the current virtual time, and a
// crashed node's injected rejections never settle, like its other pending port calls.

import type {
  FileSystem,
  KeyStore,
  Messaging,
  NodeAdapters,
  Storage,
  TorrentClient,
  TorrentDownload,
} from '../../ports/index.ts';

type MethodsOf<T> = {
  [K in keyof T]: T[K] extends (...args: never[]) => unknown ? K : never;
}[keyof T] &
  string;

/** A port call a rule can target: `<port>.<method>`; `download` is a handle from `torrent.add`. */
export type PortCall =
  | `torrent.${MethodsOf<TorrentClient>}`
  | `download.${MethodsOf<TorrentDownload>}`
  | `storage.${MethodsOf<Storage>}`
  | `fs.${MethodsOf<FileSystem>}`
  | `messaging.${MethodsOf<Messaging>}`
  | `keys.${MethodsOf<KeyStore>}`;

/** The calls that return a promise (they reject or hang); every other call throws. */
const ASYNC_CALLS: ReadonlySet<string> = new Set<PortCall>([
  'torrent.start',
  'torrent.stop',
  'torrent.seed',
  'torrent.remove',
  'download.metadata',
  'download.downloadFile',
  'download.downloadPieces',
  'messaging.publish',
  'messaging.queryStore',
  'messaging.whenStoreAvailable',
]);

type Every<T> = Record<MethodsOf<T>, true>;

// Every method of every port (the compiler checks each list is complete and exact).
const TORRENT: Every<TorrentClient> = {
  start: true,
  stop: true,
  seed: true,
  add: true,
  remove: true,
  active: true,
  stats: true,
};
const DOWNLOAD: Every<TorrentDownload> = {
  metadata: true,
  downloadFile: true,
  downloadPieces: true,
  onProgress: true,
};
const STORAGE: Every<Storage> = {
  saveMessages: true,
  messagesInRange: true,
  oldestMessageTimestamp: true,
  newestMessageTimestamp: true,
  deleteMessagesInRange: true,
  countMessages: true,
  getArchiveState: true,
  updateArchiveState: true,
  archives: true,
  markArchiveDownloaded: true,
  markArchiveImported: true,
  forgetCommunity: true,
};
const FS: Every<FileSystem> = {
  exists: true,
  size: true,
  read: true,
  readRange: true,
  writeAtomic: true,
  append: true,
  mkdirp: true,
  list: true,
  remove: true,
};
const MESSAGING: Every<Messaging> = {
  publish: true,
  subscribe: true,
  queryStore: true,
  whenStoreAvailable: true,
};
const KEYS: Every<KeyStore> = { communityPrivateKey: true, nodeIdentity: true };

const PORT_METHODS: Record<string, readonly string[]> = {
  torrent: Object.keys(TORRENT),
  download: Object.keys(DOWNLOAD),
  storage: Object.keys(STORAGE),
  fs: Object.keys(FS),
  messaging: Object.keys(MESSAGING),
  keys: Object.keys(KEYS),
};

/** Every call a rule may name, sorted. */
export const PORT_CALLS: readonly PortCall[] = Object.entries(PORT_METHODS)
  .flatMap(([port, methods]) => methods.map((m) => `${port}.${m}` as PortCall))
  .sort();

export type FaultMode = 'fail' | 'hang';

export interface FaultRule {
  call: PortCall;
  /** `fail` (default): throw or reject with an InjectedFault; `hang`: never settle (async calls only). */
  mode?: FaultMode;
  /** How many matching calls it hits (default: every one until disarmed). */
  times?: number;
  /** Only calls whose arguments match (default: every call). */
  match?: (args: readonly unknown[]) => boolean;
}

/** The error an armed `fail` rule throws or rejects with. */
export class InjectedFault extends Error {
  readonly call: PortCall;
  constructor(call: PortCall) {
    super(`injected fault: ${call}`);
    this.name = 'InjectedFault';
    this.call = call;
  }
}

export interface InjectedCall {
  call: PortCall;
  mode: FaultMode;
  /** Virtual (or wall) ms of the node's clock when the call was hit. */
  at: number;
}

export interface FaultyAdapters {
  /** The wrapped ports, to hand to the node instead of the inner ones. */
  readonly adapters: NodeAdapters;
  /** Add a rule; rules are tried in the order they were armed. */
  arm(rule: FaultRule): void;
  /** Remove every rule for `call`, or every rule. */
  disarm(call?: PortCall): void;
  /** Calls hit by a rule so far, in order. */
  readonly injected: readonly InjectedCall[];
  /** How many calls a rule hit for `call`. */
  hits(call: PortCall): number;
}

interface ArmedRule {
  call: PortCall;
  mode: FaultMode;
  left: number;
  match: ((args: readonly unknown[]) => boolean) | undefined;
}

function validate(rule: FaultRule): ArmedRule {
  if (!PORT_CALLS.includes(rule.call)) {
    throw new RangeError(
      `faulty adapters: unknown port call "${rule.call}" (one of ${PORT_CALLS.join(', ')})`,
    );
  }
  const mode = rule.mode ?? 'fail';
  if (mode !== 'fail' && mode !== 'hang') {
    throw new RangeError(`faulty adapters: mode must be "fail" or "hang", got "${String(mode)}"`);
  }
  if (mode === 'hang' && !ASYNC_CALLS.has(rule.call)) {
    throw new RangeError(`faulty adapters: ${rule.call} returns no promise, it cannot hang (use "fail")`);
  }
  const times = rule.times ?? Number.POSITIVE_INFINITY;
  if (!(times === Number.POSITIVE_INFINITY || (Number.isInteger(times) && times > 0))) {
    throw new RangeError(`faulty adapters: times must be a positive integer, got ${String(rule.times)}`);
  }
  return { call: rule.call, mode, left: times, match: rule.match };
}

/** Wrap `inner`; no rule is armed until `arm`. */
export function withFaults(inner: NodeAdapters): FaultyAdapters {
  const rules: ArmedRule[] = [];
  const injected: InjectedCall[] = [];

  /** The rule that hits this call, if any (its count is used up). */
  const take = (call: PortCall, args: readonly unknown[]): ArmedRule | undefined => {
    const i = rules.findIndex((r) => r.call === call && (r.match === undefined || r.match(args)));
    const rule = rules[i];
    if (!rule) return undefined;
    rule.left--;
    if (rule.left <= 0) rules.splice(i, 1);
    injected.push({ call, mode: rule.mode, at: inner.clock.now() });
    return rule;
  };

  const inject = (rule: ArmedRule, call: PortCall, args: readonly unknown[]): unknown => {
    if (!ASYNC_CALLS.has(call)) throw new InjectedFault(call);
    const signal = args.find((a): a is AbortSignal => a instanceof AbortSignal);
    return new Promise((_resolve, reject) => {
      const settle = (error: unknown) => inner.clock.setTimeout(() => reject(error), 0);
      if (signal?.aborted) {
        settle(signal.reason);
        return;
      }
      // a hung call still honours its AbortSignal, as every port wait does
      signal?.addEventListener('abort', () => settle(signal.reason), { once: true });
      if (rule.mode === 'fail') settle(new InjectedFault(call));
    });
  };

  const wrap = <T extends object>(port: string, target: T): T =>
    new Proxy(target, {
      get(t, prop) {
        // the target as receiver: class ports keep their private fields (`running`, …)
        const value = Reflect.get(t, prop, t);
        if (typeof value !== 'function' || typeof prop !== 'string') return value;
        const call = `${port}.${prop}` as PortCall;
        if (!PORT_METHODS[port]?.includes(prop)) return value.bind(t);
        return (...args: unknown[]) => {
          const rule = take(call, args);
          if (rule) return inject(rule, call, args);
          const out = value.apply(t, args);
          return call === 'torrent.add' ? wrap('download', out as TorrentDownload) : out;
        };
      },
    });

  const adapters: NodeAdapters = {
    ...inner,
    fs: wrap('fs', inner.fs),
    storage: wrap('storage', inner.storage),
    messaging: wrap('messaging', inner.messaging),
    torrent: wrap('torrent', inner.torrent),
    keys: wrap('keys', inner.keys),
  };

  return {
    adapters,
    arm: (rule) => {
      rules.push(validate(rule));
    },
    disarm: (call) => {
      for (let i = rules.length - 1; i >= 0; i--)
        if (call === undefined || rules[i]?.call === call) rules.splice(i, 1);
    },
    injected,
    hits: (call) => injected.filter((x) => x.call === call).length,
  };
}
