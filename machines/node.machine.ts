// The node actor (one per Status node): protocol enabled/disabled (torrent client started
// or stopped, §8), the communities it belongs to with their settings, and one child actor
// per community with archive support on while the protocol is enabled: a control-node
// actor where this node holds the community key, a member actor otherwise. Crash and
// restart are the host's (or the simulator's): a restarted node is a new node actor whose
// state is rebuilt from storage and files.

import { assign, enqueueActions, fromPromise, setup } from 'xstate';
import type { NodeAdapters } from '../ports/index.ts';
import type { ArchiveService } from './archive-service.ts';
import { type CommunityConfig, type CommunityEnv, createCommunityEnv } from './community-env.ts';
import { contentArchiveService } from './content-archive-service.ts';
import { controlNodeMachine } from './control-node.machine.ts';
import { ImportLimiter } from './import-limiter.ts';
import { memberMachine } from './member.machine.ts';
import { type ImportRate, importStepMs, type MachineOptions } from './options.ts';
import type { SignalBus } from './signals.ts';
import { torrentArchiveService } from './torrent-archive-service.ts';

export interface NodeInput {
  nodeId: string;
  adapters: NodeAdapters;
  options: MachineOptions;
  bus: SignalBus;
  communities: CommunityConfig[];
  /** Protocol enabled at start (default true). */
  protocolEnabled?: boolean;
  importRate?: ImportRate;
}

export type NodeEvent =
  | { type: 'PROTOCOL.ENABLE' }
  | { type: 'PROTOCOL.DISABLE' }
  | { type: 'COMMUNITY.JOIN'; community: CommunityConfig }
  | { type: 'COMMUNITY.LEAVE'; communityId: string }
  | { type: 'COMMUNITY.DELETE'; communityId: string }
  | { type: 'COMMUNITY.ARCHIVE_SUPPORT'; communityId: string; enabled: boolean }
  | { type: 'COMMUNITY.REQUEST_TO_JOIN_RESPONSE'; communityId: string; magnetUri: string }
  | { type: 'IMPORT_RATE'; rate: ImportRate }
  | { type: 'NODE.FAULT'; error: string }
  /** The host's view of connectivity; the protocol itself only sees ports failing or waiting. */
  | { type: 'NETWORK.ONLINE' }
  | { type: 'NETWORK.OFFLINE' }
  | { type: 'NODE.STOP' };

interface NodeContext {
  nodeId: string;
  adapters: NodeAdapters;
  options: MachineOptions;
  bus: SignalBus;
  communities: CommunityConfig[];
  /** Environments of the running community actors, by community id. */
  envs: Record<string, CommunityEnv>;
  startedAt: number;
  rate: { current: ImportRate };
  /** One import rate limiter for the node, shared by its communities (§6.3). */
  limiter: ImportLimiter;
  protocolEnabledAtStart: boolean;
  /** Until the protocol is first enabled or found disabled: the node's own start (§5.4 waits for a store). */
  startingUp: boolean;
  online: boolean;
  error?: string;
}

/** The archive services a node runs, torrent first (an owner running both publishes both). */
function servicesOf(options: MachineOptions): readonly ArchiveService[] {
  switch (options.archiveBackends) {
    case 'torrent':
      return TORRENT_ONLY;
    case 'cid':
      return CID_ONLY;
    case 'both':
      return BOTH;
  }
}
const TORRENT_ONLY = [torrentArchiveService];
const CID_ONLY = [contentArchiveService];
const BOTH = [torrentArchiveService, contentArchiveService];

interface BackendsInput {
  adapters: NodeAdapters;
  options: MachineOptions;
}

/** Enabling the protocol starts the torrent client and/or the content store the node runs. */
function startBackends({ adapters, options }: BackendsInput): Promise<void> {
  if (options.archiveBackends === 'torrent') return adapters.torrent.start();
  return (async () => {
    if (options.archiveBackends === 'both') await adapters.torrent.start();
    if (!adapters.content)
      throw new Error('the content-addressed backend needs a content store (adapters.content)');
    await adapters.content.start();
  })();
}

function stopBackends({ adapters, options }: BackendsInput): Promise<void> {
  if (options.archiveBackends === 'torrent') return adapters.torrent.stop();
  return (async () => {
    if (options.archiveBackends === 'both') await adapters.torrent.stop();
    await adapters.content?.stop();
  })();
}

const childId = (communityId: string): string => `community:${communityId}`;

function wantsActor(c: CommunityConfig): boolean {
  return c.joined !== false && c.archiveSupport !== false;
}

/** Cancel what a community actor leaves behind: an open task, a seeded torrent. */
function closeCommunity(env: CommunityEnv): void {
  if (env.taskOpen) {
    env.taskOpen = false;
    env.bus.emit({ type: 'archive.taskEnded', communityId: env.config.id, status: 'cancelled' });
  }
  for (const service of env.services) service.close(env);
}

/**
 * The reference's start resumes the imports of every joined community; one with archives left
 * to import whose member list no longer has the node makes the start fail (switch).
 */
