// The scenario file format (docs/scenarios.md): a zod 4 schema that both validates a parsed
// YAML/JSON document and, through z.toJSONSchema, tells editors what to complete.
// Parsing normalizes every duration to ms, every size to bytes, every rate to
// {count, perMs} and fills defaults, so the runner sees one plain shape.

import { z } from 'zod';
import { PORT_CALLS } from '../adapters/sim/faulty-adapters.ts';
import { INVARIANTS } from '../machines/invariants.ts';
import { PROTOCOL_SIGNALS } from '../machines/signals.ts';
import { CHECKS } from './checks.ts';
import { cohortMemberName, cohortNodes } from './cohorts.ts';
import { MONITORS } from './monitors/index.ts';
import { durationPattern, parseDuration, parseRate, parseSize, ratePattern, sizePattern } from './units.ts';

const DURATION_HINT = 'expected a duration like "7d" or a number of ms';
const SIZE_HINT = 'expected a size like "100KiB" or a number of bytes';
const RATE_HINT = 'expected a rate like "100/d" (messages per duration)';
const TIME_HINT = 'expected an ISO date like "2026-01-05T00:00:00Z" or a number of ms since the Unix epoch';
const NAME_HINT = 'expected a name of letters, digits, "-" or "_", starting with a letter';

/** A duration: "7d", "1h30m", "250ms", or a number of milliseconds. Parsed to ms. */
export const Duration = z
  .union(
    [
      z.number({ error: DURATION_HINT }).int({ error: DURATION_HINT }).nonnegative({ error: DURATION_HINT }),
      z.string({ error: DURATION_HINT }).regex(durationPattern, { error: DURATION_HINT }),
    ],
    { error: DURATION_HINT },
  )
  .transform((value) => (typeof value === 'number' ? value : (parseDuration(value) as number)))
  .meta({ description: 'A duration: "7d", "12h", "1h30m", "20s", "250ms", or a number of milliseconds.' });

/** A size: "100KiB", "30MB", or a number of bytes. Parsed to bytes. */
export const Size = z
  .union(
    [
      z.number({ error: SIZE_HINT }).int({ error: SIZE_HINT }).nonnegative({ error: SIZE_HINT }),
      z.string({ error: SIZE_HINT }).regex(sizePattern, { error: SIZE_HINT }),
    ],
    { error: SIZE_HINT },
  )
  .transform((value) => (typeof value === 'number' ? value : (parseSize(value) as number)))
  .meta({ description: 'A size: "512B", "100KiB", "30MB", or a number of bytes.' });

/** A message rate: "100/d", "3/1h". Parsed to {count, perMs}. */
export const Rate = z
  .union(
    [
      z.string({ error: RATE_HINT }).regex(ratePattern, { error: RATE_HINT }),
      z.strictObject({ count: z.number().nonnegative(), perMs: z.number().int().positive() }),
    ],
    { error: RATE_HINT },
  )
  .transform((value) =>
    typeof value === 'string' ? (parseRate(value) as { count: number; perMs: number }) : value,
  )
  .meta({ description: 'Messages per duration: "100/d", "3/1h", "1/10m" (or the parsed {count, perMs}).' });

/** A point of virtual time: ISO date or ms since the epoch. Parsed to ms. */
export const Instant = z
  .union(
    [
      z.number({ error: TIME_HINT }).int({ error: TIME_HINT }).nonnegative({ error: TIME_HINT }),
      z.iso.datetime({ error: TIME_HINT }),
    ],
    { error: TIME_HINT },
  )
  .transform((value) => (typeof value === 'number' ? value : Date.parse(value)));

const Probability = z
  .number({ error: 'expected a probability between 0 and 1' })
  .min(0, { error: 'expected a probability between 0 and 1' })
  .max(1, { error: 'expected a probability between 0 and 1' });

const Name = z.string({ error: NAME_HINT }).regex(/^[A-Za-z][A-Za-z0-9_-]*$/, { error: NAME_HINT });

const Count = z
  .number({ error: 'expected a whole number >= 0' })
  .int({ error: 'expected a whole number >= 0' })
  .nonnegative({ error: 'expected a whole number >= 0' });

