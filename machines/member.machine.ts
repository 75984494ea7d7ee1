// A member's community actor (§6): it listens on the community's magnetlink channel,
// applies the §6.1 guards, runs one download+import task at a time (a newer accepted link
// cancels the running one), and resumes an unfinished import on start (§6.4). A
// request-to-join response carrying a link starts the same task without the clock check.

import { assign, fromCallback, setup } from 'xstate';
import { decodeMagnetlinkMessage } from '../proto/signing.ts';
import type { CommunityEnv } from './community.ts';
import { nextArchiveToImport } from './community.ts';
import { magnetlinkClockReason } from './magnetlink-clock.ts';
import { type DownloadOutput, memberDownloadMachine } from './member-download.machine.ts';
import { type ImportOutput, memberImportMachine } from './member-import.machine.ts';
import type { TaskStatus } from './signals.ts';

export interface MemberInput {
  env: CommunityEnv;
}

export type LinkSource = 'magnetlink' | 'requestToJoin' | 'resume';

export type MemberEvent =
  | { type: 'MAGNETLINK'; signer: string; clock: number; magnetUri: string }
  | { type: 'REQUEST_TO_JOIN.RESPONSE'; magnetUri: string };

interface MemberContext {
  env: CommunityEnv;
  /** Link of the running (or pending) task. */
  link?: string;
  source: LinkSource;
  taskStatus?: TaskStatus;
  taskDetail?: string;
}

/** Why a magnetlink is ignored (§6.1), or undefined when it is accepted. */
export function ignoreReason(
  env: CommunityEnv,
  ev: { signer: string; clock: number; magnetUri: string },
): string | undefined {
  if (ev.signer !== env.config.id) return 'unknown community';
  if (!env.adapters.torrent.running) return 'torrent client not running';
  if (env.config.archiveSupport === false) return 'archive support off';
  if (env.role === 'owner') return 'control node';
  if (env.config.joined === false) return 'not joined';
  const st = env.adapters.storage.getArchiveState(env.config.id);
  const clockReason = magnetlinkClockReason(
    ev.clock,
    st.magnetlinkClock,
    env.adapters.clock.now(),
    env.options,
  );
  if (clockReason !== undefined) return clockReason;
  if (st.lastSeenMagnetlink === ev.magnetUri) return 'last seen link';
  return undefined;
}

/**
 * Decoded links by payload object: a simulated network hands every receiver the same
 * (immutable) bytes, and recovering the signer is the costly part of receiving a link.
 */
const decoded = new WeakMap<Uint8Array, MemberEvent>();

function decodeLink(env: CommunityEnv, payload: Uint8Array): MemberEvent | undefined {
  const hit = decoded.get(payload);
  if (hit) return hit;
  try {
    const d = decodeMagnetlinkMessage(payload);
    const ev: MemberEvent = { type: 'MAGNETLINK', signer: d.signer, clock: d.clock, magnetUri: d.magnetUri };
    decoded.set(payload, ev);
    return ev;
  } catch (e) {
    env.bus.emit({ type: 'archive.magnetlinkRejected', reason: `undecodable: ${String(e)}` });
    return undefined;
  }
}

/** Receives the magnetlink channel; decodes, identifies the community by the signer. */
const magnetlinkListener = fromCallback<MemberEvent, { env: CommunityEnv }>(({ input, sendBack }) => {
  const env = input.env;
  return env.adapters.messaging.subscribe(env.magnetPubsubTopic, [env.magnetContentTopic], (msg) => {
    const ev = decodeLink(env, msg.message.payload);
    if (ev) sendBack(ev);
  });
});

/**
 * On start, the node reads the channel's history from the store (a member that joins or
 * comes back reads up to `storeLookbackMs`): every magnetlink found is handled in timestamp
 * order, as the reference handles messages fetched from store nodes. This is where the
 * spec's "wait 20 s after the last one" matters.
 */
const magnetlinkHistory = fromCallback<MemberEvent, { env: CommunityEnv }>(({ input, sendBack }) => {
  const env = input.env;
  let live = true;
  if (!env.options.magnetlinkHistoryOnStart) return () => {};
  const now = Math.floor(env.adapters.clock.now() / 1000);
  env.adapters.messaging
    .queryStore({
      pubsubTopic: env.magnetPubsubTopic,
      contentTopics: [env.magnetContentTopic],
      from: now - Math.floor(env.options.storeLookbackMs / 1000),
      to: now + 1,
    })
    .then(
      (found) => {
        if (!live) return;
        const msgs = found.map((r) => r.message);
        msgs.sort((a, b) => a.timestamp - b.timestamp || compareBytes(a.hash, b.hash));
        for (const m of msgs) {
          const ev = decodeLink(env, m.payload);
          if (ev && live) sendBack(ev);
        }
      },
      () => {},
    );
  return () => {
    live = false;
  };
});

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number);
  return a.length - b.length;
}

