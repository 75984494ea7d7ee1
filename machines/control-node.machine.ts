// The control node's community actor (§5). On start (§5.4) it waits for a store node when
// the node itself is starting, seeds the torrent it already has and announces it, catches up
// with the store, and either creates the missed round at once, waits for the running
// interval to complete (seeding and announcing its torrent once more first, as the
// reference does), or goes straight to the periodic task (§5.3), which creates a round
// every interval; a failed catch-up leaves it without a task (reference quirk; see
// docs/reference-behaviour.md §2). A round is create → seed → dispatch: the
// seeding signal goes to the host, the community is looked up and the signed magnetlink is
// sent (§5.5). Every port call is an effect whose outcome comes back as an event
// (machines/effects.ts). Stopping the actor cancels the task; the node unseeds (§5.3, §8).

import { assign, setup } from 'xstate';
import { catchUp, createRound, partitionStart, type StartupPlan } from './archive-rounds.ts';
import { type CommunityEnv, nowSeconds } from './community-env.ts';
import { cancelEffect, type EffectEvent, slotLifetime, startEffect } from './effects.ts';
import { announceSeeding, seedArchives } from './seeding.ts';

export interface ControlNodeInput {
  env: CommunityEnv;
}

type ControlNodeEvent =
  | EffectEvent<'STORE', void>
  | EffectEvent<'SEED', boolean>
  | EffectEvent<'DISPATCH', void>
  | EffectEvent<'CATCH_UP', StartupPlan>
  | EffectEvent<'CREATE', void>;

export interface ControlNodeContext {
  env: CommunityEnv;
  /** Range of the round to create, Unix seconds. */
  start: number;
  end: number;
  /** §5.4: Unix seconds at which the first interval since the last archive completes. */
  firstAt: number;
}

/**
 * The actor stopped (the owner left, the protocol was disabled) while a round was being
 * created or seeded: like the reference's createAndSeed, the work runs to its end, and its
 * seeding signal still goes through §5.5 (the lookup now fails: skipped, or the reference's
 * crash with the switch on).
 */
const orphanedSeed =
  (env: CommunityEnv) =>
  (seeded: boolean): void => {
    if (seeded) announceSeeding(env).catch(() => {});
  };

const plan = (event: ControlNodeEvent): StartupPlan | undefined =>
  event.type === 'CATCH_UP.DONE' ? event.output : undefined;

