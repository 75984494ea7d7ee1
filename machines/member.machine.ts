// A member's community actor (§6), one for the whole life of the node's membership: it
// listens on the community's magnetlink channel, applies the §6.1 guards and runs one
// download+import task at a time. A newer accepted link cancels the running task; a
// request-to-join response carrying a link starts one without the clock check; on start,
// an unfinished import resumes (§6.4).
//
//   task.downloading (§6.2): metadata (20 s timeout, one retry) → index (no `index` file =
//     malformed; on the index read, the count-compare quirk and the download policy: "no new
//     archives" goes to the import) → archives (ascending `from`, by piece range, each
//     recorded and signalled) → seeding; a node no longer a member then does not import
//   task.importing (§6.3): delaying (until 5 min after the node started) → ticking (each pass
//     of the import loop starts on its 100 ms ticker) → picking (not a member → stop; the
//     first downloaded-not-imported archive) → reading (missing key → waitingForKey 1 h;
//     another failure → corrupt: retried on the next tick, forever by default; an empty
//     archive is imported at once) → chunks (the node's limiter plans every chunk's slot,
//     shared with the node's other imports, on one timer) → ticking. Leaving it signals
//     downloading-finished, however it ends (docs/reference-behaviour.md §4).
//
// Every port call is an effect whose outcome comes back as an event (machines/effects.ts);
// leaving the state that waits for it aborts it. A round therefore costs no new actors.

import { and, assign, setup } from 'xstate';
import type { ArchiveService, PlannedArchive } from './archive-service.ts';
import { type CommunityEnv, MalformedTorrent } from './community-env.ts';
import { type DownloadPlan, memberSeeding, planDownload } from './download-effects.ts';
import { cancelEffect, type EffectEvent, slotLifetime, startEffect } from './effects.ts';
import {
  chunksOf,
  importMessages,
  isMissingKey,
  type LoadedArchive,
  messagesInChunks,
  nextArchiveToImport,
  readArchive,
} from './import-effects.ts';
import { ImportSchedule } from './import-schedule.ts';
import {
  ignoreReason,
  linkKind,
  magnetlinkHistory,
  magnetlinkListener,
  type ReceivedLink,
  serviceFor,
} from './magnetlink-receiver.ts';
import type { TaskStatus } from './signals.ts';

export { ignoreReason } from './magnetlink-receiver.ts';

export interface MemberInput {
  env: CommunityEnv;
}

export type LinkSource = 'magnetlink' | 'requestToJoin' | 'resume';

export type MemberEvent =
  | ReceivedLink
  | { type: 'REQUEST_TO_JOIN.RESPONSE'; magnetUri: string }
  | EffectEvent<'METADATA', unknown>
  | EffectEvent<'INDEX', DownloadPlan>
  | EffectEvent<'ARCHIVE', void>
  | { type: 'ARCHIVES.DONE'; output: undefined }
  | EffectEvent<'SEEDING', void>
  | EffectEvent<'READ', LoadedArchive>
  | EffectEvent<'CHUNKS', void>;

export interface MemberContext {
  env: CommunityEnv;
  /** Link of the running (or pending) task. */
  link?: string;
  source: LinkSource;
  taskStatus?: TaskStatus;
  taskDetail?: string;
  /** Metadata attempts after the first (§6.2 step 1: one retry). */
  attempt: number;
  /** Archives to download, ascending `from`, and the next one. */
  plan: PlannedArchive[];
  next: number;
  /** The archive being imported and when its chunks are handed over. */
  current?: LoadedArchive;
  schedule?: ImportSchedule;
  /** Messages of `current` handed over so far. */
  handed: number;
  /** The archive `reading` reads. */
  nextId?: string;
  /** The import loop's ticker: when it started and the last tick a pass took. */
  tickOrigin: number;
  ticksTaken: number;
  /** This import's downloading-finished went out. */
  finishedSignalled: boolean;
}

/** Ms until the initial delay after the node's start has passed (0 once it has). */
function delayLeft(env: CommunityEnv): number {
  return Math.max(0, env.nodeStartedAt + env.options.importDelayMs - env.adapters.clock.now());
}

