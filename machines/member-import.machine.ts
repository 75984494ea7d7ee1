// §6.3–§6.4: a member imports its downloaded-not-imported archives. It waits until the
// initial delay after the node's start has passed, then, archive by archive (oldest first),
// stops when it is no longer a member, reads and decodes the archive, signals
// `importingHistoryArchiveMessages`, hands the messages to storage in chunks at the import
// rate (one scheduled step per `importStepChunks` chunks) and marks the archive imported.
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

export interface ImportInput {
  env: CommunityEnv;
}

export interface ImportOutput {
  status: 'done' | 'notMember';
  archives: number;
  messages: number;
}

interface ImportContext {
  env: CommunityEnv;
  current?: LoadedArchive;
  pos: number;
  saved: number;
  skipped: number;
  archives: number;
  messages: number;
  status: ImportOutput['status'];
  nextId?: string;
}

function stepChunks(context: ImportContext): number {
  const o = context.env.options;
  const left = (context.current?.messages.length ?? 0) - context.pos;
  return Math.max(1, Math.min(o.importStepChunks, Math.ceil(left / o.importChunk)));
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
  },
  delays: {
    initialDelay: ({ context }) => {
      const env = context.env;
      return Math.max(0, env.nodeStartedAt + env.options.importDelayMs - env.adapters.clock.now());
    },
    step: ({ context }) => importStepMs(context.env.options, context.env.importRate(), stepChunks(context)),
    missingKey: ({ context }) => context.env.options.missingKeyRetryMs,
    corruptRetry: ({ context }) => context.env.options.corruptArchiveRetryMs,
  },
  guards: {
    lastStep: ({ context }) => {
      const o = context.env.options;
      return context.pos + stepChunks(context) * o.importChunk >= (context.current?.messages.length ?? 0);
    },
    skipCorrupt: ({ context }) => !context.env.options.retryCorruptArchiveForever,
    notMember: ({ context }) => nextArchiveToImport(context.env).kind === 'notMember',
    nothingToImport: ({ context }) => nextArchiveToImport(context.env).kind === 'none',
    missingKey: ({ event }) => isMissingKey((event as { error?: unknown }).error),
  },
  actions: {
    importStep: assign(({ context }) => {
      const o = context.env.options;
      const msgs = context.current?.messages ?? [];
      const end = Math.min(msgs.length, context.pos + stepChunks(context) * o.importChunk);
      const saved = importMessages(context.env, msgs, context.pos, end);
      return { pos: end, saved: context.saved + saved };
    }),
    markImported: assign(({ context }) => {
      const a = context.current as LoadedArchive;
      const env = context.env;
      env.adapters.storage.markArchiveImported(env.config.id, a.id);
      env.bus.emit({
        type: 'archive.archiveImported',
        communityId: env.config.id,
        id: a.id,
        messages: context.saved,
        skipped: context.skipped,
      });
      return {
        current: undefined,
        archives: context.archives + 1,
        messages: context.messages + context.saved,
      };
    }),
  },
}).createMachine({
  id: 'memberImport',
  context: ({ input }) => ({
    env: input.env,
    pos: 0,
    saved: 0,
    skipped: 0,
    archives: 0,
    messages: 0,
    status: 'done',
  }),
  initial: 'delaying',
  states: {
    delaying: {
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
          target: 'chunking',
          actions: [
            assign({
              current: ({ event }) => event.output,
              pos: 0,
              saved: 0,
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
    chunking: {
      after: {
        step: [
          { guard: 'lastStep', target: 'picking', actions: ['importStep', 'markImported'] },
          { target: 'chunking', reenter: true, actions: 'importStep' },
        ],
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
