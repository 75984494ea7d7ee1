// §6.2: a member downloads the archives a magnetlink points to. Metadata with a timeout
// and retries, the `index` file first, the "no new archives" check, then every missing
// archive in ascending `from` order by piece range, then the seeding signal.
// Leaving any state aborts the port call it waits on (fromPromise's AbortSignal).

import { assign, fromPromise, setup } from 'xstate';
import type { TorrentMetadata } from '../ports/index.ts';
import {
  type CommunityEnv,
  fetchArchive,
  fetchIndex,
  fetchMetadata,
  type IndexEntry,
  MalformedTorrent,
  memberSeeding,
  planDownload,
} from './community.ts';
import type { TaskStatus } from './signals.ts';

export interface DownloadInput {
  env: CommunityEnv;
  magnetUri: string;
}

export interface DownloadOutput {
  status: Extract<TaskStatus, 'done' | 'noNewArchives' | 'timeout' | 'malformed' | 'error'>;
  downloaded: number;
  detail?: string;
}

export interface DownloadContext {
  env: CommunityEnv;
  magnetUri: string;
  attempt: number;
  plan: IndexEntry[];
  next: number;
  status: DownloadOutput['status'];
  detail?: string;
}

export const memberDownloadMachine = setup({
  types: {
    context: {} as DownloadContext,
    input: {} as DownloadInput,
    output: {} as DownloadOutput,
  },
  actors: {
    metadata: fromPromise<TorrentMetadata, { env: CommunityEnv; magnetUri: string }>(({ input, signal }) =>
      fetchMetadata(input.env, input.magnetUri, signal),
    ),
    index: fromPromise<IndexEntry[], { env: CommunityEnv }>(({ input, signal }) =>
      fetchIndex(input.env, signal),
    ),
    archive: fromPromise<void, { env: CommunityEnv; entry: IndexEntry }>(({ input, signal }) =>
      fetchArchive(input.env, input.entry, signal),
    ),
    seeding: fromPromise<void, { env: CommunityEnv }>(({ input }) => memberSeeding(input.env)),
  },
  delays: {
    metadataTimeout: ({ context }) => context.env.options.metadataTimeoutMs,
  },
  guards: {
    mayRetry: ({ context }) => context.attempt < context.env.options.metadataRetries,
    nothingNew: ({ context }) => context.plan.length === 0,
    moreArchives: ({ context }) => context.next < context.plan.length,
  },
  actions: {
    signalStarted: ({ context }) =>
      context.env.bus.emit({
        type: 'community.downloadingHistoryArchivesStarted',
        communityId: context.env.config.id,
      }),
  },
}).createMachine({
  id: 'memberDownload',
  context: ({ input }) => ({
    env: input.env,
    magnetUri: input.magnetUri,
    attempt: 0,
    plan: [],
    next: 0,
    status: 'done',
  }),
  initial: 'metadata',
  states: {
    metadata: {
      invoke: {
        src: 'metadata',
        input: ({ context }) => ({ env: context.env, magnetUri: context.magnetUri }),
        onDone: { target: 'index' },
        onError: {
          target: 'finished',
          actions: assign({
            status: ({ event }) => (event.error instanceof MalformedTorrent ? 'malformed' : 'error'),
            detail: ({ event }) => String(event.error),
          }),
        },
      },
      after: {
        metadataTimeout: [
          {
            guard: 'mayRetry',
            target: 'metadata',
            reenter: true,
            actions: assign({ attempt: ({ context }) => context.attempt + 1 }),
          },
          { target: 'finished', actions: assign({ status: 'timeout' }) },
        ],
      },
    },
    index: {
      invoke: {
        src: 'index',
        input: ({ context }) => ({ env: context.env }),
        onDone: {
          target: 'planned',
          actions: assign({ plan: ({ context, event }) => planDownload(context.env, event.output) }),
        },
        onError: {
          target: 'finished',
          actions: assign({
            status: ({ event }) => (event.error instanceof MalformedTorrent ? 'malformed' : 'error'),
            detail: ({ event }) => String(event.error),
          }),
        },
      },
    },
    planned: {
      always: [
        { guard: 'nothingNew', target: 'finished', actions: assign({ status: 'noNewArchives' }) },
        { target: 'archives', actions: 'signalStarted' },
      ],
    },
    archives: {
      invoke: {
        src: 'archive',
        input: ({ context }) => ({ env: context.env, entry: context.plan[context.next] as IndexEntry }),
        onDone: { target: 'nextArchive', actions: assign({ next: ({ context }) => context.next + 1 }) },
        onError: {
          target: 'finished',
          actions: assign({ status: 'error', detail: ({ event }) => String(event.error) }),
        },
      },
    },
    nextArchive: {
      always: [{ guard: 'moreArchives', target: 'archives' }, { target: 'seeding' }],
    },
    seeding: {
      invoke: {
        src: 'seeding',
        input: ({ context }) => ({ env: context.env }),
        onDone: { target: 'finished', actions: assign({ status: 'done' }) },
        onError: {
          target: 'finished',
          actions: assign({
            status: 'error',
            detail: ({ event }) => String(event.error),
          }),
        },
      },
    },
    finished: { type: 'final' },
  },
  output: ({ context }) => ({
    status: context.status,
    downloaded: context.next,
    ...(context.detail !== undefined ? { detail: context.detail } : {}),
  }),
});
