// The synchronous fuzz campaigns: every decoder of network and file input, the scenario
// loader and the store service's answer to a client's bytes. Each target takes what a
// hostile peer or a broken file could hand it, then uses the result the way the project
// does, and must end in a value or one of its typed errors.
//
// Inputs are mostly mutations of valid encodings (flipped, inserted, deleted, duplicated
// bytes; varints spliced in; truncations), because random bytes rarely get past the first
// field of a protobuf or the first token of bencode, plus structural generators where the
// grammar is small (bencode, magnets, YAML) and plain random bytes.

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { proto_store } from '@waku/proto';
import fc from 'fast-check';
import { answerFrame, MAX_FRAME, MAX_PAGE, readFrame, StoreService } from '../adapters/real/store-service.ts';
import { decodeWakuV2, encodeWakuV2, fromWakuV2, wakuMessageHash } from '../adapters/real/waku-wire.ts';
import { MemoryFileSystem } from '../adapters/sim/memory-fs.ts';
import { BencodeError, checkBencode, decodeBencode } from '../archive/bencode.ts';
import {
  archiveIdOf,
  createArchiveRound,
  decodeStoredArchive,
  decodeStoredIndex,
  parseMagnet,
  parseTorrentFile,
  TorrentFormatError,
} from '../archive/index.ts';
import { indexLayoutProblems } from '../archive/index-layout.ts';
import { UserError } from '../errors/user-error.ts';
import { magnetlinkClockReason } from '../machines/magnetlink-clock.ts';
import { DAY } from '../machines/options.ts';
import { byteKey } from '../proto/byte-key.ts';
import {
  DecodeError,
  decodeApplicationMetadataMessage,
  decodeCommunityMessageArchiveMagnetlink,
  decodeWakuMessageArchiveIndexMetadata,
  encodeWakuMessageArchiveIndexMetadata,
} from '../proto/codec.ts';
import {
  communityIdOf,
  decodeMagnetlinkMessage,
  encodeMagnetlinkMessage,
  generateCommunityKey,
  recoverSigner,
  SignatureError,
} from '../proto/signing.ts';
import { chatTopic, contentTopicOf, magnetlinkChannelId } from '../proto/topics.ts';
import type { WakuMessage } from '../proto/types.ts';
import { parseScenario } from '../scenarios/load.ts';
import type { Campaign } from './campaign.ts';

// ------------------------------------------------------------------ valid seeds

const KEY = generateCommunityKey(new Uint8Array(32).fill(42));
const COMMUNITY = communityIdOf(KEY);
const P = 1024;
const topic = chatTopic('general');

function seedRound(): { index: Uint8Array; archives: Uint8Array[]; torrent: Uint8Array; magnet: string } {
  const fs = new MemoryFileSystem();
  const messages: WakuMessage[] = Array.from({ length: 12 }, (_, i) => ({
    sig: Uint8Array.of(i, 1, 2),
    timestamp: 1_767_600_000 + i * 40_000,
    topic,
    payload: new Uint8Array(90 + i * 31).fill(i),
    padding: new Uint8Array(0),
    hash: new Uint8Array(32).fill(i + 1),
    thirdPartyId: i % 3 === 0 ? `third-${i}` : '',
  }));
  const round = createArchiveRound(fs, {
    dataDir: '/d',
    torrentDir: '/t',
    communityId: COMMUNITY,
    topics: [topic, chatTopic('random')],
    messages,
    start: 1_767_600_000,
    end: 1_767_600_000 + 12 * 40_000,
    options: { pieceLength: P, archiveInterval: 100_000 },
    trackers: ['udp://tracker.example:1337'],
    createdBy: COMMUNITY,
    creationDate: 1_767_600_000,
  });
  const folder = `/d/${COMMUNITY}`;
  const data = fs.read(`${folder}/data`);
  const archives = round.archives.map((a) => data.subarray(a.offset, a.offset + a.size - a.padding));
  return {
    index: fs.read(`${folder}/index`),
    archives,
    torrent: fs.read(`/t/${COMMUNITY}.torrent`),
    magnet: round.magnet ?? '',
  };
}

const SEED = seedRound();
const LINK = encodeMagnetlinkMessage(KEY, 1_767_600_000_000, SEED.magnet);
const channel = chatTopic(magnetlinkChannelId(COMMUNITY));
const RELAY = {
  pubsubTopic: `/waku/2/${COMMUNITY}`,
  contentTopic: contentTopicOf(channel),
  message: {
    sig: new Uint8Array(65).fill(7),
    timestamp: 1_767_600_000,
    topic: channel,
    payload: LINK,
    padding: new Uint8Array(3),
    hash: new Uint8Array(32).fill(9),
    thirdPartyId: 'x',
  },
};
const WAKU_V2 = encodeWakuV2(RELAY);

