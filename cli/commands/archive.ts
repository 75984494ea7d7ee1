// `archivist archive build|inspect|extract`: the archive format of protocol.md §4–§5.1 on
// real files. Bad input (a malformed message line, an unknown archive id, a truncated
// `data`, an index that does not decode, a wrong community id) raises UserError before
// anything is written; `createArchiveRound` itself appends `data` only once the whole round
// is encoded and replaces `index` and the `.torrent` atomically.

import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { Command } from 'commander';
import { NodeFileSystem } from '../../adapters/real/node-fs.ts';
import {
  ArchiveFormatError,
  createArchiveRound,
  indexEntriesByFrom,
  indexPath,
  parseTorrentFile,
  readArchiveMessages,
  readIndex,
  TorrentFormatError,
  verifyCommunityFolder,
} from '../../archive/index.ts';
import { UserError } from '../../errors/user-error.ts';
import { fromHex, toHex } from '../../proto/hex.ts';
import { chatTopic } from '../../proto/topics.ts';
import type { WakuMessage } from '../../proto/types.ts';

const HEX_FIELDS = ['sig', 'topic', 'payload', 'padding', 'hash'] as const;
const KNOWN_FIELDS = new Set<string>(['timestamp', 'thirdPartyId', 'chat', 'text', ...HEX_FIELDS]);

/**
 * One line of the messages file -> a WakuMessage; throws UserError naming file:line and the
 * field. `chat` (a chat id, topic = its Waku v1 topic) may stand for `topic`, and `text`
 * (UTF-8) for `payload`.
 */
export function parseMessageLine(line: string, where: string): WakuMessage {
  let o: unknown;
  try {
    o = JSON.parse(line);
  } catch (error) {
    throw new UserError(`${where}: not JSON (${(error as Error).message})`);
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o))
    throw new UserError(`${where}: not a JSON object`);
  const rec = o as Record<string, unknown>;
  for (const k of Object.keys(rec))
    if (!KNOWN_FIELDS.has(k)) throw new UserError(`${where}: unknown field "${k}"`);
  const ts = rec.timestamp;
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts) || ts < 0) {
    throw new UserError(`${where}: field "timestamp" must be a non-negative integer (unix seconds)`);
  }
  const bytes = (field: (typeof HEX_FIELDS)[number]): Uint8Array => {
    const v = rec[field];
    if (v === undefined) return new Uint8Array(0);
    if (typeof v !== 'string' || !/^0x([0-9a-fA-F]{2})*$/.test(v)) {
      throw new UserError(`${where}: field "${field}" must be 0x-prefixed hex`);
    }
    return fromHex(v);
  };
  const third = rec.thirdPartyId;
  if (third !== undefined && typeof third !== 'string') {
    throw new UserError(`${where}: field "thirdPartyId" must be a string`);
  }
  const instead = (field: 'chat' | 'text', of: 'topic' | 'payload'): string | undefined => {
    const v = rec[field];
    if (v === undefined) return undefined;
    if (rec[of] !== undefined) throw new UserError(`${where}: give "${of}" or "${field}", not both`);
    if (typeof v !== 'string' || (field === 'chat' && v === ''))
      throw new UserError(
        `${where}: field "${field}" must be a${field === 'chat' ? ' non-empty' : ''} string`,
      );
    return v;
  };
  const chat = instead('chat', 'topic');
  const text = instead('text', 'payload');
  return {
    sig: bytes('sig'),
    timestamp: ts,
    topic: chat !== undefined ? chatTopic(chat) : bytes('topic'),
    payload: text !== undefined ? new TextEncoder().encode(text) : bytes('payload'),
    padding: bytes('padding'),
    hash: bytes('hash'),
    thirdPartyId: third ?? '',
  };
}