const failure = (event: MemberEvent): unknown => ('error' in event ? event.error : undefined);

/**
 * Messages of the current archive whose chunks are due by now; all of them once the limiter
 * said the last slot came (`CHUNKS.DONE`: a real clock's timer may fire a millisecond before
 * its wall-clock time).
 */
function dueMessages(context: MemberContext, event: MemberEvent): number {
  const { env, current, schedule } = context;
  if (!current || !schedule) return context.handed;
  if (event.type === 'CHUNKS.DONE') return current.messages.length;
  return messagesInChunks(current, schedule.doneBy(env.adapters.clock.now()), env.options.importChunk);
}

/** The import loop's ticks passed by now since its ticker started. */
function ticksBy(context: MemberContext): number {
  const { env } = context;
  return Math.floor((env.adapters.clock.now() - context.tickOrigin) / env.options.importTickMs);
}

/** The service of the task's link (the link was accepted, so the node runs its backend). */
function taskService(context: MemberContext): ArchiveService {
  const kind = linkKind(context.link ?? '');
  const service = serviceFor(context.env, kind);
  if (!service) throw new Error(`no ${kind} backend for the task's link`);
  return service;
}

/**
 * The archive phase of a content-addressed task: every missing archive at once, newest
 * first, as the reference; a fetch that fails is only signalled (`archive.cidFetchFailed`),
 * the archive is simply not downloaded this time.
 */
async function fetchAllArchives(context: MemberContext, signal: AbortSignal): Promise<void> {
  const service = taskService(context);
  const newestFirst = [...context.plan].reverse();
  await Promise.allSettled(newestFirst.map((a) => service.fetchArchive(context.env, a, signal)));
}

const loaded = (event: MemberEvent): LoadedArchive | undefined =>
  event.type === 'READ.DONE' ? event.output : undefined;