export const controlNodeMachine = setup({
  types: {
    context: {} as ControlNodeContext,
    input: {} as ControlNodeInput,
    events: {} as ControlNodeEvent,
  },
  actors: { slotLifetime },
  delays: {
    interval: ({ context }) => context.env.options.archiveIntervalMs,
    untilFirst: ({ context }) => Math.max(0, context.firstAt * 1000 - context.env.adapters.clock.now()),
  },
  guards: {
    nothingToArchive: ({ context }) => partitionStart(context.env) === undefined,
    seeded: ({ event }) => event.type === 'SEED.DONE' && event.output,
    mustAwaitStore: ({ context }) => context.env.awaitStore,
    planNoTask: ({ event }) => plan(event)?.kind === 'noTask',
    planWaitSeedAgain: ({ context, event }) =>
      plan(event)?.kind === 'wait' && context.env.options.seedTwiceAtStartup,
    planWait: ({ event }) => plan(event)?.kind === 'wait',
    planNow: ({ event }) => plan(event)?.kind === 'now',
    failureStopsArchiving: ({ context }) => context.env.options.storeFailureStopsArchiving,
  },
  actions: {
    awaitStore: ({ context, self }) =>
      startEffect(context.env.effects, self, 'STORE', (signal) =>
        context.env.adapters.messaging.whenStoreAvailable(signal),
      ),
    firstRoundAt: assign({
      firstAt: ({ event }) =>
        event.type === 'CATCH_UP.DONE' && event.output.kind === 'wait' ? event.output.at : 0,
    }),
    seed: ({ context, self }) =>
      startEffect(
        context.env.effects,
        self,
        'SEED',
        () => seedArchives(context.env),
        orphanedSeed(context.env),
      ),
    dispatch: ({ context, self }) =>
      startEffect(context.env.effects, self, 'DISPATCH', () => announceSeeding(context.env)),
    catchUp: ({ context, self }) =>
      startEffect(context.env.effects, self, 'CATCH_UP', (signal) => catchUp(context.env, signal)),
    createRound: ({ context, self }) =>
      startEffect(
        context.env.effects,
        self,
        'CREATE',
        () => createRound(context.env, context.start, context.end),
        () => void seedArchives(context.env).then(orphanedSeed(context.env), () => {}),
      ),
    cancel: ({ context }) => cancelEffect(context.env.effects),
    roundFromPartitionStart: assign(({ context }) => ({
      start: partitionStart(context.env) ?? context.firstAt,
      end: nowSeconds(context.env),
    })),
  },
}).createMachine({
  id: 'controlNode',
  context: ({ input }) => ({ env: input.env, start: 0, end: 0, firstAt: 0 }),
  invoke: { src: 'slotLifetime', input: ({ context }) => ({ slot: context.env.effects }) },
  initial: 'starting',
  states: {
    /** §5.4. */
    starting: {
      initial: 'opening',
      states: {
        opening: {
          always: [{ guard: 'mustAwaitStore', target: 'awaitingStore' }, { target: 'seedingExisting' }],
        },
        /** The node's own start waits for its first connection to a store node. */
        awaitingStore: {
          entry: 'awaitStore',
          exit: 'cancel',
          on: { 'STORE.DONE': 'seedingExisting', 'STORE.FAILED': 'seedingExisting' },
        },
        /** Step 1: the torrent file of an earlier round, if any (a failure is only logged). */
        seedingExisting: {
          entry: 'seed',
          exit: 'cancel',
          on: {
            'SEED.DONE': [{ guard: 'seeded', target: 'dispatching' }, { target: 'catchingUp' }],
            'SEED.FAILED': 'catchingUp',
          },
        },
        dispatching: {
          entry: 'dispatch',
          exit: 'cancel',
          on: { 'DISPATCH.DONE': 'catchingUp', 'DISPATCH.FAILED': 'catchingUp' },
        },
        /** Steps 2–4: missed messages from the store, then when the first round is due. */
        catchingUp: {
          entry: 'catchUp',
          exit: 'cancel',
          on: {
            'CATCH_UP.DONE': [
              { guard: 'planNoTask', target: '#controlNode.withoutTask' },
              { guard: 'planWaitSeedAgain', target: 'seedingAgain', actions: 'firstRoundAt' },
              { guard: 'planWait', target: '#controlNode.waitingFirstRound', actions: 'firstRoundAt' },
              {
                guard: 'planNow',
                target: '#controlNode.round',
                actions: assign(({ event }) =>
                  event.output.kind === 'now' ? { start: event.output.start, end: event.output.end } : {},
                ),
              },
              { target: '#controlNode.periodic' },
            ],
            'CATCH_UP.FAILED': [
              { guard: 'failureStopsArchiving', target: '#controlNode.withoutTask' },
              { target: '#controlNode.periodic' },
            ],
          },
        },
        /** The interval is not over: the reference seeds the current torrent once more (quirk). */
        seedingAgain: {
          entry: 'seed',
          exit: 'cancel',
          on: {
            'SEED.DONE': [
              { guard: 'seeded', target: 'dispatchingAgain' },
              { target: '#controlNode.waitingFirstRound' },
            ],
            'SEED.FAILED': '#controlNode.waitingFirstRound',
          },
        },
        dispatchingAgain: {
          entry: 'dispatch',
          exit: 'cancel',
          on: {
            'DISPATCH.DONE': '#controlNode.waitingFirstRound',
            'DISPATCH.FAILED': '#controlNode.waitingFirstRound',
          },
        },
      },
    },
    /** §5.4 quirk: the catch-up failed; no round is created until the actor starts again. */
    withoutTask: {},
    /** §5.4: the interval since the last archive has not completed yet. */
    waitingFirstRound: {
      after: { untilFirst: { target: 'round', actions: 'roundFromPartitionStart' } },
    },
    /** createAndSeed (§5.2) over [start, end), then the dispatch of §5.5. */
    round: {
      initial: 'creating',
      states: {
        creating: {
          entry: 'createRound',
          exit: 'cancel',
          on: { 'CREATE.DONE': 'seeding', 'CREATE.FAILED': '#controlNode.periodic' },
        },
        seeding: {
          entry: 'seed',
          exit: 'cancel',
          on: {
            'SEED.DONE': [{ guard: 'seeded', target: 'dispatching' }, { target: '#controlNode.periodic' }],
            'SEED.FAILED': '#controlNode.periodic',
          },
        },
        dispatching: {
          entry: 'dispatch',
          exit: 'cancel',
          on: { 'DISPATCH.DONE': '#controlNode.periodic', 'DISPATCH.FAILED': '#controlNode.periodic' },
        },
      },
    },
    /** §5.3: every interval, create and seed [partition start, now). */
    periodic: {
      after: {
        interval: [
          { guard: 'nothingToArchive', target: 'periodic', reenter: true },
          {
            target: 'round',
            actions: assign(({ context }) => ({
              start: partitionStart(context.env) ?? 0,
              end: nowSeconds(context.env),
            })),
          },
        ],
      },
    },
  },
});