// ------------------------------------------------------------------ mutations

type Mutation =
  | { kind: 'set'; at: number; byte: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'duplicate'; at: number; length: number }
  | { kind: 'varint'; at: number; value: bigint };

const position = fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true });
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), at: position, byte: fc.integer({ min: 0, max: 255 }) }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: position,
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({ kind: fc.constant('delete' as const), at: position, length: fc.integer({ min: 1, max: 16 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: position }),
  fc.record({
    kind: fc.constant('duplicate' as const),
    at: position,
    length: fc.integer({ min: 1, max: 64 }),
  }),
  fc.record({
    kind: fc.constant('varint' as const),
    at: position,
    value: fc.oneof(
      fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
      fc.constantFrom(0n, 1n, 127n, 128n, 2n ** 31n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n),
    ),
  }),
);

function varintBytes(value: bigint): number[] {
  const out: number[] = [];
  let v = value;
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80);
    v >>= 7n;
  }
  out.push(Number(v));
  return out;
}

function mutate(seed: Uint8Array, mutations: Mutation[]): Uint8Array {
  let b = Array.from(seed);
  for (const m of mutations) {
    const at = Math.floor(m.at * (b.length + 1));
    if (m.kind === 'set') {
      if (b.length > 0) b[Math.min(at, b.length - 1)] = m.byte;
    } else if (m.kind === 'insert') b.splice(at, 0, ...m.bytes);
    else if (m.kind === 'delete') b.splice(at, m.length);
    else if (m.kind === 'truncate') b = b.slice(0, at);
    else if (m.kind === 'duplicate') b.splice(at, 0, ...b.slice(at, at + m.length));
    else b.splice(at, 0, ...varintBytes(m.value));
  }
  return Uint8Array.from(b);
}

/** Valid `seeds` with up to 6 mutations each, or random bytes. */
function mutated(seeds: Uint8Array[], maxRandom = 512): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(fc.constantFrom(...seeds), fc.array(mutation, { minLength: 1, maxLength: 6 }))
        .map(([s, m]) => mutate(s, m)),
    },
    { weight: 1, arbitrary: fc.constantFrom(...seeds) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: maxRandom }) },
  );
}

// ------------------------------------------------------------------ structural generators

const bencodeText: fc.Arbitrary<string> = fc.letrec<{ value: string; key: string }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.oneof(
      fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }).map((n) => `i${n}e`),
      fc.constantFrom('i-0e', 'i01e', 'ie', 'i-e', 'i1', 'i--1e'),
    ),
    fc.oneof(
      fc.string({ maxLength: 12 }).map((s) => `${Buffer.byteLength(s)}:${s}`),
      fc.constantFrom('-1:', '-900719907199293:', '99999999:x', '0:', '4294967296:ab', '1:', '01:a', ':'),
    ),
    fc.array(tie('value'), { maxLength: 4 }).map((a) => `l${a.join('')}e`),
    fc
      .array(fc.tuple(tie('key'), tie('value')), { maxLength: 4 })
      .map((kv) => `d${kv.map(([k, v]) => k + v).join('')}e`),
    fc.constantFrom(
      'd',
      'l',
      'e',
      'x',
      'd1:a',
      'li1e',
      `${'l'.repeat(150)}${'e'.repeat(150)}`,
      'd-900719907199293:',
    ),
  ),
  key: fc.oneof(
    fc
      .constantFrom(
        'info',
        'name',
        'files',
        'length',
        'path',
        'piece length',
        'pieces',
        'announce',
        'announce-list',
        'created by',
        'creation date',
        'name.utf-8',
        'path.utf-8',
        'attr',
      )
      .map((k) => `${k.length}:${k}`),
    fc.string({ maxLength: 6 }).map((s) => `${Buffer.byteLength(s)}:${s}`),
  ),
})).value;

const magnetish = fc
  .tuple(
    fc.constantFrom('magnet:?', 'magnet:', 'MAGNET:?', ''),
    fc.array(
      fc.oneof(
        fc.constantFrom(
          `xt=urn:btih:${'ab'.repeat(20)}`,
          'xt=urn:btih:VOV2XK5LVOV2XK5LVOV2XK5LVOV2XK5L',
          `dn=${COMMUNITY}`,
          'x.pe=127.0.0.1:6881',
          'tr=udp%3A%2F%2Fx',
          'dn=%zz',
          'xt=urn:btmh:1220',
        ),
        fc.string({ maxLength: 24 }),
        fc.string({ unit: fc.constantFrom(...'xtdn=&:%+?urnbtih0123456789abcdefABCDEF'), maxLength: 60 }),
      ),
      { maxLength: 5 },
    ),
  )
  .map(([prefix, params]) => prefix + params.join('&'));