/** A number, or bounds: `3` means exactly 3; `{min: 1}`, `{max: 0}`, `{min: 2, max: 5}`. */
export const Range = z
  .union(
    [
      z.number({ error: 'expected a number or {min, max}' }),
      z.strictObject({ min: z.number().optional(), max: z.number().optional() }),
    ],
    { error: 'expected a number or {min, max}' },
  )
  .transform((value) => (typeof value === 'number' ? { min: value, max: value } : value));
export type Range = z.output<typeof Range>;

/** A duration, or bounds of durations: `5m` (exactly), `{min: 5m}`, `{max: 1h}`. Parsed to ms. */
export const DurationRange = z
  .union([Duration, z.strictObject({ min: Duration.optional(), max: Duration.optional() })], {
    error: `${DURATION_HINT}, or {min, max} of those`,
  })
  .transform((value): Range => (typeof value === 'number' ? { min: value, max: value } : value));

// The names are the machines' own lists, so a scenario can name exactly what the machines emit.
export const signalNames = PROTOCOL_SIGNALS;
export type SignalName = (typeof signalNames)[number];

const shortSignalNames = signalNames.map((name) => name.slice('community.'.length));
const SIGNAL_HINT = `expected a signal of protocol.md §7, e.g. "historyArchivesCreated" (one of: ${shortSignalNames.join(', ')})`;

/** A §7 signal name, with or without the `community.` prefix. Parsed to the full name. */
export const Signal = z
  .enum([...signalNames, ...shortSignalNames] as [string, ...string[]], { error: SIGNAL_HINT })
  .transform((value) => (value.startsWith('community.') ? value : `community.${value}`) as SignalName);

export const invariantNames = INVARIANTS;
export type InvariantName = (typeof invariantNames)[number];

// ---------------------------------------------------------------- settings

export const Options = z
  .strictObject({
    actOnMagnetlinks: z
      .enum(['immediately', 'afterQuiet'])
      .optional()
      .meta({ description: 'reference: immediately; spec: afterQuiet (20 s after the last magnetlink)' }),
    magnetlinkQuiet: Duration.optional(),
    download: z
      .union([z.enum(['all', 'latest']), z.strictObject({ from: Duration, to: Duration })])
      .optional()
      .meta({
        description: 'What a member downloads: all, latest, or a time range (offsets from the start)',
      }),
    importMode: z
      .enum(['merge', 'replace'])
      .optional()
      .meta({ description: 'reference: merge; spec: replace (canonical history)' }),
    ownerDeletesArchivedMessages: z.boolean().optional(),
    distribution: z.enum(['torrent', 'content-addressed']).optional(),
    archiveInterval: Duration.optional(),
    pieceLength: Size.optional(),
    maxArchiveChunk: Size.optional(),
    metadataTimeout: Duration.optional(),
    metadataRetries: Count.optional(),
    indexPoll: Duration.optional(),
    piecesPoll: Duration.optional(),
    importDelay: Duration.optional(),
    importChunk: Count.optional(),
    importRate: z.enum(['slow', 'fast']).optional(),
    missingKeyRetry: Duration.optional(),
    corruptRetry: Duration.optional().meta({
      description: 'Wait before retrying an archive that does not decode (with retryUndecodableForever)',
    }),
  })
  .meta({ description: 'Protocol options and constants (§2, §9). Unset ones follow `mode`.' });

