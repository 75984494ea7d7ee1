// The control node's community actor (§5): start-up catch-up (§5.4: seed the existing
// torrent, ask the store for missed messages, create the missed archives at once or when
// the running interval completes), then the periodic task (§5.3) creating and seeding a
// round every interval. Seeding signals `historyArchivesSeeding`, on which the control
// node dispatches the signed magnetlink (§5.5, in community.ts `onSeeding`).
// Stopping the actor cancels the task; the node unseeds (§5.3, §8).

import { assign, fromPromise, setup } from 'xstate';
import {
  type CommunityEnv,
  createAndSeed,
  ownerStartup,
  partitionStart,
  type StartupPlan,
} from './community.ts';

export interface ControlNodeInput {
  env: CommunityEnv;
}

export interface ControlNodeContext {
  env: CommunityEnv;
  /** Range of the round to create, Unix seconds. */
  start: number;
  end: number;
  /** §5.4: Unix seconds at which the first interval since the last archive completes. */
  firstAt: number;
  rounds: number;
}

const nowS = (env: CommunityEnv): number => Math.floor(env.adapters.clock.now() / 1000);

export const controlNodeMachine = setup({
  types: {
    context: {} as ControlNodeContext,
    input: {} as ControlNodeInput,
  },
  actors: {
    startup: fromPromise<StartupPlan, { env: CommunityEnv }>(({ input, signal }) =>
      ownerStartup(input.env, signal),
    ),
    createAndSeed: fromPromise<void, { env: CommunityEnv; start: number; end: number }>(({ input }) =>
      createAndSeed(input.env, input.start, input.end),
    ),
  },
  delays: {
    interval: ({ context }) => context.env.options.archiveIntervalMs,
    untilFirst: ({ context }) => Math.max(0, context.firstAt * 1000 - context.env.adapters.clock.now()),
  },
  guards: {
    nothingToArchive: ({ context }) => partitionStart(context.env) === undefined,
    planWait: ({ event }) => (event as { output?: StartupPlan }).output?.kind === 'wait',
    planNow: ({ event }) => (event as { output?: StartupPlan }).output?.kind === 'now',
  },
}).createMachine({
  id: 'controlNode',
  context: ({ input }) => ({ env: input.env, start: 0, end: 0, firstAt: 0, rounds: 0 }),
  initial: 'starting',
  states: {
    starting: {
      invoke: {
        src: 'startup',
        input: ({ context }) => ({ env: context.env }),
        onDone: [
          {
            guard: 'planWait',
            target: 'waitingFirstRound',
            actions: assign({ firstAt: ({ event }) => (event.output.kind === 'wait' ? event.output.at : 0) }),
          },
          {
            guard: 'planNow',
            target: 'creating',
            actions: assign(({ event }) =>
              event.output.kind === 'now' ? { start: event.output.start, end: event.output.end } : {},
            ),
          },
          { target: 'periodic' },
        ],
        onError: 'periodic',
      },
    },
    /** §5.4: the interval since the last archive has not completed yet. */
    waitingFirstRound: {
      after: {
        untilFirst: {
          target: 'creating',
          actions: assign(({ context }) => ({
            start: partitionStart(context.env) ?? context.firstAt,
            end: nowS(context.env),
          })),
        },
      },
    },
    creating: {
      invoke: {
        src: 'createAndSeed',
        input: ({ context }) => ({ env: context.env, start: context.start, end: context.end }),
        onDone: { target: 'periodic', actions: assign({ rounds: ({ context }) => context.rounds + 1 }) },
        onError: 'periodic',
      },
    },
    /** §5.3: every interval, create and seed [partition start, now). */
    periodic: {
      after: {
        interval: [
          { guard: 'nothingToArchive', target: 'periodic', reenter: true },
          {
            target: 'creating',
            actions: assign(({ context }) => ({
              start: partitionStart(context.env) ?? 0,
              end: nowS(context.env),
            })),
          },
        ],
      },
    },
  },
});