// ------------------------------------------------------------------ scenario texts

const SCENARIO_DIR = join(import.meta.dirname, '..', 'scenarios');
const SCENARIOS = readdirSync(SCENARIO_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .sort()
  .map((f) => readFileSync(join(SCENARIO_DIR, f), 'utf8'));

const yamlSnippet = fc.constantFrom(
  '*a',
  '&a [1, 2]',
  '<<: *a',
  '!!binary AAAA',
  '!!timestamp 2026-01-01',
  '!!float .nan',
  '!!int 99999999999999999999999',
  '{',
  '[',
  '"\\u0000"',
  '? complex key',
  '- - -',
  '---',
  '...',
  '%YAML 1.1',
  '~',
  '0x1F',
  '1e400',
  '-.inf',
  '@',
  '`',
  '\t',
  '|-\n  text',
  '>\n  folded',
  'duration: 9999999999999d',
  'at: -1d',
  'rate: 1/0s',
  'size: 1e30MB',
  'seed: 1.5',
  'start: 1970-01-01T00:00:00Z',
  'count: {min: 5, max: 1}',
);
/** Values a scenario field may meet: right ones, wrong ones, odd YAML. */
const scenarioValue = fc.constantFrom(
  '0',
  '1',
  '-1',
  '3',
  '1e309',
  '0.5',
  '7d',
  '1ms',
  '0s',
  '25h',
  '2w',
  '100/d',
  '0/d',
  '1/0s',
  '30MB',
  '1KiB',
  '0B',
  '[]',
  '{}',
  'true',
  'false',
  'null',
  '~',
  '"x"',
  "''",
  '0x10',
  'owner',
  'member',
  'alice',
  'c1',
  'general',
  '2026-01-05T00:00:00Z',
  '{min: 1}',
  '{max: 0}',
  '{min: 5, max: 1}',
  '[owner]',
  '*a',
  '!!str 1',
  'immediately',
  'spec',
);
/** A library scenario with the values of a few `key: value` lines replaced: many still load. */
const scenarioWithValues = fc
  .tuple(
    fc.constantFrom(...SCENARIOS),
    fc.array(fc.tuple(position, scenarioValue), { minLength: 1, maxLength: 3 }),
  )
  .map(([text, edits]) => {
    const lines = text.split('\n');
    const values = lines.flatMap((l, i) => (/^\s*-?\s*[A-Za-z]+: \S/.test(l) ? [i] : []));
    for (const [at, value] of edits) {
      const i = values[Math.floor(at * values.length)];
      if (i !== undefined) lines[i] = lines[i]!.replace(/^(\s*-?\s*[A-Za-z]+: ).*$/, `$1${value}`);
    }
    return lines.join('\n');
  });
const scenarioText = fc.oneof(
  { weight: 3, arbitrary: scenarioWithValues },
  fc
    .tuple(
      fc.constantFrom(...SCENARIOS),
      fc.array(
        fc.tuple(
          position,
          fc.oneof(yamlSnippet, fc.string({ maxLength: 8 })),
          fc.integer({ min: 0, max: 12 }),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([text, edits]) => {
      let t = text;
      for (const [at, insert, cut] of edits) {
        const i = Math.floor(at * (t.length + 1));
        t = t.slice(0, i) + insert + t.slice(i + cut);
      }
      return t;
    }),
  fc.array(yamlSnippet, { maxLength: 6 }).map((parts) => parts.join('\n')),
);

// ------------------------------------------------------------------ the store service

const STORE_CLOCK = { now: () => 1_767_600_100_000 };
function storeWithMessages(): StoreService {
  const store = new StoreService({ clock: STORE_CLOCK as never, retentionSeconds: 30 * 86_400 });
  for (let i = 0; i < 30; i++) {
    const w = decodeWakuV2(
      encodeWakuV2({
        ...RELAY,
        message: { ...RELAY.message, timestamp: 1_767_600_000 + i, hash: new Uint8Array(32).fill(i) },
      }),
    )!;
    store.record(RELAY.pubsubTopic, w);
  }
  return store;
}
const STORE = storeWithMessages();
const storeHash = wakuMessageHash(RELAY.pubsubTopic, decodeWakuV2(WAKU_V2)!);
const storeRequests = [
  {
    pubsubTopic: RELAY.pubsubTopic,
    contentTopics: [RELAY.contentTopic],
    includeData: true,
    paginationForward: true,
  },
  {
    pubsubTopic: RELAY.pubsubTopic,
    contentTopics: [],
    timeStart: 0n,
    timeEnd: 2n ** 63n,
    paginationLimit: 5n,
    paginationForward: false,
    includeData: true,
  },
  {
    pubsubTopic: '',
    contentTopics: [],
    messageHashes: [storeHash],
    paginationForward: true,
    includeData: false,
  },
  {
    pubsubTopic: RELAY.pubsubTopic,
    contentTopics: [],
    paginationCursor: storeHash,
    paginationLimit: BigInt(MAX_PAGE),
    paginationForward: true,
    includeData: true,
  },
].map((r) =>
  proto_store.StoreQueryRequest.encode({
    requestId: 'fuzz',
    messageHashes: [],
    ...r,
  } as proto_store.StoreQueryRequest),
);
/** A client's bytes: one length prefix (right, lying or absent) and a request, in chunks. */
const storeStream = fc
  .tuple(
    mutated(storeRequests, 128),
    fc.oneof(fc.constant(-1), fc.integer({ min: 0, max: 300 }), fc.constantFrom(2 ** 31, 2 ** 35 - 1)),
    fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 4 }),
  )
  .map(([body, lie, cuts]) => {
    const prefix = Uint8Array.from(varintBytes(BigInt(lie < 0 ? body.length : lie)));
    const whole = Buffer.concat([prefix, body]);
    const chunks: Uint8Array[] = [];
    let at = 0;
    for (const c of cuts) {
      if (at >= whole.length) break;
      chunks.push(whole.subarray(at, at + c));
      at += c;
    }
    if (at < whole.length) chunks.push(whole.subarray(at));
    return chunks;
  });

async function* chunksOf(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  for (const c of chunks) yield c;
}

// ------------------------------------------------------------------ campaigns

const isDecodeError = (e: unknown): boolean => e instanceof DecodeError;

/** A campaign of inputs of type T, kept in a list of campaigns of any input type. */
function define<T>(c: Campaign<T>): Campaign {
  return c as unknown as Campaign;
}

export const CAMPAIGNS: Campaign[] = [
  define({
    name: 'index',
    weight: 1,
    arbitrary: mutated([SEED.index]),
    run: (bytes: Uint8Array) => {
      const index = decodeStoredIndex(bytes);
      const entries = [...index.archives].map(([id, m]) => ({ id, ...m }));
      indexLayoutProblems(
        entries,
        P,
        entries.reduce((n, e) => n + e.size, 0),
      );
      for (const e of entries) archiveIdOf(e);
    },
    typed: isDecodeError,
  }),
  define({
    name: 'index entry',
    weight: 0.5,
    arbitrary: mutated(
      [...decodeStoredIndex(SEED.index).archives.values()].map(encodeWakuMessageArchiveIndexMetadata),
    ),
    run: (bytes: Uint8Array) => {
      archiveIdOf(decodeWakuMessageArchiveIndexMetadata(bytes));
    },
    typed: isDecodeError,
  }),
  define({
    name: 'archive',
    weight: 1,
    arbitrary: mutated(SEED.archives, 1024),
    run: (bytes: Uint8Array) => {
      // Then what an import does with it: its messages by topic, in chunks.
      const a = decodeStoredArchive(bytes);
      const topics = new Set([byteKey(topic)]);
      a.messages.filter((m) => topics.has(byteKey(m.topic))).slice(0, 10);
    },
    typed: isDecodeError,
  }),
  define({
    name: 'application metadata',
    weight: 1,
    arbitrary: mutated([LINK]),
    run: (bytes: Uint8Array) => {
      decodeApplicationMetadataMessage(bytes);
    },
    typed: isDecodeError,
  }),
  define({
    name: 'magnetlink',
    weight: 1,
    arbitrary: mutated([LINK]),
    run: (bytes: Uint8Array) => {
      // What a member does with a link off the wire: authenticate, then the §6.1 clock check
      // and the magnet parse the torrent client runs.
      const link = decodeMagnetlinkMessage(bytes);
      magnetlinkClockReason(link.clock, 1_767_600_000_000, 1_767_600_000_000, {
        boundMagnetlinkClock: true,
        magnetlinkClockMaxAheadMs: DAY,
      });
      parseMagnet(link.magnetUri);
    },
    typed: (e) => e instanceof DecodeError || e instanceof SignatureError || e instanceof TorrentFormatError,
  }),
  define({
    name: 'magnetlink payload',
    weight: 0.5,
    arbitrary: mutated([decodeApplicationMetadataMessage(LINK).payload]),
    run: (bytes: Uint8Array) => {
      decodeCommunityMessageArchiveMagnetlink(bytes);
    },
    typed: isDecodeError,
  }),
  define({
    name: 'signature recovery',
    weight: 1,
    arbitrary: fc.tuple(
      mutated([decodeApplicationMetadataMessage(LINK).signature], 80),
      fc.uint8Array({ maxLength: 64 }),
    ),
    run: ([signature, payload]: [Uint8Array, Uint8Array]) => {
      recoverSigner(signature, payload);
    },
    typed: (e) => e instanceof SignatureError,
  }),
  define({
    name: 'torrent',
    weight: 1,
    arbitrary: fc.oneof(
      mutated([SEED.torrent], 256),
      bencodeText.map((t) => new TextEncoder().encode(t)),
    ),
    run: (bytes: Uint8Array) => {
      parseTorrentFile(bytes);
    },
    typed: (e) => e instanceof TorrentFormatError,
  }),
  define({
    name: 'bencode',
    weight: 1,
    arbitrary: fc.oneof(
      bencodeText.map((t) => new TextEncoder().encode(t)),
      mutated([SEED.torrent], 256),
    ),
    run: (bytes: Uint8Array) => {
      checkBencode(bytes);
      decodeBencode(bytes);
    },
    typed: (e) => e instanceof BencodeError,
  }),
  define({
    name: 'magnet',
    weight: 1,
    arbitrary: fc.oneof(magnetish, fc.string({ maxLength: 80 })),
    run: (uri: string) => {
      parseMagnet(uri);
    },
    typed: (e) => e instanceof TorrentFormatError,
  }),
  define({
    name: 'waku relay message',
    weight: 1,
    arbitrary: mutated([WAKU_V2]),
    run: (bytes: Uint8Array) => {
      // Relay validation and delivery never throw: undefined is their refusal.
      const w = decodeWakuV2(bytes);
      if (!w) return;
      const msg = fromWakuV2(RELAY.pubsubTopic, w);
      wakuMessageHash(RELAY.pubsubTopic, w);
      if (msg) encodeWakuV2(msg);
    },
    typed: () => false,
  }),
  define({
    name: 'store service',
    weight: 0.5,
    arbitrary: storeStream,
    run: async (chunks: Uint8Array[]) => {
      // The server's whole path for one stream: framing, decoding, the query, the answer.
      const frame = await readFrame(chunksOf(chunks), MAX_FRAME);
      const answer = await readFrame(chunksOf([answerFrame(STORE, frame)]), MAX_FRAME);
      proto_store.StoreQueryResponse.decode(answer!);
    },
    typed: () => false,
    describe: (chunks: Uint8Array[]) =>
      `${chunks.length} chunks: ${Buffer.concat(chunks).toString('hex').slice(0, 150)}`,
  }),
  define({
    name: 'scenario loader',
    weight: 0.2,
    arbitrary: scenarioText,
    run: (text: string) => {
      parseScenario(text, 'fuzz.yaml');
    },
    typed: (e) => e instanceof UserError,
  }),
];

/**
 * Campaigns that check the harness itself (test/fuzz.test.ts), never part of a run: a
 * target that loops for ever on some inputs (the watchdog must report them as hangs and go
 * on) and one that throws an untyped error on some.
 */
export const CANARIES: Campaign[] = [
  define({
    name: 'canary: loops on a leading 0xff',
    weight: 0,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }),
    run: (bytes: Uint8Array) => {
      // A synchronous loop no timer can interrupt, as the bencode freeze was.
      while (bytes[0] === 0xff) bytes[1] = (bytes[1] ?? 0) ^ 1;
    },
    typed: () => false,
  }),
  define({
    name: 'canary: TypeError on a leading 0x00',
    weight: 0,
    arbitrary: fc.uint8Array({ minLength: 1, maxLength: 4 }),
    run: (bytes: Uint8Array) => {
      if (bytes[0] === 0) (undefined as unknown as { x: number }).x;
      if (bytes[0] === 1) throw new DecodeError('canary', new Error('typed'));
    },
    typed: isDecodeError,
  }),
];

export function campaignNamed(name: string): Campaign {
  const c = [...CAMPAIGNS, ...CANARIES].find((x) => x.name === name);
  if (!c)
    throw new Error(
      `no fuzz campaign named ${JSON.stringify(name)} (${CAMPAIGNS.map((x) => x.name).join(', ')})`,
    );
  return c as unknown as Campaign;
}
