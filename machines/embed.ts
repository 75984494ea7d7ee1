// The embedding API: a host app hands its ports (clock, files, storage, messaging, torrent
// client, keys) and its communities to `createArchiveNode`, gets a running node actor and
// subscribes to the signal stream. The same call runs on the simulated world and on real
// backends. See docs/machines.md for an example.

import { type Actor, createActor, type InspectionEvent, type Observer } from 'xstate';
import type { NodeAdapters } from '../ports/index.ts';
import type { CommunityConfig } from './community-env.ts';
import { type NodeEvent, nodeMachine } from './node.machine.ts';
import { type ImportRate, type MachineOptions, resolveOptions } from './options.ts';
import { type NodeSignal, SignalBus, type SignalListener } from './signals.ts';

export interface CreateArchiveNodeArgs {
  adapters: NodeAdapters;
  /** Options patch over the reference defaults (see machines/options.ts). */
  options?: Partial<MachineOptions>;
  communities?: CommunityConfig[];
  /** Name of the node in signals (default "node"). */
  nodeId?: string;
  /** Protocol enabled at start (default true). */
  protocolEnabled?: boolean;
  importRate?: ImportRate;
  /** Listener attached before the actor starts, so it sees the very first signals. */
  onSignal?: SignalListener;
  /**
   * XState's inspection of this node's actor system (the node actor and every actor it
   * spawns), attached before the actor starts: events, snapshots and the transitions of each
   * microstep. Pass `createSkyInspector().inspect` or `createBrowserInspector().inspect` of
   * `@statelyai/inspect` to watch the machines in Stately's inspector, or any function.
   * Observing only: the machines behave the same with or without it.
   */
  inspect?: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
}

export interface ArchiveNode {
  readonly id: string;
  readonly actor: Actor<typeof nodeMachine>;
  readonly options: MachineOptions;
  /** Subscribe to every signal (§7 `community.*` and the node's `archive.*` observations). */
  subscribe(listener: SignalListener): () => void;
  send(event: NodeEvent): void;
  enableProtocol(): void;
  disableProtocol(): void;
  join(community: CommunityConfig): void;
  leave(communityId: string): void;
  deleteCommunity(communityId: string): void;
  setArchiveSupport(communityId: string, enabled: boolean): void;
  setImportRate(rate: ImportRate): void;
  /** Tell the node the host went offline/online (kept in its context; ports do the rest). */
  setOnline(online: boolean): void;
  /** A request-to-join response carrying a magnet link (§6.1). */
  requestToJoinResponse(communityId: string, magnetUri: string): void;
  /** Top-level state of the node: boot, disabled, enabling, enabled, disabling, failed, stopping, stopped. */
  state(): string;
  /** Cancel every task, close the torrent client (§5.3), then stop the actor. */
  stop(): Promise<void>;
  /** Stop the actor at once without touching the ports (a process death). */
  kill(): void;
}

export function createArchiveNode(args: CreateArchiveNodeArgs): ArchiveNode {
  const options = resolveOptions(args.options);
  const nodeId = args.nodeId ?? 'node';
  const bus = new SignalBus(nodeId, () => args.adapters.clock.now());
  if (args.onSignal) bus.subscribe(args.onSignal);
  const actor = createActor(nodeMachine, {
    clock: args.adapters.clock,
    ...(args.inspect ? { inspect: args.inspect } : {}),
    input: {
      nodeId,
      adapters: args.adapters,
      options,
      bus,
      communities: args.communities ?? [],
      ...(args.protocolEnabled !== undefined ? { protocolEnabled: args.protocolEnabled } : {}),
      ...(args.importRate !== undefined ? { importRate: args.importRate } : {}),
    },
  });
  actor.subscribe({
    error: (err) => {
      bus.emit({ type: 'archive.nodeFailed', error: String(err) });
    },
  });
  actor.start();
  const send = (e: NodeEvent): void => actor.send(e);
  return {
    id: nodeId,
    actor,
    options,
    subscribe: (l) => bus.subscribe(l),
    send,
    enableProtocol: () => send({ type: 'PROTOCOL.ENABLE' }),
    disableProtocol: () => send({ type: 'PROTOCOL.DISABLE' }),
    join: (community) => send({ type: 'COMMUNITY.JOIN', community }),
    leave: (communityId) => send({ type: 'COMMUNITY.LEAVE', communityId }),
    deleteCommunity: (communityId) => send({ type: 'COMMUNITY.DELETE', communityId }),
    setArchiveSupport: (communityId, enabled) =>
      send({ type: 'COMMUNITY.ARCHIVE_SUPPORT', communityId, enabled }),
    setImportRate: (rate) => send({ type: 'IMPORT_RATE', rate }),
    setOnline: (online) => send({ type: online ? 'NETWORK.ONLINE' : 'NETWORK.OFFLINE' }),
    requestToJoinResponse: (communityId, magnetUri) =>
      send({ type: 'COMMUNITY.REQUEST_TO_JOIN_RESPONSE', communityId, magnetUri }),
    state: () => {
      const v = actor.getSnapshot().value;
      return typeof v === 'string' ? v : (Object.keys(v)[0] ?? '');
    },
    stop: () =>
      new Promise<void>((resolve) => {
        if (actor.getSnapshot().status !== 'active') {
          resolve();
          return;
        }
        const sub = actor.subscribe((s) => {
          if (s.status !== 'active') {
            sub.unsubscribe();
            resolve();
          }
        });
        actor.send({ type: 'NODE.STOP' });
      }),
    kill: () => actor.stop(),
  };
}

export type { CommunityConfig, NodeSignal };