/** A message as one JSON line of the input format. */
export function messageToJson(m: WakuMessage): string {
  const o: Record<string, unknown> = { timestamp: m.timestamp };
  for (const f of HEX_FIELDS) o[f] = toHex(m[f]);
  if (m.thirdPartyId !== '') o.thirdPartyId = m.thirdPartyId;
  return JSON.stringify(o);
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    throw new UserError(
      `${file}: cannot read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

export function readMessagesFile(file: string): WakuMessage[] {
  const out: WakuMessage[] = [];
  const lines = readText(file).split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '') continue;
    out.push(parseMessageLine(line, `${file}:${i + 1}`));
  }
  return out;
}

/** `0x` + a 33-byte compressed secp256k1 public key, lowercase. */
export function checkCommunityId(id: string, what: string): string {
  if (!/^0x0[23][0-9a-f]{64}$/.test(id)) {
    throw new UserError(
      `${what}: wrong community id ${JSON.stringify(id)} (expected 0x + 33-byte compressed public key, lowercase hex)`,
    );
  }
  try {
    secp256k1.Point.fromHex(id.slice(2));
  } catch {
    throw new UserError(`${what}: wrong community id ${id} (not a point of secp256k1)`);
  }
  return id;
}

function integerFlag(name: string, value: string | undefined, min: number): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value))
    throw new UserError(`--${name}: ${JSON.stringify(value)} is not a non-negative integer`);
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UserError(`--${name}: must be an integer >= ${min}`);
  return n;
}

function parseTopics(value: string | undefined): Uint8Array[] | undefined {
  if (value === undefined) return undefined;
  return value.split(',').map((t) => {
    const s = t.trim();
    if (!/^0x([0-9a-fA-F]{2})+$/.test(s))
      throw new UserError(`--topics: ${JSON.stringify(s)} is not 0x-prefixed hex`);
    return fromHex(s);
  });
}

/** The community folder named on the command line: must exist and be named after a community id. */
function openFolder(arg: string): { folder: string; communityId: string; torrent?: Uint8Array } {
  const folder = resolve(arg);
  let isDir = false;
  try {
    isDir = statSync(folder).isDirectory();
  } catch {
    // reported below
  }
  if (!isDir) throw new UserError(`${arg}: no such community folder`);
  const communityId = checkCommunityId(basename(folder), arg);
  const tPath = join(dirname(folder), `${communityId}.torrent`);
  let torrent: Uint8Array | undefined;
  try {
    torrent = new Uint8Array(readFileSync(tPath));
  } catch {
    torrent = undefined;
  }
  if (torrent) {
    let name: string;
    try {
      name = parseTorrentFile(torrent).name;
    } catch (error) {
      throw new UserError(`${tPath}: ${(error as Error).message}`);
    }
    if (name !== communityId)
      throw new UserError(`${tPath}: wrong community id: the torrent is named ${name}`);
  }
  return torrent ? { folder, communityId, torrent } : { folder, communityId };
}

/** Archive-format errors become one-line user errors naming the file. */
function userErrors<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof ArchiveFormatError || error instanceof TorrentFormatError)
      throw new UserError(error.message);
    throw error;
  }
}

interface BuildFlags {
  community: string;
  messages: string;
  out: string;
  start?: string;
  end?: string;
  interval?: string;
  pieceLength?: string;
  maxArchiveBytes?: string;
  topics?: string;
}

function build(flags: BuildFlags): void {
  const communityId = checkCommunityId(flags.community, '--community');
  const interval = integerFlag('interval', flags.interval, 1);
  const pieceLength = integerFlag('piece-length', flags.pieceLength, 1);
  const maxArchiveBytes = integerFlag('max-archive-bytes', flags.maxArchiveBytes, 1);
  let start = integerFlag('start', flags.start, 0);
  let end = integerFlag('end', flags.end, 0);
  if (start !== undefined && end !== undefined && end < start)
    throw new UserError('--end must not be before --start');
  const given = parseTopics(flags.topics);
  const messages = readMessagesFile(flags.messages);
  const topics =
    given ??
    [...new Map(messages.map((m) => [toHex(m.topic), m.topic])).entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([, t]) => t);
  const wanted = new Set(topics.map(toHex));
  const onTopics = messages.filter((m) => wanted.has(toHex(m.topic)));

  const fs = new NodeFileSystem();
  const out = resolve(flags.out);
  const folder = join(out, communityId);
  // Reading the folder first: a broken one is reported before anything is written.
  const index = userErrors(() => readIndex(fs, folder));
  if (start === undefined) {
    let lastEnd: number | undefined;
    for (const m of index.archives.values()) lastEnd = Math.max(lastEnd ?? 0, m.metadata.to);
    start =
      lastEnd ??
      onTopics.reduce<number | undefined>((a, m) => Math.min(a ?? m.timestamp, m.timestamp), undefined);
  }
  if (end === undefined) {
    const newest = onTopics.reduce<number | undefined>(
      (a, m) => Math.max(a ?? m.timestamp, m.timestamp),
      undefined,
    );
    end = newest === undefined ? start : newest + 1;
  }
  start ??= end ?? 0;
  end ??= start;
  if (end < start) end = start;
  const result = userErrors(() =>
    createArchiveRound(fs, {
      dataDir: out,
      torrentDir: out,
      communityId,
      topics,
      messages: onTopics,
      start: start ?? 0,
      end: end ?? 0,
      options: {
        ...(interval !== undefined ? { interval } : {}),
        ...(pieceLength !== undefined ? { pieceLength } : {}),
        ...(maxArchiveBytes !== undefined ? { maxArchiveBytes } : {}),
      },
      createdBy: communityId,
      creationDate: Math.floor(Date.now() / 1000),
    }),
  );
  process.stdout.write(
    `${JSON.stringify({
      communityId: result.communityId,
      start: result.start,
      end: result.end,
      archives: result.archives,
      dropped: result.dropped,
      infoHash: result.infoHash ?? null,
      magnet: result.magnet ?? null,
    })}\n`,
  );
}

/**
 * Bad input (no such folder, not named after a community, no index file, a torrent of
 * another community) exits 2; a community folder whose contents fail a check (an index that
 * does not decode, a truncated data, wrong padding, a piece that does not match) prints the
 * report and exits 1, one stderr line per problem.
 */
function inspect(arg: string): void {
  const { folder, communityId, torrent } = openFolder(arg);
  const fs = new NodeFileSystem();
  if (!fs.exists(indexPath(folder)))
    throw new UserError(`${indexPath(folder)}: no such file (not a community folder)`);
  const report = verifyCommunityFolder(fs, folder, torrent);
  let index: ReturnType<typeof readIndex> | undefined;
  try {
    index = readIndex(fs, folder);
  } catch {
    index = undefined; // the report says why
  }
  const entries = (index ? indexEntriesByFrom(index) : []).map(([id, m]) => ({
    id,
    from: m.metadata.from,
    to: m.metadata.to,
    offset: m.offset,
    size: m.size,
    padding: m.padding,
    topics: m.metadata.contentTopic.map(toHex),
  }));
  const parsed = torrent ? parseTorrentFile(torrent) : undefined;
  process.stdout.write(
    `${JSON.stringify(
      {
        communityId,
        folder,
        archives: entries,
        totals: {
          archives: report.archives,
          messages: report.messages,
          dataBytes: report.dataBytes,
          indexBytes: report.indexBytes,
          paddingBytes: entries.reduce((n, e) => n + e.padding, 0),
        },
        torrent: parsed
          ? { infoHash: parsed.infoHash, pieceLength: parsed.pieceLength, pieces: parsed.pieceHashes.length }
          : null,
        verification: { ok: report.ok, checks: report.checks, problems: report.problems },
      },
      null,
      2,
    )}\n`,
  );
  if (!report.ok) {
    const problems = report.problems.length > 0 ? report.problems : ['unknown problem'];
    throw new UserError(problems.map((p) => `${folder}: verification failed: ${p}`).join('\n'), 1);
  }
}

function extract(arg: string, archiveId: string): void {
  if (!/^0x[0-9a-f]{64}$/.test(archiveId)) {
    throw new UserError(`${JSON.stringify(archiveId)} is not an archive id (0x + 64 lowercase hex)`);
  }
  const { folder } = openFolder(arg);
  const fs = new NodeFileSystem();
  const index = userErrors(() => readIndex(fs, folder));
  const meta = index.archives.get(archiveId);
  if (!meta) throw new UserError(`${indexPath(folder)}: unknown archive id ${archiveId}`);
  const archive = userErrors(() => readArchiveMessages(fs, folder, meta));
  process.stdout.write(archive.messages.map((m) => `${messageToJson(m)}\n`).join(''));
}

export function register(program: Command): void {
  const archive = program
    .command('archive')
    .description('build, inspect and extract community history archives');
  archive
    .command('build')
    .description(
      'create or append a round of archives in <out>/<communityId>/{data,index} and <out>/<communityId>.torrent',
    )
    .requiredOption('--community <id>', 'community id: 0x + 33-byte compressed public key')
    .requiredOption('--messages <file>', 'messages, one JSON object per line')
    .requiredOption('--out <dir>', 'folder holding the community folder and its .torrent')
    .option(
      '--start <unix s>',
      'range start (default: the last archive end of the folder, else the oldest message)',
    )
    .option('--end <unix s>', 'range end, exclusive (default: the newest message + 1)')
    .option('--interval <s>', 'partition length in seconds (default 604800)')
    .option('--piece-length <bytes>', 'torrent piece length (default 102400)')
    .option('--max-archive-bytes <n>', 'most payload+sig bytes in one archive (default 30000000)')
    .option(
      '--topics <0x hex,...>',
      'community topics (default: the distinct topics of the messages, sorted)',
    )
    .action((flags: BuildFlags) => build(flags));
  archive
    .command('inspect')
    .description('print every index entry, totals and the verification verdicts of a community folder')
    .argument('<folder>', '<dir>/<communityId>')
    .action((folder: string) => inspect(folder));
  archive
    .command('extract')
    .description("print one archive's messages as JSON lines")
    .argument('<folder>', '<dir>/<communityId>')
    .argument('<archiveId>', '0x + 64 hex')
    .action((folder: string, id: string) => extract(folder, id));
}