function startRefusal(context: NodeContext): string | undefined {
  if (!context.options.startFailsWhenNotMember) return undefined;
  for (const c of context.communities) {
    if (c.joined === false || c.member !== false) continue;
    if (!context.adapters.storage.archives(c.id).some((a) => !a.imported)) continue;
    return `start: not a member of community ${c.id}, which has archives left to import (reference: user not a member)`;
  }
  return undefined;
}

// biome-ignore lint/suspicious/noExplicitAny: XState's spawn/enqueue helper types are internal
type Spawner = (src: 'controlNode' | 'member', options: { id: string; input: { env: CommunityEnv } }) => any;

function spawnCommunities(
  context: NodeContext,
  spawn: unknown,
  self: { getSnapshot(): { context: unknown }; send(event: NodeEvent): void },
  ids: string[],
): Partial<NodeContext> {
  const envs = { ...context.envs };
  let changed = false;
  for (const id of ids) {
    const c = context.communities.find((x) => x.id === id);
    if (!c || !wantsActor(c) || envs[c.id]) continue;
    const env = createCommunityEnv({
      nodeId: context.nodeId,
      adapters: context.adapters,
      options: context.options,
      bus: context.bus,
      config: c,
      nodeStartedAt: context.startedAt,
      importLimiter: context.limiter,
      awaitStore: context.startingUp,
      lookup: (cid) => {
        const cfg = (self.getSnapshot().context as NodeContext).communities.find((x) => x.id === cid);
        return cfg !== undefined && cfg.joined !== false;
      },
      isMember: () => {
        const cfg = (self.getSnapshot().context as NodeContext).communities.find((x) => x.id === c.id);
        return cfg !== undefined && cfg.joined !== false && cfg.member !== false;
      },
      fault: (error) => self.send({ type: 'NODE.FAULT', error }),
      services: servicesOf(context.options),
    });
    (spawn as Spawner)(env.role === 'owner' ? 'controlNode' : 'member', {
      id: childId(c.id),
      input: { env },
    });
    envs[c.id] = env;
    changed = true;
  }
  return changed ? { envs } : {};
}

function stopCommunities(
  context: NodeContext,
  enqueue: { stopChild(id: string): void; assign(patch: Partial<NodeContext>): void },
  ids: string[],
): void {
  const envs = { ...context.envs };
  for (const id of ids) {
    const env = envs[id];
    if (!env) continue;
    enqueue.stopChild(childId(id));
    closeCommunity(env);
    delete envs[id];
  }
  enqueue.assign({ envs });
}

