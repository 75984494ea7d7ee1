// §6.3–§6.4: a member imports its downloaded-not-imported archives. It waits until the
// initial delay after the node's start has passed, then, archive by archive (oldest first),
// stops when it is no longer a member, reads and decodes the archive, signals
// `importingHistoryArchiveMessages`, hands the messages to storage in chunks at the import
// rate (one scheduled step per `importStepChunks` chunks) and marks the archive imported.
// The chunk steps run inside one invoked actor (`importChunks`) rather than as a
// transition each: an archive is tens to thousands of steps, and a step's only decision,
// "last chunk?", is the loop's end; leaving `importing` aborts it between two steps.
// A missing key waits `missingKeyRetryMs`; another decode failure is retried forever
// (reference quirk) or skipped for this run.

import { assign, fromPromise, setup } from 'xstate';
import {
  type CommunityEnv,
  importMessages,
  isMissingKey,
  type LoadedArchive,
  loadArchive,
  nextArchiveToImport,
  replaceRange,
} from './community.ts';
import { importStepMs } from './options.ts';
import { sleep } from './sleep.ts';

export interface ImportInput {
  env: CommunityEnv;
}

export interface ImportOutput {
  status: 'done' | 'notMember';
  archives: number;
  messages: number;
}

export interface ImportContext {
  env: CommunityEnv;
  current?: LoadedArchive;
  skipped: number;
  archives: number;
  messages: number;
  status: ImportOutput['status'];
  nextId?: string;
}

/** Ms until the initial delay after the node's start has passed (0 once it has). */
function delayLeft(env: CommunityEnv): number {
  return Math.max(0, env.nodeStartedAt + env.options.importDelayMs - env.adapters.clock.now());
}

/**
 * Hands an archive's messages to storage chunk by chunk at the node's import rate (read at
 * each step, so a rate change applies from the next one); resolves with how many were new.
 * Even an empty archive takes one step: it is marked imported one step after it was read.
 */
async function importChunks(env: CommunityEnv, archive: LoadedArchive, signal: AbortSignal): Promise<number> {
  const o = env.options;
  const msgs = archive.messages;
  let pos = 0;
  let saved = 0;
  do {
    const chunks = Math.max(1, Math.min(o.importStepChunks, Math.ceil((msgs.length - pos) / o.importChunk)));
    await sleep(env.adapters.clock, importStepMs(o, env.importRate(), chunks), signal);
    const end = Math.min(msgs.length, pos + chunks * o.importChunk);
    saved += importMessages(env, msgs, pos, end);
    pos = end;
  } while (pos < msgs.length);
  return saved;
}

export const memberImportMachine = setup({
  types: {
    context: {} as ImportContext,
    input: {} as ImportInput,
    output: {} as ImportOutput,
  },
  actors: {
    read: fromPromise<LoadedArchive, { env: CommunityEnv; id: string }>(async ({ input }) => {
      const archive = loadArchive(input.env, input.id);
      if (input.env.options.importMode === 'replace') replaceRange(input.env, archive);
      return archive;
    }),
    importChunks: fromPromise<number, { env: CommunityEnv; archive: LoadedArchive }>(({ input, signal }) =>
      importChunks(input.env, input.archive, signal),
    ),
  },
  delays: {
    initialDelay: ({ context }) => delayLeft(context.env),
    missingKey: ({ context }) => context.env.options.missingKeyRetryMs,
    corruptRetry: ({ context }) => context.env.options.corruptArchiveRetryMs,
  },
  guards: {
    delayOver: ({ context }) => delayLeft(context.env) === 0,
    skipCorrupt: ({ context }) => !context.env.options.retryCorruptArchiveForever,
    notMember: ({ context }) => nextArchiveToImport(context.env).kind === 'notMember',
    nothingToImport: ({ context }) => nextArchiveToImport(context.env).kind === 'none',
    missingKey: ({ event }) => isMissingKey((event as { error?: unknown }).error),
  },
  actions: {
    markImported: assign(({ context }, saved: number) => {
      const a = context.current as LoadedArchive;
      const env = context.env;
      env.adapters.storage.markArchiveImported(env.config.id, a.id);
      env.bus.emit({
        type: 'archive.archiveImported',
        communityId: env.config.id,
        id: a.id,
        messages: saved,
        skipped: context.skipped,
      });
      return {
        current: undefined,
        archives: context.archives + 1,
        messages: context.messages + saved,
      };
    }),
  },
}).createMachine({
  id: 'memberImport',
  context: ({ input }) => ({
    env: input.env,
    skipped: 0,
    archives: 0,
    messages: 0,
    status: 'done',
  }),
  initial: 'delaying',
  states: {
    delaying: {
      // A node up for longer than the delay (every round but the first) goes on at once
      // rather than through a zero-length timer.
      always: { guard: 'delayOver', target: 'picking' },
      after: { initialDelay: 'picking' },
    },
    picking: {
      always: [
        {
          guard: 'notMember',
          target: 'finished',
          actions: assign({ status: 'notMember' }),
        },
        {
          guard: 'nothingToImport',
          target: 'finished',
        },
        {
          target: 'reading',
          actions: assign({
            nextId: ({ context }) => {
              const n = nextArchiveToImport(context.env);
              return n.kind === 'archive' ? n.id : undefined;
            },
          }),
        },
      ],
    },
    reading: {
      invoke: {
        src: 'read',
        input: ({ context }) => ({ env: context.env, id: context.nextId as string }),
        onDone: {
          target: 'importing',
          actions: [
            assign({
              current: ({ event }) => event.output,
              skipped: ({ event }) => event.output.skipped,
            }),
            ({ context }) =>
              context.env.bus.emit({
                type: 'community.importingHistoryArchiveMessages',
                communityId: context.env.config.id,
              }),
          ],
        },
        onError: [
          {
            guard: 'missingKey',
            target: 'waitingForKey',
            actions: ({ context, event }) =>
              context.env.bus.emit({
                type: 'archive.importFailed',
                communityId: context.env.config.id,
                id: context.nextId as string,
                reason: 'missingKey',
                detail: String(event.error),
              }),
          },
          {
            target: 'corrupt',
            actions: ({ context, event }) =>
              context.env.bus.emit({
                type: 'archive.importFailed',
                communityId: context.env.config.id,
                id: context.nextId as string,
                reason: 'corrupt',
                detail: String(event.error),
              }),
          },
        ],
      },
    },
    corrupt: {
      always: {
        guard: 'skipCorrupt',
        target: 'picking',
        actions: ({ context }) => context.env.skipped.add(context.nextId as string),
      },
      after: { corruptRetry: 'picking' },
    },
    waitingForKey: {
      after: { missingKey: 'picking' },
    },
    importing: {
      invoke: {
        src: 'importChunks',
        input: ({ context }) => ({ env: context.env, archive: context.current as LoadedArchive }),
        // No onError: a storage failure rejects it and fails this actor, and its parents, as
        // an error in a step's action did when each step was a transition.
        onDone: {
          target: 'picking',
          actions: { type: 'markImported', params: ({ event }) => event.output },
        },
      },
    },
    finished: { type: 'final' },
  },
  output: ({ context }) => ({
    status: context.status,
    archives: context.archives,
    messages: context.messages,
  }),
});