export const memberMachine = setup({
  types: {
    context: {} as MemberContext,
    input: {} as MemberInput,
    events: {} as MemberEvent,
  },
  actors: {
    magnetlinkListener,
    magnetlinkHistory,
    download: memberDownloadMachine,
    import: memberImportMachine,
  },
  delays: {
    quiet: ({ context }) => context.env.options.magnetlinkWaitMs,
  },
  guards: {
    accept: ({ context, event }) =>
      event.type === 'MAGNETLINK' && ignoreReason(context.env, event) === undefined,
    waitQuiet: ({ context }) => context.env.options.magnetlinkWaitMs > 0,
    clientRunning: ({ context }) => context.env.adapters.torrent.running,
    pendingImport: ({ context }) => nextArchiveToImport(context.env).kind === 'archive',
    downloadSucceeded: ({ event }) => {
      const s = (event as { output?: DownloadOutput }).output?.status;
      return s === 'done' || s === 'noNewArchives';
    },
    importNotMember: ({ event }) => (event as { output?: ImportOutput }).output?.status === 'notMember',
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
      });
    },
    /** §6.1: the clock is stored at once, before the download finishes. */
    storeClock: ({ context, event }) => {
      if (event.type !== 'MAGNETLINK') return;
      context.env.adapters.storage.updateArchiveState(context.env.config.id, {
        magnetlinkClock: event.clock,
      });
    },
    takeLink: assign({
      link: ({ event }) => event.magnetUri,
      source: ({ event }) => (event.type === 'MAGNETLINK' ? 'magnetlink' : 'requestToJoin'),
    }),
    taskStarted: assign(({ context }) => {
      context.env.taskOpen = true;
      context.env.bus.emit({
        type: 'archive.taskStarted',
        communityId: context.env.config.id,
        magnetUri: context.link ?? '',
        source: context.source,
      });
      return { taskStatus: undefined, taskDetail: undefined };
    }),
    taskEnded: ({ context }) => {
      context.env.taskOpen = false;
      context.env.bus.emit({
        type: 'archive.taskEnded',
        communityId: context.env.config.id,
        status: context.taskStatus ?? 'cancelled',
        ...(context.taskDetail !== undefined ? { detail: context.taskDetail } : {}),
      });
    },
    storeLastSeen: ({ context }) => {
      if (context.link !== undefined) {
        context.env.adapters.storage.updateArchiveState(context.env.config.id, {
          lastSeenMagnetlink: context.link,
        });
      }
    },
    signalFinished: ({ context }) =>
      context.env.bus.emit({
        type: 'community.downloadingHistoryArchivesFinished',
        communityId: context.env.config.id,
      }),
  },
}).createMachine({
  id: 'member',
  context: ({ input }) => ({ env: input.env, source: 'magnetlink' }),
  invoke: [
    { src: 'magnetlinkListener', input: ({ context }) => ({ env: context.env }) },
    { src: 'magnetlinkHistory', input: ({ context }) => ({ env: context.env }) },
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
          { guard: 'accept', actions: ['noteLink', 'storeClock', 'takeLink'], target: 'quietOrTask' },
          { actions: 'noteLink' },
        ],
        'REQUEST_TO_JOIN.RESPONSE': { guard: 'clientRunning', actions: 'takeLink', target: 'task' },
      },
    },
    quietOrTask: {
      always: [{ guard: 'waitQuiet', target: 'quiet' }, { target: 'task' }],
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
      exit: 'taskEnded',
      initial: 'downloading',
      on: {
        // A newer accepted link cancels the running task (the AbortSignals end its waits).
        MAGNETLINK: [
          { guard: 'accept', actions: ['noteLink', 'storeClock', 'takeLink'], target: 'quietOrTask' },
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
        downloading: {
          invoke: {
            src: 'download',
            input: ({ context }) => ({ env: context.env, magnetUri: context.link ?? '' }),
            onDone: [
              {
                guard: 'downloadSucceeded',
                target: 'importing',
                actions: [
                  'storeLastSeen',
                  assign({ taskStatus: ({ event }) => (event.output as DownloadOutput).status }),
                ],
              },
              {
                target: 'ended',
                actions: assign({
                  taskStatus: ({ event }) => (event.output as DownloadOutput).status,
                  taskDetail: ({ event }) => (event.output as DownloadOutput).detail,
                }),
              },
            ],
          },
        },
        importing: {
          invoke: {
            src: 'import',
            input: ({ context }) => ({ env: context.env }),
            onDone: [
              {
                guard: 'importNotMember',
                target: 'ended',
                actions: assign({ taskStatus: 'notMember' }),
              },
              {
                target: 'ended',
                actions: [
                  'signalFinished',
                  assign({
                    taskStatus: ({ context }) =>
                      context.taskStatus === 'noNewArchives' ? 'noNewArchives' : 'done',
                  }),
                ],
              },
            ],
          },
        },
        ended: {
          always: { target: '#member.idle' },
        },
      },
    },
  },
});
