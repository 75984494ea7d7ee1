// The Messaging port on the simulated network. Relay: publish hands the message to the
// network (it resolves at once, even when the node is offline: the message is then lost,
// as a Waku node without peers loses it); subscriptions receive matching messages from
// other nodes. Store: queryStore asks the world's store service after a round trip and
// rejects (after STORE_TIMEOUT_MS virtual) when the node is offline or the store is down;
// the store is available while the node is up and online and the store service is up.
// A node crash drops every subscription; queries in flight never answer the dead node, nor
// does a wait for the store.

import type { Messaging, RelayMessage, StoreQuery, Unsubscribe } from '../../ports/messaging.ts';
import type { Kernel } from '../../sim/kernel.ts';
import type { SimNetwork } from '../../sim/network.ts';

interface Subscription {
  pubsubTopic: string;
  contentTopics: Set<string>;
  handler: (msg: RelayMessage) => void;
}

const SYNCHRONOUS = Symbol('archivist.synchronousHandler');

/**
 * Marks a subscription handler that settles no promise and sends no actor event (a harness
 * that stores live chat, say). A delivery that reaches only such handlers lets the kernel
 * fire its next event without draining the microtask queue first; most deliveries of a
 * run are chat, and each drain is a turn of the event loop.
 */
export function synchronousHandler<H extends (msg: RelayMessage) => void>(handler: H): H {
  (handler as H & { [SYNCHRONOUS]?: true })[SYNCHRONOUS] = true;
  return handler;
}

function isSynchronous(handler: (msg: RelayMessage) => void): boolean {
  return (handler as { [SYNCHRONOUS]?: true })[SYNCHRONOUS] === true;
}

export class StoreUnavailable extends Error {
  constructor() {
    super('no store node answered');
    this.name = 'StoreUnavailable';
  }
}

export class SimMessaging implements Messaging {
  readonly #id: string;
  readonly #net: SimNetwork;
  readonly #kernel: Kernel;
  #subs: Subscription[] = [];
  #epoch = 0;
  #dead = false;
  /** Waits for the store, settled when it becomes reachable (or dropped on a crash). */
  #storeWaiters: (() => void)[] = [];
  #watchingStore = false;

  constructor(nodeId: string, net: SimNetwork, kernel: Kernel) {
    this.#id = nodeId;
    this.#net = net;
    this.#kernel = kernel;
    net.attach(nodeId, (msg) => this.#receive(msg));
  }

  publish(msg: RelayMessage): Promise<void> {
    this.#net.publish(this.#id, msg);
    this.#kernel.noteAsyncWork();
    return Promise.resolve();
  }

  subscribe(pubsubTopic: string, contentTopics: string[], handler: (msg: RelayMessage) => void): Unsubscribe {
    // Code of a crashed incarnation must not subscribe the restarted node.
    if (this.#dead) return () => {};
    const sub: Subscription = { pubsubTopic, contentTopics: new Set(contentTopics), handler };
    this.#subs.push(sub);
    this.#net.addInterest(this.#id, pubsubTopic, 1);
    const epoch = this.#epoch;
    let done = false;
    return () => {
      if (done || epoch !== this.#epoch) return;
      done = true;
      const i = this.#subs.indexOf(sub);
      if (i >= 0) this.#subs.splice(i, 1);
      this.#net.addInterest(this.#id, pubsubTopic, -1);
    };
  }

  queryStore(query: StoreQuery): Promise<RelayMessage[]> {
    return new Promise((resolve, reject) => {
      this.#net.queryStore(this.#id, query, (result) => {
        this.#kernel.noteAsyncWork();
        if (result) resolve(result);
        else reject(new StoreUnavailable());
      });
    });
  }

  whenStoreAvailable(signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      if (this.#storeReachable()) {
        this.#kernel.noteAsyncWork();
        resolve();
        return;
      }
      const waiter = (): void => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = (): void => {
        this.#storeWaiters = this.#storeWaiters.filter((w) => w !== waiter);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#storeWaiters.push(waiter);
      if (!this.#watchingStore) {
        this.#watchingStore = true;
        this.#net.onChange((id) => {
          if (id === undefined || id === this.#id) this.#storeChanged();
        });
        this.#net.onStoreChange(() => this.#storeChanged());
      }
    });
  }

  #storeReachable(): boolean {
    return !this.#dead && this.#net.isOnline(this.#id) && this.#net.store.online;
  }

  #storeChanged(): void {
    if (this.#storeWaiters.length === 0 || !this.#storeReachable()) return;
    const waiters = this.#storeWaiters;
    this.#storeWaiters = [];
    this.#kernel.noteAsyncWork();
    for (const w of waiters) w();
  }

  /** Number of live subscriptions. */
  get subscriptions(): number {
    return this.#subs.length;
  }

  /** Node crash: forget every subscription (the network drops the node's interest). */
  crash(): void {
    for (const s of this.#subs) this.#net.addInterest(this.#id, s.pubsubTopic, -1);
    this.#subs = [];
    this.#storeWaiters = [];
    this.#epoch++;
    this.#dead = true;
  }

  /** After a crash: the node runs again (subscriptions start empty). */
  restart(): void {
    this.#dead = false;
  }

  #receive(msg: RelayMessage): void {
    let drain = false;
    for (const s of this.#subs.slice()) {
      if (s.pubsubTopic === msg.pubsubTopic && s.contentTopics.has(msg.contentTopic)) {
        if (!isSynchronous(s.handler)) drain = true;
        s.handler(msg);
      }
    }
    if (drain) this.#kernel.noteAsyncWork();
  }
}