export const Quirks = z
  .strictObject({
    noNewArchivesByCount: z
      .boolean()
      .optional()
      .meta({ description: '§6.2 step 4 compares counts, not ids' }),
    extraPaddingPiece: z.boolean().optional().meta({ description: '§4 whole extra piece of zeros' }),
    dispatchCrashOnMissingCommunity: z.boolean().optional().meta({ description: '§5.5 reference bug' }),
    retryUndecodableForever: z.boolean().optional().meta({ description: '§6.3 retry loop' }),
    restartTaskOnSameLink: z
      .boolean()
      .optional()
      .meta({ description: "§6.1: the running task's own link, re-announced, cancels and restarts it" }),
    emptyDownloadSignals: z.boolean().optional().meta({
      description: '§6.2 counts differ but nothing is missing: started and seeding are signalled anyway',
    }),
    finishedOnAnyImportEnd: z.boolean().optional().meta({
      description: '§6.3 every end of an import (cancelled, not a member) signals downloading-finished',
    }),
    startFailsWhenNotMember: z.boolean().optional().meta({
      description: '§6.4 a node off the member list with archives left to import fails its start',
    }),
    storeFailureStopsArchiving: z.boolean().optional().meta({
      description: '§5.4 a failed store query at start-up leaves the community without a periodic task',
    }),
    seedTwiceAtStartup: z.boolean().optional().meta({
      description: '§5.4 a restart within the interval seeds and announces the torrent twice',
    }),
    trustIndex: z.boolean().optional().meta({
      description:
        '§6.2 the index is not checked against §10.3 before downloading (off: a broken one is malformed)',
    }),
    trustMagnetlinkClock: z.boolean().optional().meta({
      description: '§6.1 any clock is taken (off: a clock more than a day ahead is ignored)',
    }),
    cidArchivePhaseTimeout: z.boolean().optional().meta({
      description:
        '§11.1 one timer (20 s) for the whole content-addressed archive phase, so a large backlog times out (off: no phase timer)',
    }),
    cidInvertedUnseed: z.boolean().optional().meta({
      description:
        "§11.1 the reference's inverted unseed condition: an owner or member never drops the index it kept before (off: dropped)",
    }),
  })
  .meta({ description: 'Reference-client quirks; unset ones follow `mode`.' });

const Latency = z.union([Duration, z.strictObject({ min: Duration, max: Duration })], {
  error: `${DURATION_HINT}, or {min, max} of those`,
});

export const NetworkConditions = z.strictObject({
  latency: Latency.optional(),
  loss: Probability.optional(),
  duplication: Probability.optional(),
  reordering: Probability.optional(),
  bandwidth: Size.optional().meta({ description: 'Bytes per second per node (upload and download)' }),
  seedDelay: Duration.optional().meta({
    description: 'Virtual time a torrent client takes to start seeding (hashing its files); default 0',
  }),
});
export type NetworkConditions = z.output<typeof NetworkConditions>;

// ---------------------------------------------------------------- world

const BACKEND_HINT = 'expected a backend: torrent, cid or both';
/** The distribution backend(s) of protocol.md §11: torrent, content-addressed (cid), or both. */
export const Backend = z.enum(['torrent', 'cid', 'both'], { error: BACKEND_HINT });
export type Backend = z.output<typeof Backend>;
const nodeBackend = Backend.optional().meta({
  description:
    "This node's backend(s), overriding the scenario's `backend`: an owner publishes with it, a member acts on its links (both: whichever link starts a task first)",
});

export const Community = z.strictObject({
  id: Name,
  encrypted: z.boolean().default(false),
  chats: z
    .array(Name, { error: 'expected a list of chat names' })
    .min(1, { error: 'expected at least one chat' }),
});
export type Community = z.output<typeof Community>;

export const NodeSpec = z.strictObject({
  name: Name,
  role: z.enum(['owner', 'member'], { error: 'expected "owner" or "member"' }),
  communities: z.array(Name).optional().meta({ description: 'Communities this node joins; default: all' }),
  joinAt: Duration.default(0).meta({ description: 'When the node comes up and joins (offset from start)' }),
  protocolEnabled: z.boolean().default(true),
  archiveSupport: z.boolean().default(true),
  importRate: z.enum(['slow', 'fast']).optional(),
  archiveBackend: nodeBackend,
});
export type NodeSpec = z.output<typeof NodeSpec>;

/** Most members one file may generate (beyond it a typo, e.g. an extra zero, is more likely). */
export const MAX_COHORT_MEMBERS = 100_000;

export const Cohort = z
  .strictObject({
    count: z
      .number({ error: 'expected a whole number of members >= 1' })
      .int({ error: 'expected a whole number of members >= 1' })
      .min(1, { error: 'expected a whole number of members >= 1' })
      .max(MAX_COHORT_MEMBERS, { error: `expected at most ${MAX_COHORT_MEMBERS} members` })
      .meta({ description: 'How many members' }),
    name: Name.default('m').meta({ description: 'Prefix of their names: m1, m2, … (default "m")' }),
    joinAt: z
      .union([Duration, z.strictObject({ from: Duration, to: Duration })], {
        error: `${DURATION_HINT}, or {from, to} of those`,
      })
      .default(0)
      .meta({ description: 'When they come up: one time, or {from, to} spread evenly (both ends included)' }),
    communities: z.array(Name).optional().meta({ description: 'Communities they join; default: all' }),
    protocolEnabled: z.boolean().default(true),
    archiveSupport: z.boolean().default(true),
    importRate: z.enum(['slow', 'fast']).optional(),
    archiveBackend: nodeBackend,
  })
  .meta({ description: 'A cohort of members sharing their settings, expanded into nodes on load' });
