// Commands on the real backends: `archivist seed` and `archivist fetch` (plain BitTorrent
// over TCP, peers given directly).
//
//   archivist seed <communityFolder> [--torrent <file>] [--port N] [--host A]
//     seeds the folder; prints one JSON line {"infoHash","magnet","port"} once peers can
//     fetch, serves until SIGINT/SIGTERM, then stops and exits 0.
//   archivist fetch <magnet> [--peer <host:port>] --out <dir> [--index-only] [--timeout s]
//     downloads the index (and, unless --index-only, every piece) from the magnet's x.pe
//     peers and the --peer ones, verified piece by piece against the info dictionary, checks
//     the index against `data`, prints a JSON result.
// With `--backend cid` both run the content-addressed backend instead (cli/commands/real-cid.ts).

import { existsSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import {
  BitTorrentClient,
  ListenError,
  type PeerUnusable,
  parseMagnet,
  TorrentRefused,
} from '../../adapters/real/bittorrent-client.ts';
import { checkFetchedFolder, magnetFor, torrentForFolder } from '../../adapters/real/community-folder.ts';
import { NodeFileSystem } from '../../adapters/real/node-fs.ts';
import { StorageFileError } from '../../adapters/real/sqlite-storage.ts';
import { UserError } from '../../errors/user-error.ts';
import type { RealNode } from '../../host/real-node.ts';
import { followMessageFeed, readMessageFeed } from '../message-feed.ts';
import { errorLines } from '../terminal.ts';

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UserError(`--port: ${value} is not a TCP port (0-65535)`);
  return n;
}

function checkHostPort(value: string): string {
  const m = /^([^\s:/]+|\[[0-9a-fA-F:]+\]):(\d{1,5})$/.exec(value);
  if (!m || Number(m[2]) > 65535 || Number(m[2]) === 0)
    throw new UserError(`--peer: ${value} is not host:port`);
  return value;
}