export const memberMachine = setup({
  types: {
    context: {} as MemberContext,
    input: {} as MemberInput,
    events: {} as MemberEvent,
  },
  actors: { magnetlinkListener, magnetlinkHistory, slotLifetime },
  delays: {
    quiet: ({ context }) => context.env.options.magnetlinkWaitMs,
    metadataTimeout: ({ context }) => context.env.options.metadataTimeoutMs,
    cidIndexTimeout: ({ context }) => context.env.options.cidIndexTimeoutMs,
    cidArchivePhase: ({ context }) => context.env.options.cidArchivePhaseTimeoutMs,
    initialDelay: ({ context }) => delayLeft(context.env),
    missingKey: ({ context }) => context.env.options.missingKeyRetryMs,
    corruptRetry: ({ context }) => context.env.options.corruptArchiveRetryMs,
    nextTick: ({ context }) =>
      context.tickOrigin +
      (context.ticksTaken + 1) * context.env.options.importTickMs -
      context.env.adapters.clock.now(),
  },
  guards: {
    accept: ({ context, event }) =>
      event.type === 'MAGNETLINK' && ignoreReason(context.env, event) === undefined,
    waitQuiet: ({ context }) => context.env.options.magnetlinkWaitMs > 0,
    /** A request-to-join response's link: the node runs its backend and that backend runs. */
    clientRunning: ({ context, event }) => {
      if (event.type !== 'REQUEST_TO_JOIN.RESPONSE') return false;
      return serviceFor(context.env, linkKind(event.magnetUri))?.running(context.env) ?? false;
    },
    cidTask: ({ context }) => linkKind(context.link ?? '') === 'cid',
    archivePhaseTimer: ({ context }) => context.env.options.cidArchivePhaseTimeout,
    pendingImport: ({ context }) => nextArchiveToImport(context.env).kind === 'archive',
    malformed: ({ event }) => failure(event) instanceof MalformedTorrent,
    mayRetry: ({ context }) => context.attempt < context.env.options.metadataRetries,
    nothingNew: ({ event }) => event.type === 'INDEX.DONE' && event.output.nothingNew,
    emptyPlan: ({ event }) => event.type === 'INDEX.DONE' && event.output.archives.length === 0,
    moreArchives: ({ context }) => context.next + 1 < context.plan.length,
    delayOver: ({ context }) => delayLeft(context.env) === 0,
    tickPending: ({ context }) => ticksBy(context) > context.ticksTaken,
    notMember: ({ context }) => !context.env.isMember(),
    nothingToImport: ({ context }) => nextArchiveToImport(context.env).kind === 'none',
    emptyArchive: ({ context, event }) => {
      const a = loaded(event);
      return a !== undefined && chunksOf(a, context.env.options.importChunk) === 0;
    },
    missingKey: ({ event }) => isMissingKey(failure(event)),
    skipCorrupt: ({ context }) => !context.env.options.retryCorruptArchiveForever,
    /** The running task's own link again, and the switch says to let that task go on. */
    keepRunningTask: ({ context, event }) =>
      event.type === 'MAGNETLINK' &&
      !context.env.options.restartTaskOnSameLink &&
      event.magnetUri === context.link &&
      ignoreReason(context.env, event) === undefined,
    retryOnTick: ({ context }) => context.env.options.corruptArchiveRetryMs === 0,
  },
  actions: {
    noteLink: ({ context, event }) => {
      if (event.type !== 'MAGNETLINK') return;
      const reason = ignoreReason(context.env, event);
      context.env.bus.emit({
        type: 'archive.magnetlinkReceived',
        communityId: context.env.config.id,
        signer: event.signer,
        clock: event.clock,
        magnetUri: event.magnetUri,
        accepted: reason === undefined,
        ...(reason !== undefined ? { reason } : {}),
        ...(event.kind === 'cid' ? { kind: 'cid' as const } : {}),
      });
    },
    /** §6.1: the clock is stored at once, before the download finishes. */
    storeClock: ({ context, event }) => {
      if (event.type !== 'MAGNETLINK') return;
      context.env.adapters.storage.updateArchiveState(
        context.env.config.id,
        event.kind === 'cid' ? { indexCidClock: event.clock } : { magnetlinkClock: event.clock },
      );
    },
    takeLink: assign(({ event }) =>
      event.type === 'MAGNETLINK' || event.type === 'REQUEST_TO_JOIN.RESPONSE'
        ? { link: event.magnetUri, source: event.type === 'MAGNETLINK' ? 'magnetlink' : 'requestToJoin' }
        : {},
    ),
    taskStarted: assign(({ context }) => {
      context.env.taskOpen = true;
      if (context.link !== undefined) context.env.taskBackend = linkKind(context.link);
      context.env.bus.emit({
        type: 'archive.taskStarted',
        communityId: context.env.config.id,
        magnetUri: context.link ?? '',
        source: context.source,
      });
      return {
        taskStatus: undefined,
        taskDetail: undefined,
        attempt: 0,
        plan: [],
        next: 0,
        current: undefined,
        schedule: undefined,
        handed: 0,
      };
    }),
    taskEnded: ({ context }) => {
      context.env.taskOpen = false;
      context.env.taskBackend = undefined;
      context.env.bus.emit({
        type: 'archive.taskEnded',
        communityId: context.env.config.id,
        status: context.taskStatus ?? 'cancelled',
        ...(context.taskDetail !== undefined ? { detail: context.taskDetail } : {}),
      });
    },
    cancel: ({ context }) => cancelEffect(context.env.effects),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    signalCidRetry: ({ context }) =>
      context.env.bus.emit({
        type: 'archive.cidDownloadRetried',
        communityId: context.env.config.id,
        attempt: context.attempt,
      }),
    failed: assign(({ event }, status: 'malformed' | 'error' | 'timeout') => {
      const error = failure(event);
      return { taskStatus: status, ...(error !== undefined ? { taskDetail: String(error) } : {}) };
    }),
    storeLastSeen: ({ context }) => {
      const link = context.link;
      if (link === undefined) return;
      context.env.adapters.storage.updateArchiveState(
        context.env.config.id,
        linkKind(link) === 'cid' ? { lastSeenIndexCid: link } : { lastSeenMagnetlink: link },
      );
    },
    signalStarted: ({ context }) =>
      context.env.bus.emit({
        type: 'community.downloadingHistoryArchivesStarted',
        communityId: context.env.config.id,
      }),
    signalFinished: assign(({ context }) => {
      context.env.bus.emit({
        type: 'community.downloadingHistoryArchivesFinished',
        communityId: context.env.config.id,
      });
      return { finishedSignalled: true };
    }),
    /** Leaving the import: the reference signals finished whatever ended it (switch). */
    importEnded: ({ context }) => {
      if (context.finishedSignalled || !context.env.options.finishedOnAnyImportEnd) return;
      context.env.bus.emit({
        type: 'community.downloadingHistoryArchivesFinished',
        communityId: context.env.config.id,
      });
    },
    startTicker: assign(({ context }) => ({
      tickOrigin: context.env.adapters.clock.now(),
      ticksTaken: 0,
      finishedSignalled: false,
    })),
    takeTick: assign({ ticksTaken: ({ context }) => ticksBy(context) }),

    // --- download effects
    fetchMetadata: ({ context, self }) =>
      startEffect(context.env.effects, self, 'METADATA', (signal) =>
        taskService(context).open(context.env, context.link ?? '', signal),
      ),
    /** Steps 2–4: the index, read, and which of its archives to fetch. */
    fetchIndex: ({ context, self }) =>
      startEffect(context.env.effects, self, 'INDEX', async (signal) =>
        planDownload(
          context.env,
          await taskService(context).loadIndex(context.env, context.link ?? '', signal),
        ),
      ),
    keepPlan: assign({ plan: ({ event }) => (event.type === 'INDEX.DONE' ? event.output.archives : []) }),
    fetchArchive: ({ context, self }) =>
      startEffect(context.env.effects, self, 'ARCHIVE', (signal) =>
        taskService(context).fetchArchive(context.env, context.plan[context.next] as PlannedArchive, signal),
      ),
    fetchAllArchives: ({ context, self }) =>
      startEffect(context.env.effects, self, 'ARCHIVES', (signal) => fetchAllArchives(context, signal)),
    // The seeding signal of §6.2 step 6 goes out (within memberSeeding) even when the task is
    // gone by then, as the control node's does.
    seed: ({ context, self }) =>
      startEffect(context.env.effects, self, 'SEEDING', () =>
        memberSeeding(context.env, taskService(context), context.link ?? ''),
      ),

    // --- import effects
    readArchive: ({ context, self }) =>
      startEffect(context.env.effects, self, 'READ', () =>
        readArchive(context.env, context.nextId as string),
      ),
    importFailed: ({ context, event }, reason: 'missingKey' | 'corrupt') =>
      context.env.bus.emit({
        type: 'archive.importFailed',
        communityId: context.env.config.id,
        id: context.nextId as string,
        reason,
        detail: String(failure(event)),
      }),
    keepArchive: assign({ current: ({ event }) => loaded(event) }),
    signalImporting: ({ context }) =>
      context.env.bus.emit({
        type: 'community.importingHistoryArchiveMessages',
        communityId: context.env.config.id,
      }),
    /** The node's limiter plans the slot of every chunk of the archive (one timer for all). */
    planChunks: assign(({ context }) => {
      const archive = context.current as LoadedArchive;
      return { schedule: new ImportSchedule(chunksOf(archive, context.env.options.importChunk)), handed: 0 };
    }),
    awaitChunks: ({ context, self }) => {
      const { env, schedule } = context;
      if (schedule)
        startEffect(env.effects, self, 'CHUNKS', (signal) => env.importLimiter.run(schedule, signal));
    },
    /** Leaving the chunks (the last one handed over, or cancelled): storage gets the chunks due by now. */
    handChunksDue: ({ context, event }) => {
      const { env, current } = context;
      if (current) importMessages(env, current.messages, context.handed, dueMessages(context, event));
    },
    countHanded: assign({
      handed: ({ context, event }) => Math.max(context.handed, dueMessages(context, event)),
    }),
    markImported: ({ context }) => {
      const a = context.current as LoadedArchive;
      const env = context.env;
      env.adapters.storage.markArchiveImported(env.config.id, a.id);
      env.bus.emit({
        type: 'archive.archiveImported',
        communityId: env.config.id,
        id: a.id,
        messages: context.handed,
        skipped: a.skipped,
      });
    },
    forgetArchive: assign({ current: undefined, schedule: undefined, handed: 0 }),
  },
}).createMachine({
  id: 'member',
  context: ({ input }) => ({
    env: input.env,
    source: 'magnetlink',
    attempt: 0,
    plan: [],
    next: 0,
    handed: 0,
    tickOrigin: 0,
    ticksTaken: 0,
    finishedSignalled: false,
  }),
  invoke: [
    { src: 'magnetlinkListener', input: ({ context }) => ({ env: context.env }) },
    { src: 'magnetlinkHistory', input: ({ context }) => ({ env: context.env }) },
    { src: 'slotLifetime', input: ({ context }) => ({ slot: context.env.effects }) },
  ],
  initial: 'starting',
  states: {
    starting: {
      always: [
        {
          guard: 'pendingImport',
          target: 'task.importing',
          actions: assign({ source: 'resume', link: undefined }),
        },
        { target: 'idle' },
      ],
    },
    idle: {
      on: {
        MAGNETLINK: [
          {
            guard: and(['accept', 'waitQuiet']),
            actions: ['noteLink', 'storeClock', 'takeLink'],
            target: 'quiet',
          },
          { guard: 'accept', actions: ['noteLink', 'storeClock', 'takeLink'], target: 'task' },
          { actions: 'noteLink' },
        ],
        'REQUEST_TO_JOIN.RESPONSE': { guard: 'clientRunning', actions: 'takeLink', target: 'task' },
      },
    },
    /** Spec §9: act 20 s after the last magnetlink; each accepted one restarts the wait. */
    quiet: {
      after: { quiet: 'task' },
      on: {
        MAGNETLINK: [
          {
            guard: 'accept',
            actions: ['noteLink', 'storeClock', 'takeLink'],
            target: 'quiet',
            reenter: true,
          },
          { actions: 'noteLink' },
        ],
        'REQUEST_TO_JOIN.RESPONSE': { guard: 'clientRunning', actions: 'takeLink', target: 'task' },
      },
    },
    task: {
      entry: 'taskStarted',
      exit: ['cancel', 'taskEnded'],
      initial: 'downloading',
      on: {
        // A newer accepted link cancels the running task (leaving `task` aborts its wait).
        MAGNETLINK: [
          { guard: 'keepRunningTask', actions: ['noteLink', 'storeClock'] },
          {
            guard: and(['accept', 'waitQuiet']),
            actions: ['noteLink', 'storeClock', 'takeLink'],
            target: 'quiet',
          },
          {
            guard: 'accept',
            actions: ['noteLink', 'storeClock', 'takeLink'],
            target: 'task',
            reenter: true,
          },
          { actions: 'noteLink' },
        ],
        'REQUEST_TO_JOIN.RESPONSE': {
          guard: 'clientRunning',
          actions: 'takeLink',
          target: 'task',
          reenter: true,
        },
      },
      states: {
        /** §6.2. */
        downloading: {
          initial: 'opening',
          states: {
            /** The link's kind picks the path: a magnet's metadata first, or straight to an index cid. */
            opening: {
              always: [{ guard: 'cidTask', target: 'cidIndex' }, { target: 'metadata' }],
            },
            /** Step 1: stop seeding, add the magnet, wait for the metadata (20 s, one retry). */
            metadata: {
              entry: 'fetchMetadata',
              on: {
                'METADATA.DONE': 'index',
                'METADATA.FAILED': [
                  {
                    guard: 'malformed',
                    target: '#member.task.ended',
                    actions: { type: 'failed', params: 'malformed' },
                  },
                  { target: '#member.task.ended', actions: { type: 'failed', params: 'error' } },
                ],
              },
              after: {
                metadataTimeout: [
                  { guard: 'mayRetry', target: 'metadata', reenter: true, actions: 'countAttempt' },
                  { target: '#member.task.ended', actions: assign({ taskStatus: 'timeout' }) },
                ],
              },
            },
            /** Steps 2–3: the `index` file, downloaded whole and decoded. */
            index: {
              entry: 'fetchIndex',
              on: {
                // Step 4 (and the §9 policy), on the index just read: "no new archives" goes
                // to the import (or nowhere, off the member list); past the test the download
                // is signalled even when nothing is missing (quirk).
                'INDEX.DONE': [
                  {
                    guard: and(['nothingNew', 'notMember']),
                    target: '#member.task.ended',
                    actions: ['storeLastSeen', assign({ taskStatus: 'notMember' })],
                  },
                  {
                    guard: 'nothingNew',
                    target: '#member.task.importing',
                    actions: ['storeLastSeen', assign({ taskStatus: 'noNewArchives' })],
                  },
                  { guard: 'emptyPlan', target: 'seeding', actions: ['keepPlan', 'signalStarted'] },
                  { target: 'archives', actions: ['keepPlan', 'signalStarted'] },
                ],
                'INDEX.FAILED': [
                  {
                    guard: 'malformed',
                    target: '#member.task.ended',
                    actions: { type: 'failed', params: 'malformed' },
                  },
                  { target: '#member.task.ended', actions: { type: 'failed', params: 'error' } },
                ],
              },
            },
            /** §11.1: the index by its cid, within the reference's 20 s. */
            cidIndex: {
              entry: 'fetchIndex',
              on: {
                'INDEX.DONE': [
                  {
                    guard: and(['nothingNew', 'notMember']),
                    target: '#member.task.ended',
                    actions: ['storeLastSeen', assign({ taskStatus: 'notMember' })],
                  },
                  {
                    guard: 'nothingNew',
                    target: '#member.task.importing',
                    actions: ['storeLastSeen', assign({ taskStatus: 'noNewArchives' })],
                  },
                  { guard: 'emptyPlan', target: 'seeding', actions: ['keepPlan', 'signalStarted'] },
                  { target: 'cidArchives', actions: ['keepPlan', 'signalStarted'] },
                ],
                'INDEX.FAILED': [
                  {
                    guard: 'malformed',
                    target: '#member.task.ended',
                    actions: { type: 'failed', params: 'malformed' },
                  },
                  { target: '#member.task.ended', actions: { type: 'failed', params: 'error' } },
                ],
              },
              // The reference retries a timed-out download once (index and missing archives again).
              after: {
                cidIndexTimeout: [
                  {
                    guard: 'mayRetry',
                    target: 'cidIndex',
                    reenter: true,
                    actions: ['countAttempt', 'signalCidRetry'],
                  },
                  { target: '#member.task.ended', actions: assign({ taskStatus: 'timeout' }) },
                ],
              },
            },
            /**
             * §11.1: every missing archive by its cid at once, under one timer for the whole phase
             * (reference: 20 s, so a large backlog times out; `cidArchivePhaseTimeout` off is the fix).
             */
            cidArchives: {
              entry: 'fetchAllArchives',
              on: { 'ARCHIVES.DONE': { target: 'seeding' } },
              after: {
                cidArchivePhase: [
                  {
                    guard: and(['archivePhaseTimer', 'mayRetry']),
                    target: 'cidIndex',
                    actions: ['countAttempt', 'signalCidRetry'],
                  },
                  {
                    guard: 'archivePhaseTimer',
                    target: '#member.task.ended',
                    actions: assign({ taskStatus: 'timeout' }),
                  },
                ],
              },
            },
            /** Step 5: each missing archive by its piece range, ascending `from`. */
            archives: {
              entry: 'fetchArchive',
              on: {
                'ARCHIVE.DONE': [
                  {
                    guard: 'moreArchives',
                    target: 'archives',
                    reenter: true,
                    actions: assign({ next: ({ context }) => context.next + 1 }),
                  },
                  { target: 'seeding' },
                ],
                'ARCHIVE.FAILED': {
                  target: '#member.task.ended',
                  actions: { type: 'failed', params: 'error' },
                },
              },
            },
            /** Step 6: keep seeding what it has; the seeding signal goes to the host (§5.5). */
            seeding: {
              entry: 'seed',
              on: {
                // §6.2 step 7: a node no longer a member imports nothing (and signals nothing more)
                'SEEDING.DONE': [
                  {
                    guard: 'notMember',
                    target: '#member.task.ended',
                    actions: ['storeLastSeen', assign({ taskStatus: 'notMember' })],
                  },
                  {
                    target: '#member.task.importing',
                    actions: ['storeLastSeen', assign({ taskStatus: 'done' })],
                  },
                ],
                'SEEDING.FAILED': {
                  target: '#member.task.ended',
                  actions: { type: 'failed', params: 'error' },
                },
              },
            },
          },
        },
        /** §6.3–§6.4. */
        importing: {
          entry: 'startTicker',
          exit: 'importEnded',
          initial: 'delaying',
          states: {
            delaying: {
              // A node up for longer than the delay (every round but the first) goes on at
              // once rather than through a zero-length timer.
              always: { guard: 'delayOver', target: 'ticking' },
              after: { initialDelay: 'ticking' },
            },
            /** Each pass of the loop waits for its ticker (at once when a tick passed meanwhile). */
            ticking: {
              always: { guard: 'tickPending', target: 'picking', actions: 'takeTick' },
              after: { nextTick: { target: 'picking', actions: 'takeTick' } },
            },
            picking: {
              always: [
                {
                  guard: 'notMember',
                  target: '#member.task.ended',
                  actions: assign({ taskStatus: 'notMember' }),
                },
                {
                  guard: 'nothingToImport',
                  target: 'finished',
                  actions: assign({
                    taskStatus: ({ context }) =>
                      context.taskStatus === 'noNewArchives' ? 'noNewArchives' : 'done',
                  }),
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
              entry: 'readArchive',
              on: {
                'READ.DONE': [
                  {
                    // no chunk, no wait on the limiter: imported in the same pass
                    guard: 'emptyArchive',
                    target: 'ticking',
                    actions: ['keepArchive', 'signalImporting', 'markImported', 'forgetArchive'],
                  },
                  { target: 'chunks', actions: ['keepArchive', 'signalImporting'] },
                ],
                'READ.FAILED': [
                  {
                    guard: 'missingKey',
                    target: 'waitingForKey',
                    actions: { type: 'importFailed', params: 'missingKey' },
                  },
                  { target: 'corrupt', actions: { type: 'importFailed', params: 'corrupt' } },
                ],
              },
            },
            /** Tried again on the next tick (quirk: forever), after `corruptArchiveRetryMs` if set. */
            corrupt: {
              always: [
                {
                  guard: 'skipCorrupt',
                  target: 'ticking',
                  actions: ({ context }) => context.env.skipped.add(context.nextId as string),
                },
                { guard: 'retryOnTick', target: 'ticking' },
              ],
              after: { corruptRetry: 'ticking' },
            },
            waitingForKey: {
              after: { missingKey: 'ticking' },
            },
            /** The archive's messages go to storage in chunks at their slots, on one timer. */
            chunks: {
              entry: ['planChunks', 'awaitChunks'],
              exit: ['handChunksDue', 'countHanded'],
              on: {
                'CHUNKS.DONE': { target: 'ticking', actions: ['markImported', 'forgetArchive'] },
              },
            },
            /** No archive left: the import's normal end. */
            finished: {
              entry: 'signalFinished',
              always: { target: '#member.task.ended' },
            },
          },
        },
        /** Where every end of a task goes, so its status is set before `task` is left. */
        ended: {
          always: { target: '#member.idle' },
        },
      },
    },
  },
});