export type Cohort = z.output<typeof Cohort>;

export const Traffic = z.strictObject({
  community: Name,
  chats: z.array(Name).optional().meta({ description: 'Chats to post in; default: all of the community' }),
  senders: z.array(Name).optional().meta({ description: 'Nodes that post; default: every joined node' }),
  rate: Rate,
  size: z.union([Size, z.strictObject({ min: Size, max: Size })], {
    error: `${SIZE_HINT}, or {min, max} of those`,
  }),
  from: Duration.default(0),
  to: Duration.optional().meta({ description: 'Default: the end of the run' }),
});
export type Traffic = z.output<typeof Traffic>;

// ---------------------------------------------------------------- timeline

const at = Duration.meta({ description: 'When (offset from the start of the run)' });
const node = Name.meta({ description: 'A node name from `nodes`' });
const community = Name.meta({ description: 'A community id from `communities`' });

export const Action = z.discriminatedUnion(
  'do',
  [
    z.strictObject({ at, do: z.literal('offline'), node }),
    z.strictObject({ at, do: z.literal('online'), node }),
    z.strictObject({ at, do: z.literal('crash'), node }),
    z.strictObject({ at, do: z.literal('restart'), node }),
    z.strictObject({ at, do: z.literal('join'), node, community }),
    z.strictObject({ at, do: z.literal('leave'), node, community }),
    z.strictObject({ at, do: z.literal('protocol'), node, enabled: z.boolean() }),
    z.strictObject({ at, do: z.literal('archiveSupport'), node, community, enabled: z.boolean() }),
    z.strictObject({ at, do: z.literal('importRate'), node, rate: z.enum(['slow', 'fast']) }),
    z.strictObject({
      at,
      do: z.literal('partition'),
      groups: z.array(z.array(Name)).min(2, { error: 'expected at least two groups' }),
    }),
    z.strictObject({ at, do: z.literal('heal') }),
    z.strictObject({ at, do: z.literal('network'), conditions: NetworkConditions }),
    z.strictObject({
      at,
      do: z.literal('forgeMagnetlink'),
      node: node.meta({ description: 'The member that signs the link with its own key' }),
      community,
    }),
    z.strictObject({
      at,
      do: z.literal('replayMagnetlink'),
      community,
      link: z
        .number()
        .int()
        .default(0)
        .meta({ description: 'Which earlier dispatched link: 0 = first, -1 = latest' }),
      node: node.optional().meta({ description: 'Who sends it again (default: the first member)' }),
    }),
    z.strictObject({
      at,
      do: z.literal('corruptPieces'),
      node: node.meta({ description: 'The seeder whose pieces go bad' }),
      community,
      pieces: Count.default(1),
    }),
    z.strictObject({
      at,
      do: z.literal('corruptStoredArchive'),
      node: node.meta({
        description:
          'The member whose next downloaded archive goes bad on its disk after download, before import',
      }),
      community,
    }),
    z.strictObject({
      at,
      do: z.literal('portFault'),
      node,
      call: z.enum([...PORT_CALLS], { error: `expected a port call: ${PORT_CALLS.join(', ')}` }).meta({
        description: 'The port method whose next calls fail or hang',
      }),
      mode: z.enum(['fail', 'hang']).default('fail').meta({
        description: 'fail: throw or reject; hang: never settle (calls returning a promise only)',
      }),
      times: Count.optional().meta({ description: 'How many calls it hits (default: every one)' }),
    }),
    z.strictObject({
      at,
      do: z.literal('deleteFile'),
      node: node.meta({ description: 'The node whose local file goes' }),
      community,
      file: z.enum(['index', 'data'], { error: 'expected "index" or "data"' }).meta({
        description: "Which file of the community's archive folder is deleted",
      }),
    }),
    z.strictObject({
      at,
      do: z.literal('withholdKey'),
      node: node.meta({
        description: 'The member that lacks the decryption key of the archives (encrypted communities)',
      }),
      community,
    }),
    z.strictObject({
      at,
      do: z.literal('keyArrives'),
      node: node.meta({ description: 'The member that receives the missing decryption keys' }),
      community,
    }),
    z.strictObject({
      at,
      do: z.literal('restoreFromBackup'),
      node: node.meta({
        description:
          'A member restored on a new device from a backup: no messages, files or archive records, the same communities, and no keys of earlier archives',
      }),
    }),
    z.strictObject({
      at,
      do: z.literal('handOver'),
      node: node.meta({
        description: 'The node that receives the community key and becomes its control node',
      }),
      community,
      keepData: z.boolean().default(false).meta({
        description: 'Whether the new owner keeps the archive folder it had (default: it starts without)',
      }),
    }),
    z.strictObject({
      at,
      do: z.literal('contentMissingBlocks'),
      node: node.meta({ description: 'The store node that lacks blocks of the content it holds' }),
      blocks: Count.meta({
        description:
          'From now on it lacks the first `blocks` blocks of every dataset it holds or gets (0 = repaired)',
      }),
    }),
    z.strictObject({
      at,
      do: z.literal('contentCorruptBlocks'),
      node: node.meta({ description: 'The store node whose next served blocks arrive corrupted' }),
      blocks: Count.default(1),
    }),
    z.strictObject({
      at,
      do: z.literal('contentSlowProvider'),
      node: node.meta({ description: 'The store node that answers every content request late' }),
      delay: Duration.meta({ description: 'How late it answers each request; 0 = on time again' }),
    }),
    z.strictObject({
      at,
      do: z.literal('storeNodeLeaves'),
      node: node.meta({
        description: 'The node whose content store leaves the network for good: store wiped, records gone',
      }),
    }),
    z.strictObject({
      at,
      do: z.literal('storeNodeJoins'),
      node: node.meta({
        description: 'The node whose store node joins again, empty (running again if it was when it left)',
      }),
    }),
    z.strictObject({
      at,
      do: z.literal('dispatchWithoutIndex'),
      node: node.meta({ description: 'An owner that announces a torrent lacking the `index` file' }),
      community,
    }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'expected `do` to be one of: offline, online, crash, restart, join, leave, protocol, archiveSupport, importRate, partition, heal, network, forgeMagnetlink, replayMagnetlink, corruptPieces, corruptStoredArchive, portFault, dispatchWithoutIndex, deleteFile, withholdKey, keyArrives, restoreFromBackup, handOver, contentMissingBlocks, contentCorruptBlocks, contentSlowProvider, storeNodeLeaves, storeNodeJoins'
        : undefined,
  },
);
export type Action = z.output<typeof Action>;

// ---------------------------------------------------------------- expectations

const text = z.string().optional().meta({ description: 'What the expectation means, shown in results' });

export const SignalExpectation = z.strictObject({
  text,
  signal: Signal,
  node: Name.optional(),
  community: Name.optional(),
  count: Range.optional().meta({ description: 'Default: at least once' }),
  never: z.boolean().optional().meta({ description: 'Shorthand for count: 0' }),
});

/** How a member's download/import task ended (the machines' `archive.taskEnded`). */
export const taskStatuses = z.enum(
  ['done', 'noNewArchives', 'cancelled', 'timeout', 'malformed', 'error', 'notMember'],
  {
    error: 'expected a task end: done, noNewArchives, cancelled, timeout, malformed, error, notMember',
  },
);
export type TaskStatus = z.output<typeof taskStatuses>;

export const NodeExpectation = z.strictObject({
  text,
  node: Name,
  community: Name.optional(),
  downloaded: Range.optional(),
  imported: Range.optional(),
  messagesImported: Range.optional(),
  bytesDown: Range.optional(),
  fullHistory: z.boolean().optional().meta({ description: 'Holds every message of the latest index' }),
  missingMessages: Range.optional().meta({
    description: 'Messages sent in the community that the node lacks',
  }),
  state: z.enum(['online', 'offline', 'crashed']).optional(),
  member: z.boolean().optional(),
  magnetlinksReceived: Range.optional().meta({
    description: 'Magnetlink messages the node received (relay or store), accepted or not',
  }),
  tasks: z
    .partialRecord(taskStatuses, Range)
    .optional()
    .meta({ description: 'Download/import tasks by how they ended, e.g. {cancelled: {min: 1}, timeout: 1}' }),
  timeToHistory: DurationRange.optional().meta({
    description: "From the node's latest start to the first moment after it that it held the full history",
  }),
  importDuration: DurationRange.optional().meta({
    description: 'From its first importingHistoryArchiveMessages to its last archive imported',
  }),
  importStartedAfter: DurationRange.optional().meta({
    description: 'From the start of its node to its first import (the 5 min delay of §6.3)',
  }),
  peakImportBytes: Range.optional().meta({
    description: 'Bytes of the largest archive it read whole for an import (size - padding)',
  }),
  progress: Range.optional().meta({
    description: 'Percent of the archives of the latest index it read that it imported',
  }),
  pendingImports: Range.optional().meta({ description: 'Archives downloaded but not imported at the end' }),
  importFailures: z
    .partialRecord(z.enum(['missingKey', 'corrupt']), Range)
    .optional()
    .meta({ description: 'Failed imports by reason, e.g. {missingKey: {min: 3}}' }),
  temperature: Range.optional().meta({
    description: 'The highest temperature it reached (consecutive retries without progress)',
  }),
  torrentClientFailures: Range.optional().meta({
    description: 'Times its torrent client failed to start (e.g. its port in use)',
  }),
});

export const RoundsExpectation = z.strictObject({
  text,
  rounds: Range.meta({ description: 'How many rounds (torrents seeded by an owner)' }),
  community: Name.optional(),
  archives: Range.optional().meta({ description: 'Archives in the last round' }),
  largest: Range.optional().meta({ description: 'Archives in the largest round (e.g. a catch-up round)' }),
});

export const MagnetlinkExpectation = z.strictObject({
  text,
  magnetlinks: Range.meta({ description: 'How many magnetlinks matching the filters were seen' }),
  community: Name.optional(),
  sender: Name.optional(),
  accepted: z
    .boolean()
    .optional()
    .meta({ description: 'Count only links some member accepted (or none did)' }),
});

export const InvariantExpectation = z.strictObject({
  text,
  invariant: z.enum([...invariantNames], { error: `expected one of: ${invariantNames.join(', ')}` }),
  holds: z.boolean().default(true),
});

export const CheckExpectation = z.strictObject({
  text,
  check: z
    .enum([...CHECKS, ...MONITORS], { error: `expected one of: ${[...CHECKS, ...MONITORS].join(', ')}` })
    .meta({ description: 'A check or monitor beyond §10 judged from the node signals (docs/scenarios.md)' }),
  node: Name.optional().meta({ description: "Judge only this node's failures" }),
  holds: z.boolean().default(true),
});

const expectationKinds = [
  ['signal', SignalExpectation],
  ['rounds', RoundsExpectation],
  ['magnetlinks', MagnetlinkExpectation],
  ['invariant', InvariantExpectation],
  ['check', CheckExpectation],
  ['node', NodeExpectation],
] as const;

/** The union, as editors see it in the JSON Schema. */
const ExpectationUnion = z.union([
  SignalExpectation,
  NodeExpectation,
  RoundsExpectation,
  MagnetlinkExpectation,
  InvariantExpectation,
  CheckExpectation,
]);
export type Expectation = z.output<typeof ExpectationUnion>;

/**
 * One expectation. Its kind is chosen by its leading key (signal, rounds, magnetlinks,
 * invariant, check, else node), so an error speaks about that kind's fields, not about the union.
 */
export const Expectation = z.unknown().transform((value, ctx): Expectation => {
  const kind =
    value !== null && typeof value === 'object' && !Array.isArray(value)
      ? expectationKinds.find(([key]) => key in value)
      : undefined;
  if (!kind) {
    ctx.addIssue({
      code: 'custom',
      message: 'expected an expectation with one of: signal, node, rounds, magnetlinks, invariant, check',
    });
    return z.NEVER;
  }
  const parsed = kind[1].safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, input: value } as never);
    return z.NEVER;
  }
  return parsed.data as Expectation;
});