/** Peers are host:port for the torrent backend and multiaddrs for the cid one: checked in the action. */
function collectPeer(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

type Backend = 'torrent' | 'cid';

function parseBackend(value: string): Backend {
  if (value !== 'torrent' && value !== 'cid')
    throw new UserError(`--backend: ${value} is not torrent or cid`);
  return value;
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

/** Starts a torrent client; a socket that cannot be opened is the user's --port or --host. */
async function startListening(client: BitTorrentClient): Promise<void> {
  try {
    await client.start();
  } catch (err) {
    if (!(err instanceof ListenError)) throw err;
    const flag = err.code === 'EADDRNOTAVAIL' ? '--host' : '--port';
    const why =
      err.code === 'EADDRINUSE'
        ? 'it is in use by another process'
        : err.code === 'EADDRNOTAVAIL'
          ? 'it is not an address of this machine'
          : (err.code ?? err.message);
    throw new UserError(`${flag}: cannot listen on ${err.address}: ${why}`);
  }
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
  const client = new BitTorrentClient({ port: opts.port, host: opts.host });
  const stopped = waitForStopSignal();
  try {
    await startListening(client);
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
  /** Peers fetched from: the magnet's x.pe, then --peer. */
  peers: string[];
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

/**
 * Peers come from the magnet's `x.pe=host:port` and from `--peer`. When no peer at all can be
 * used (refused, silent, not seeding this torrent), fetch does not wait for its timeout: a
 * `--peer` among them is bad input (exit 2, one line per peer), the magnet's own peers alone
 * are a failed fetch (exit 1, JSON).
 */
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
  const peers = [...new Set([...parsed.peers, ...opts.peer])];
  if (peers.length === 0)
    throw new UserError(
      'magnet: no peer to fetch from (the link has no x.pe=host:port); give one with --peer host:port',
    );
  const client = new BitTorrentClient({ host: opts.host, peers: opts.peer });
  await startListening(client);
  const started = performance.now();
  const result: FetchResult = { ok: false, infoHash: parsed.infoHash, peers, bytesDown: 0, seconds: 0 };
  let unusable: PeerUnusable[] | undefined;
  try {
    const dl = client.add(magnet, resolve(opts.out), opts.community ? { community: opts.community } : {});
    const signal = AbortSignal.timeout(opts.timeout * 1000);
    const noPeer = Promise.allSettled(peers.map((p) => client.firstContact(parsed.infoHash, p))).then(
      (outcomes) => {
        if (outcomes.some((o) => o.status === 'fulfilled')) return new Promise<never>(() => {});
        unusable = outcomes.map((o) => (o as PromiseRejectedResult).reason as PeerUnusable);
        throw new Error(`no peer could be used: ${unusable.map((u) => u.message).join('; ')}`);
      },
    );
    const meta = await Promise.race([dl.metadata(signal), noPeer]).catch((err: unknown) => {
      if (signal.aborted)
        throw new Error(`no torrent metadata from ${peers.join(', ')} within ${opts.timeout} s`);
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
  const wrongFlags = (unusable ?? []).filter((u) => opts.peer.includes(u.address));
  if (wrongFlags.length > 0) throw new UserError(wrongFlags.map((u) => `--peer: ${u.message}`).join('\n'));
  return result;
}

export async function nodeCommand(configPath: string, opts: { messages?: string } = {}): Promise<void> {
  if (!existsSync(configPath)) throw new UserError(`--config: ${configPath}: no such file`);
  // A file of messages is read, and refused line by line, before anything starts.
  const preload =
    opts.messages !== undefined && opts.messages !== '-' ? readMessageFeed(opts.messages) : undefined;
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(configPath, 'utf8'));
  } catch (err) {
    throw new UserError(`${configPath}: not YAML/JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  // Loaded on demand: the machines are not needed by `seed` and `fetch`.
  const { parseRealNodeConfig, RealNodeConfigError, startRealNode } = await import('../../host/real-node.ts');
  const parsed = parseRealNodeConfig(raw);
  if (!parsed.ok)
    throw new UserError(
      parsed.error
        .split('\n')
        .map((line) => `${configPath}: ${line}`)
        .join('\n'),
    );
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
      // A problem the node runs on with (its torrent port in use): one line, file and field.
      onWarning: (message) => process.stderr.write(`archivist: ${configPath}: ${message}\n`),
      signal: abort.signal,
      ...(preload ? { preload } : {}),
    });
  } catch (err) {
    if (abort.signal.aborted) return;
    if (err instanceof RealNodeConfigError) throw new UserError(`${configPath}: ${err.message}`);
    // A database that is not SQLite, damaged or newer: the user's file, left as it was.
    if (err instanceof StorageFileError) throw new UserError(`database ${err.message}`);
    throw err;
  }
  writeJson({ type: 'node.started', nodeId: node.info.nodeId });
  if (preload) writeJson({ type: 'node.messagesSaved', from: opts.messages, messages: preload.length });
  if (opts.messages === '-') {
    const storage = node.adapters.storage;
    void followMessageFeed(
      process.stdin,
      (m, line) =>
        writeJson({
          type: 'node.messagesSaved',
          from: `-:${line}`,
          messages: 1,
          added: storage.saveMessages([m]),
        }),
      (problem) => process.stderr.write(errorLines(`${problem} (line skipped)`)),
    );
  }
  await stopped;
  // Standard input, when fed from, would keep the process alive after the node stops.
  if (opts.messages === '-') process.stdin.destroy();
  await node.stop();
  writeJson({ type: 'node.stopped', nodeId: node.info.nodeId });
}

export function register(program: Command): void {
  program
    .command('node')
    .description('Run one archivist node on the real backends; prints its signals as JSON lines')
    .requiredOption('--config <file>', 'node configuration (YAML or JSON, see docs/real-backends.md)')
    .option(
      '--messages <file|->',
      'chat messages to store, one JSON object per line (archive build format, or chat + text): a file read before the machines start, or - for standard input while the node runs',
    )
    .action(async (opts: { config: string; messages?: string }) => {
      await nodeCommand(opts.config, opts.messages !== undefined ? { messages: opts.messages } : {});
    });

  program
    .command('seed')
    .description(
      'Seed a community folder (data + index) over BitTorrent, or with --backend cid over the content-addressed backend, until SIGINT/SIGTERM',
    )
    .argument(
      '<folder>',
      'community folder (data, index); with --backend cid also a round folder (index, archives/)',
    )
    .option('--backend <torrent|cid>', 'distribution backend', parseBackend, 'torrent' as Backend)
    .option('--torrent <file>', 'the .torrent of the folder (default: rebuilt from the folder)')
    .option('--store <dir>', 'cid backend: folder of the content store (default: in memory)')
    .option('--port <n>', 'TCP port to listen on (0 = any free port)', parsePort, 0)
    .option('--host <address>', 'address to listen on', '127.0.0.1')
    .action(
      async (
        folder: string,
        opts: { backend: Backend; torrent?: string; store?: string; port: number; host: string },
      ) => {
        if (opts.backend === 'cid') {
          if (opts.torrent) throw new UserError('--torrent: only for --backend torrent');
          const { seedCidCommand } = await import('./real-cid.ts');
          await seedCidCommand(folder, opts, waitForStopSignal, writeJson);
          return;
        }
        if (opts.store) throw new UserError('--store: only for --backend cid');
        await seedCommand(folder, opts);
      },
    );

  program
    .command('fetch')
    .description(
      'Download a community torrent (or with --backend cid a content-addressed round) from given peers, verified, and print a JSON result',
    )
    .argument('<link>', 'magnet link of the community torrent; with --backend cid the index cid')
    .option('--backend <torrent|cid>', 'distribution backend', parseBackend, 'torrent' as Backend)
    .option(
      '--peer <address>',
      "peer to fetch from: host:port besides the magnet's x.pe (torrent), or /ip4/<host>/tcp/<port>/p2p/<id> (cid, required); repeatable",
      collectPeer,
      [] as string[],
    )
    .requiredOption(
      '--out <dir>',
      'folder to write <communityId>/{data,index} (cid: <indexCid>/{index,archives/}) into',
    )
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
        link: string,
        opts: {
          backend: Backend;
          peer: string[];
          out: string;
          indexOnly?: boolean;
          timeout: number;
          host: string;
          community?: string;
        },
      ) => {
        if (opts.backend === 'cid') {
          if (opts.community) throw new UserError('--community: only for --backend torrent');
          if (opts.peer.length === 0) throw new UserError('--peer: the cid backend needs a peer multiaddr');
          const { fetchCidCommand } = await import('./real-cid.ts');
          const result = await fetchCidCommand(link, opts);
          writeJson(result);
          if (!result.ok) process.exitCode = 1;
          return;
        }
        for (const p of opts.peer) checkHostPort(p);
        const result = await fetchCommand(link, opts);
        writeJson(result);
        if (!result.ok) process.exitCode = 1;
      },
    );
}
