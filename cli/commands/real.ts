// Commands on the real backends: `archivist seed` and `archivist fetch` (plain BitTorrent
// over webtorrent, TCP, peers given directly).
//
//   archivist seed <communityFolder> [--torrent <file>] [--port N] [--host A]
//     seeds the folder; prints one JSON line {"infoHash","magnet","port"} once peers can
//     fetch, serves until SIGINT/SIGTERM, then stops and exits 0.
//   archivist fetch <magnet> --peer <host:port> --out <dir> [--index-only] [--timeout s]
//     downloads the index (and, unless --index-only, every piece), verified piece by piece
//     against the info dictionary, checks the index against `data`, prints a JSON result.

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { checkFetchedFolder, magnetFor, torrentForFolder } from '../../adapters/real/community-folder.ts';
import { NodeFileSystem } from '../../adapters/real/node-fs.ts';
import { StorageFileError } from '../../adapters/real/sqlite-storage.ts';
import { parseMagnet, TorrentRefused, WebTorrentClient } from '../../adapters/real/webtorrent-client.ts';
import { UserError } from '../../errors/user-error.ts';
import type { RealNode } from '../../host/real-node.ts';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UserError(`--port: ${value} is not a TCP port (0-65535)`);
  return n;
}

function parsePeer(value: string, previous: string[] = []): string[] {
  const m = /^([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535 || Number(m[2]) === 0)
    throw new UserError(`--peer: ${value} is not host:port`);
  return [...previous, value];
}

function writeJson(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}

function waitForStopSignal(): Promise<string> {
  return new Promise((resolveSignal) => {
    const onSignal = (sig: string) => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolveSignal(sig);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function seedCommand(
  folder: string,
  opts: { torrent?: string; port: number; host: string },
): Promise<void> {
  const dir = resolve(folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`${folder}: no such community folder`);
  for (const f of ['data', 'index']) {
    if (!existsSync(join(dir, f)))
      throw new UserError(`${folder}: missing the file ${f} (not a community folder)`);
  }
  let torrent: Uint8Array;
  if (opts.torrent) {
    if (!existsSync(opts.torrent)) throw new UserError(`--torrent: ${opts.torrent}: no such file`);
    torrent = readFileSync(opts.torrent);
  } else {
    try {
      torrent = torrentForFolder(dir);
    } catch (err) {
      throw new UserError(`${folder}: ${(err as Error).message}`);
    }
  }
  const client = new WebTorrentClient({ port: opts.port, host: opts.host });
  const stopped = waitForStopSignal();
  try {
    await client.start();
    let infoHash: string;
    try {
      infoHash = await client.seed(torrent, dirname(dir));
    } catch (err) {
      if (err instanceof TorrentRefused) throw new UserError(`${folder}: ${err.message}`);
      throw err;
    }
    const magnet = magnetFor(infoHash, basename(dir), `${opts.host}:${client.port}`);
    writeJson({ infoHash, magnet, port: client.port });
    await stopped;
  } finally {
    await client.stop();
  }
}

export interface FetchResult {
  ok: boolean;
  infoHash: string;
  name?: string;
  dir?: string;
  pieces?: number;
  piecesFetched?: number;
  archives?: number;
  bytesDown: number;
  /** From start to the last piece verified (the figure the benchmark compares). */
  downloadSeconds?: number;
  /** Including the checks of the downloaded folder. */
  seconds: number;
  error?: string;
}

export async function fetchCommand(
  magnet: string,
  opts: {
    peer: string[];
    out: string;
    indexOnly?: boolean;
    timeout: number;
    host: string;
    community?: string;
  },
): Promise<FetchResult> {
  let parsed: ReturnType<typeof parseMagnet>;
  try {
    parsed = parseMagnet(magnet);
  } catch (err) {
    throw new UserError(`magnet: ${(err as Error).message}`);
  }
  const client = new WebTorrentClient({ host: opts.host, peers: opts.peer });
  const started = performance.now();
  const result: FetchResult = { ok: false, infoHash: parsed.infoHash, bytesDown: 0, seconds: 0 };
  try {
    await client.start();
    const dl = client.add(magnet, resolve(opts.out), opts.community ? { community: opts.community } : {});
    const signal = AbortSignal.timeout(opts.timeout * 1000);
    const meta = await dl.metadata(signal).catch((err: unknown) => {
      if (signal.aborted)
        throw new Error(`no torrent metadata from ${opts.peer.join(', ')} within ${opts.timeout} s`);
      throw err;
    });
    result.name = meta.name;
    result.dir = join(resolve(opts.out), meta.name);
    result.pieces = meta.pieceCount;
    if (!meta.files.some((f) => f.path === 'index'))
      throw new TorrentRefused(`torrent ${meta.name} has no file named index (malformed)`);
    await dl.downloadFile('index', signal);
    if (!opts.indexOnly) await dl.downloadPieces(0, meta.pieceCount, signal);
    result.downloadSeconds = (performance.now() - started) / 1000;
    result.archives = checkFetchedFolder(result.dir, meta, !opts.indexOnly);
    result.piecesFetched = opts.indexOnly ? undefined : meta.pieceCount;
    result.ok = true;
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    result.bytesDown = client.stats().bytesDown;
    result.seconds = (performance.now() - started) / 1000;
    await client.stop();
  }
  return result;
}

export async function nodeCommand(configPath: string): Promise<void> {
  if (!existsSync(configPath)) throw new UserError(`--config: ${configPath}: no such file`);
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new UserError(`${configPath}: not YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  // Loaded on demand: the machines are not needed by `seed` and `fetch`.
  const { parseRealNodeConfig, startRealNode } = await import('../../host/real-node.ts');
  const parsed = parseRealNodeConfig(raw);
  if (!parsed.ok) throw new UserError(`${configPath}: ${parsed.error}`);
  const abort = new AbortController();
  const stopped = waitForStopSignal().then((sig) => {
    abort.abort(new Error(`stopped by ${sig}`));
    return sig;
  });
  let node: RealNode | undefined;
  try {
    node = await startRealNode({
      config: parsed.config,
      baseDir: dirname(resolve(configPath)),
      fs: new NodeFileSystem(),
      onSignal: (s) => writeJson(s),
      onListening: (info) => writeJson({ type: 'node.listening', ...info }),
      signal: abort.signal,
    });
  } catch (err) {
    if (abort.signal.aborted) return;
    // A database that is not SQLite, damaged or newer: the user's file, left as it was.
    if (err instanceof StorageFileError) throw new UserError(`database ${err.message}`);
    throw err;
  }
  writeJson({ type: 'node.started', nodeId: node.info.nodeId });
  await stopped;
  await node.stop();
  writeJson({ type: 'node.stopped', nodeId: node.info.nodeId });
}

export function register(program: Command): void {
  program
    .command('node')
    .description('Run one archivist node on the real backends; prints its signals as JSON lines')
    .requiredOption('--config <file>', 'node configuration (YAML or JSON, see docs/real-backends.md)')
    .action(async (opts: { config: string }) => {
      await nodeCommand(opts.config);
    });

  program
    .command('seed')
    .description('Seed a community folder (data + index) over BitTorrent until SIGINT/SIGTERM')
    .argument('<communityFolder>', 'folder named after the community id, holding data and index')
    .option('--torrent <file>', 'the .torrent of the folder (default: rebuilt from the folder)')
    .option('--port <n>', 'TCP port to listen on (0 = any free port)', parsePort, 0)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(async (folder: string, opts: { torrent?: string; port: number; host: string }) => {
      await seedCommand(folder, opts);
    });

  program
    .command('fetch')
    .description('Download a community torrent from given peers, verified, and print a JSON result')
    .argument('<magnet>', 'magnet link of the community torrent')
    .requiredOption('--peer <host:port>', 'peer to fetch from (repeatable)', parsePeer)
    .requiredOption('--out <dir>', 'folder to write <communityId>/{data,index} into')
    .option('--index-only', 'fetch only the index file')
    .option(
      '--timeout <seconds>',
      'give up after this many seconds',
      (v: string) => {
        const n = Number(v);
        if (!(n > 0)) throw new UserError(`--timeout: ${v} is not a positive number of seconds`);
        return n;
      },
      60,
    )
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .option('--community <id>', 'refuse the torrent unless its folder is this community id')
    .action(
      async (
        magnet: string,
        opts: {
          peer: string[];
          out: string;
          indexOnly?: boolean;
          timeout: number;
          host: string;
          community?: string;
        },
      ) => {
        const result = await fetchCommand(magnet, opts);
        writeJson(result);
        if (!result.ok) process.exitCode = 1;
      },
    );
}