// ---------------------------------------------------------------- the file

export const ScenarioSchema = z
  .strictObject({
    name: Name,
    description: z.string().optional(),
    seed: z.number().int().nonnegative().default(1).meta({ description: 'Default seed; --seed overrides' }),
    start: Instant.default(Date.parse('2026-01-05T00:00:00Z')).meta({
      description: 'Virtual time of the start',
    }),
    duration: Duration.meta({ description: 'Length of the run' }),
    mode: z.enum(['reference', 'spec']).default('reference'),
    swarm: z.enum(['piece', 'flow']).default('piece').meta({
      description:
        'The simulated swarm: piece (transfers of runs of pieces, the default) or flow (fluid flows of chunks, for large runs)',
    }),
    contentNetwork: z
      .strictObject({
        serveUnfinished: z.boolean().default(false).meta({
          description:
            'A store still fetching a dataset serves the blocks it has (as bitswap and Codex do); default: only stores holding it whole serve',
        }),
      })
      .default({ serveUnfinished: false })
      .meta({ description: 'The simulated content network of the content-addressed backend' }),
    backend: Backend.default('torrent').meta({
      description:
        "Distribution backend(s) of every node (protocol.md §11): torrent (default), cid (content-addressed) or both (owners publish both, members act on the first link); a node's `archiveBackend` overrides it",
    }),
    options: Options.default({}),
    quirks: Quirks.default({}),
    network: NetworkConditions.default({}),
    store: z
      .strictObject({ retention: Duration.default(30 * 86_400_000) })
      .default({ retention: 30 * 86_400_000 }),
    communities: z.array(Community).min(1, { error: 'expected at least one community' }),
    nodes: z.array(NodeSpec).min(1, { error: 'expected at least one node' }),
    members: z
      .union([Cohort, z.array(Cohort)], { error: 'expected a cohort {count, …} or a list of cohorts' })
      .optional()
      .meta({ description: 'Generated members: {count: 5000, name: m, joinAt: {from: 0d, to: 30d}, …}' }),
    traffic: z.array(Traffic).default([]),
    timeline: z.array(Action).default([]),
    expect: z.array(Expectation).default([]),
  })
  .superRefine((scenario, ctx) => {
    const communities = new Set(scenario.communities.map((c) => c.id));
    const cohorts = cohortsOf(scenario.members);
    const nodes = new Set(scenario.nodes.map((n) => n.name));
    const seen = new Set<string>();
    scenario.nodes.forEach((n, i) => {
      if (seen.has(n.name))
        ctx.addIssue({ code: 'custom', path: ['nodes', i, 'name'], message: `duplicate node "${n.name}"` });
      seen.add(n.name);
    });
    cohorts.forEach(({ cohort, path }) => {
      if (typeof cohort.joinAt === 'object' && cohort.joinAt.from > cohort.joinAt.to)
        ctx.addIssue({ code: 'custom', path: [...path, 'joinAt'], message: 'expected from <= to' });
      cohort.communities?.forEach((c, j) => {
        if (!communities.has(c))
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'communities', j],
            message: `unknown community "${c}" (communities: ${[...communities].join(', ')})`,
          });
      });
      for (let i = 0; i < cohort.count; i++) {
        const name = cohortMemberName(cohort, i);
        if (seen.has(name)) {
          ctx.addIssue({
            code: 'custom',
            path: [...path, 'name'],
            message: `member ${name} of this cohort is already a node (give the cohort another name)`,
          });
          break;
        }
        seen.add(name);
        nodes.add(name);
      }
    });
    const seenCommunities = new Set<string>();
    scenario.communities.forEach((c, i) => {
      if (seenCommunities.has(c.id))
        ctx.addIssue({
          code: 'custom',
          path: ['communities', i, 'id'],
          message: `duplicate community "${c.id}"`,
        });
      seenCommunities.add(c.id);
    });
    const checkNode = (name: string | undefined, path: (string | number)[]) => {
      if (name !== undefined && !nodes.has(name))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `unknown node "${name}" (nodes: ${nodeList(scenario.nodes, cohorts)})`,
        });
    };
    const checkCommunity = (id: string | undefined, path: (string | number)[]) => {
      if (id !== undefined && !communities.has(id))
        ctx.addIssue({
          code: 'custom',
          path,
          message: `unknown community "${id}" (communities: ${[...communities].join(', ')})`,
        });
    };
    scenario.nodes.forEach((n, i) => {
      n.communities?.forEach((c, j) => {
        checkCommunity(c, ['nodes', i, 'communities', j]);
      });
    });
    for (const c of scenario.communities) {
      const owners = scenario.nodes.filter(
        (n) => n.role === 'owner' && (n.communities ?? [c.id]).includes(c.id),
      );
      if (owners.length === 0)
        ctx.addIssue({
          code: 'custom',
          path: ['nodes'],
          message: `community "${c.id}" has no owner (a node with role: owner)`,
        });
    }
    scenario.traffic.forEach((t, i) => {
      checkCommunity(t.community, ['traffic', i, 'community']);
      const chats = scenario.communities.find((c) => c.id === t.community)?.chats ?? [];
      t.chats?.forEach((chat, j) => {
        if (!chats.includes(chat))
          ctx.addIssue({
            code: 'custom',
            path: ['traffic', i, 'chats', j],
            message: `unknown chat "${chat}" of community "${t.community}"`,
          });
      });
      t.senders?.forEach((s, j) => {
        checkNode(s, ['traffic', i, 'senders', j]);
      });
      if (typeof t.size === 'object' && t.size.min > t.size.max)
        ctx.addIssue({ code: 'custom', path: ['traffic', i, 'size'], message: 'expected min <= max' });
    });
    scenario.timeline.forEach((a, i) => {
      if (a.at > scenario.duration)
        ctx.addIssue({
          code: 'custom',
          path: ['timeline', i, 'at'],
          message: `expected a time within the run's duration (${scenario.duration} ms)`,
        });
      if ('node' in a) checkNode(a.node, ['timeline', i, 'node']);
      if ('community' in a) checkCommunity(a.community, ['timeline', i, 'community']);
      if (a.do === 'partition')
        a.groups.forEach((g, j) => {
          g.forEach((n, k) => {
            checkNode(n, ['timeline', i, 'groups', j, k]);
          });
        });
    });
    scenario.expect.forEach((e, i) => {
      if ('node' in e) checkNode(e.node, ['expect', i, 'node']);
      if ('sender' in e) checkNode(e.sender, ['expect', i, 'sender']);
      if ('community' in e) checkCommunity(e.community, ['expect', i, 'community']);
    });
  })
  // cohorts become nodes: the runner, expectations and traces see only nodes
  .transform(({ members, ...scenario }) => ({
    ...scenario,
    nodes: [...scenario.nodes, ...cohortsOf(members).flatMap(({ cohort }) => cohortNodes(cohort))],
  }));