export const nodeMachine = setup({
  types: {
    context: {} as NodeContext,
    input: {} as NodeInput,
    events: {} as NodeEvent,
  },
  actors: {
    controlNode: controlNodeMachine,
    member: memberMachine,
    startClient: fromPromise<void, BackendsInput>(({ input }) => startBackends(input)),
    stopClient: fromPromise<void, BackendsInput>(({ input }) => stopBackends(input)),
  },
  guards: {
    startEnabled: ({ context }) => context.protocolEnabledAtStart,
    startRefused: ({ context }) => startRefusal(context) !== undefined,
  },
  actions: {
    spawnAll: assign(({ context, spawn, self }) =>
      spawnCommunities(
        context,
        spawn,
        self,
        context.communities.map((c) => c.id),
      ),
    ),
    spawnCommunity: assign(({ context, spawn, self }, params: { id: string }) =>
      spawnCommunities(context, spawn, self, [params.id]),
    ),
    stopCommunity: enqueueActions(({ context, enqueue }, params: { id: string }) => {
      stopCommunities(context, enqueue, [params.id]);
    }),
    stopAll: enqueueActions(({ context, enqueue }) => {
      stopCommunities(context, enqueue, Object.keys(context.envs).sort());
    }),
    join: assign(({ context, event }) => {
      if (event.type !== 'COMMUNITY.JOIN') return {};
      const others = context.communities.filter((c) => c.id !== event.community.id);
      return { communities: [...others, { ...event.community, joined: event.community.joined ?? true }] };
    }),
    leave: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'COMMUNITY.LEAVE' && event.type !== 'COMMUNITY.DELETE') return;
      const id = event.communityId;
      // §8: leaving stops the community's task; the lookup of §5.5 now fails for it.
      const communities = context.communities.map((c) => (c.id === id ? { ...c, joined: false } : c));
      enqueue.assign({
        communities: event.type === 'COMMUNITY.DELETE' ? communities.filter((c) => c.id !== id) : communities,
      });
      stopCommunities(context, enqueue, [id]);
      if (event.type === 'COMMUNITY.DELETE') context.adapters.storage.forgetCommunity(id);
    }),
    setArchiveSupport: assign(({ context, event }) => {
      if (event.type !== 'COMMUNITY.ARCHIVE_SUPPORT') return {};
      return {
        communities: context.communities.map((c) =>
          c.id === event.communityId ? { ...c, archiveSupport: event.enabled } : c,
        ),
      };
    }),
    /** One rate for the node: its limiter re-plans the chunks of every archive being imported. */
    setRate: ({ context, event }) => {
      if (event.type !== 'IMPORT_RATE' || context.rate.current === event.rate) return;
      context.rate.current = event.rate;
      context.limiter.setStep(importStepMs(context.options, event.rate, 1));
    },
    signalEnabled: ({ context }) => context.bus.emit({ type: 'community.historyArchivesProtocolEnabled' }),
    signalDisabled: ({ context }) => context.bus.emit({ type: 'community.historyArchivesProtocolDisabled' }),
  },
}).createMachine({
  id: 'node',
  context: ({ input }) => {
    const rate = input.importRate ?? input.options.importRate;
    return {
      nodeId: input.nodeId,
      adapters: input.adapters,
      options: input.options,
      bus: input.bus,
      communities: input.communities.map((c) => ({ ...c })),
      envs: {},
      startedAt: input.adapters.clock.now(),
      rate: { current: rate },
      limiter: new ImportLimiter(input.adapters.clock, importStepMs(input.options, rate, 1)),
      protocolEnabledAtStart: input.protocolEnabled !== false,
      startingUp: true,
      online: true,
    };
  },
  initial: 'boot',
  on: {
    'COMMUNITY.JOIN': { actions: 'join' },
    'COMMUNITY.LEAVE': { actions: 'leave' },
    'COMMUNITY.DELETE': { actions: 'leave' },
    'COMMUNITY.ARCHIVE_SUPPORT': { actions: 'setArchiveSupport' },
    IMPORT_RATE: { actions: 'setRate' },
    'NETWORK.ONLINE': { actions: assign({ online: true }) },
    'NETWORK.OFFLINE': { actions: assign({ online: false }) },
    'NODE.STOP': '.stopping',
  },
  states: {
    boot: {
      always: [
        // §6.4: resuming the imports of a community the node is no longer a member of fails the start
        {
          guard: 'startRefused',
          target: 'failed',
          actions: assign({ error: ({ context }) => startRefusal(context) }),
        },
        { guard: 'startEnabled', target: 'enabling' },
        { target: 'disabled' },
      ],
    },
    disabled: {
      entry: assign({ startingUp: false }),
      on: { 'PROTOCOL.ENABLE': 'enabling' },
    },
    enabling: {
      invoke: {
        src: 'startClient',
        input: ({ context }) => ({ adapters: context.adapters, options: context.options }),
        onDone: 'enabled',
        // The node lives on without the archive protocol; the host learns why.
        onError: {
          target: 'disabled',
          actions: ({ context, event }) =>
            context.bus.emit({ type: 'archive.torrentClientFailed', error: String(event.error) }),
        },
      },
    },
    enabled: {
      // control nodes started with the node wait for a store node; later starts do not
      entry: ['spawnAll', 'signalEnabled', assign({ startingUp: false })],
      on: {
        'PROTOCOL.DISABLE': 'disabling',
        'COMMUNITY.JOIN': {
          actions: ['join', { type: 'spawnCommunity', params: ({ event }) => ({ id: event.community.id }) }],
        },
        'COMMUNITY.ARCHIVE_SUPPORT': [
          {
            guard: ({ event }) => event.enabled,
            actions: [
              'setArchiveSupport',
              { type: 'spawnCommunity', params: ({ event }) => ({ id: event.communityId }) },
            ],
          },
          {
            actions: [
              'setArchiveSupport',
              { type: 'stopCommunity', params: ({ event }) => ({ id: event.communityId }) },
            ],
          },
        ],
        'COMMUNITY.REQUEST_TO_JOIN_RESPONSE': {
          actions: enqueueActions(({ context, event, enqueue }) => {
            if (!context.envs[event.communityId]) return;
            enqueue.sendTo(childId(event.communityId), {
              type: 'REQUEST_TO_JOIN.RESPONSE',
              magnetUri: event.magnetUri,
            });
          }),
        },
        'NODE.FAULT': {
          target: 'failed',
          actions: assign({ error: ({ event }) => event.error }),
        },
      },
    },
    disabling: {
      // §8: cancel every task (unseeding), close the client, then signal.
      entry: 'stopAll',
      invoke: {
        src: 'stopClient',
        input: ({ context }) => ({ adapters: context.adapters, options: context.options }),
        onDone: { target: 'disabled', actions: 'signalDisabled' },
        onError: { target: 'disabled', actions: 'signalDisabled' },
      },
    },
    /** §5.5 reference bug (switch on): the node dies; the host sees `archive.nodeFailed`. */
    failed: {
      entry: [
        'stopAll',
        ({ context }) => context.bus.emit({ type: 'archive.nodeFailed', error: context.error ?? 'fault' }),
      ],
    },
    /** §5.3: stopping the node cancels every task, then closes the torrent client. */
    stopping: {
      entry: 'stopAll',
      invoke: {
        src: 'stopClient',
        input: ({ context }) => ({ adapters: context.adapters, options: context.options }),
        onDone: 'stopped',
        onError: 'stopped',
      },
    },
    stopped: { type: 'final' },
  },
});