/** Each cohort of `members` with its path in the file. */
function cohortsOf(members: Cohort | Cohort[] | undefined): { cohort: Cohort; path: (string | number)[] }[] {
  if (members === undefined) return [];
  if (Array.isArray(members)) return members.map((cohort, i) => ({ cohort, path: ['members', i] }));
  return [{ cohort: members, path: ['members'] }];
}

/** The nodes for an error message: those of `nodes`, then each cohort as a range. */
function nodeList(nodes: readonly NodeSpec[], cohorts: { cohort: Cohort }[]): string {
  const names = nodes.map((n) => n.name);
  for (const { cohort } of cohorts)
    names.push(
      cohort.count === 1
        ? cohortMemberName(cohort, 0)
        : `${cohortMemberName(cohort, 0)}…${cohortMemberName(cohort, cohort.count - 1)}`,
    );
  return names.join(', ');
}

/** A validated, normalized scenario: durations in ms, sizes in bytes, defaults filled. */
export type Scenario = z.output<typeof ScenarioSchema>;
/** What a scenario file may contain (before normalization). */
export type ScenarioInput = z.input<typeof ScenarioSchema>;

/** The JSON Schema of scenario files (their input form), for editors. */
export function scenarioJsonSchema(): Record<string, unknown> {
  const { $schema: _, ...expectation } = z.toJSONSchema(ExpectationUnion, { io: 'input' });
  const schema = z.toJSONSchema(ScenarioSchema, {
    io: 'input',
    unrepresentable: 'any',
    override: (ctx) => {
      if (ctx.zodSchema === Expectation || (ctx.zodSchema as unknown) === Expectation.def.in)
        Object.assign(ctx.jsonSchema, expectation);
    },
  }) as Record<string, unknown>;
  return {
    ...schema,
    $id: 'https://archivist.invalid/scenario.schema.json',
    title: 'archivist scenario',
    description: 'A simulated world, its timeline and its expectations (docs/scenarios.md).',
  };
}
