// `archivist seed --backend cid` and `archivist fetch --backend cid`: the content-addressed
// backend on Helia (adapters/real/helia-content-store.ts), TCP on loopback, peers given as
// multiaddrs.
//
//   archivist seed --backend cid <communityFolder|roundFolder> [--port N] [--host A] [--store dir]
//     uploads the folder's archives (each on its own) and the index; prints one JSON line
//     {"indexCid","archives","bytes","multiaddrs"} once peers can fetch, serves until
//     SIGINT/SIGTERM, then stops and exits 0.
//   archivist fetch --backend cid <indexCid> --peer <multiaddr> --out <dir> [--index-only] [--timeout s]
//     fetches the index and (unless --index-only) every archive, verified block by block
//     against their ids, checks the index entries and the archives against them, writes
//     <out>/<indexCid>/{index,archives/<id>} and prints a JSON result (exit 1 when not ok).

import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import {
  folderKind,
  uploadCommunityFolder,
  uploadRoundFolder,
  writeRoundFolder,
} from '../../adapters/real/content-folder.ts';
import { HeliaContentStore } from '../../adapters/real/helia-content-store.ts';
import {
  ArchiveFormatError,
  cidEntriesNewestFirst,
  decodeCidArchive,
  decodeStoredCidIndex,
  verifyCidIndex,
} from '../../archive/index.ts';
import { UserError } from '../../errors/user-error.ts';
import { parseContentId } from '../../proto/archive-link.ts';

export function parseMultiaddrPeer(value: string): string {
  if (!/^\/ip[46]\/[^/\s]+\/tcp\/\d{1,5}\/p2p\/[1-9A-HJ-NP-Za-km-z]+$/.test(value))
    throw new UserError(`--peer: ${value} is not a multiaddr /ip4/<host>/tcp/<port>/p2p/<peer id>`);
  return value;
}

export async function seedCidCommand(
  folder: string,
  opts: { port: number; host: string; store?: string },
  waitForStop: () => Promise<string>,
  writeJson: (obj: unknown) => void,
): Promise<void> {
  const dir = resolve(folder);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UserError(`${folder}: no such folder`);
  const kind = folderKind(dir);
  if (!kind)
    throw new UserError(
      `${folder}: neither a community folder (data, index) nor a round folder (index, archives/)`,
    );
  const store = new HeliaContentStore({
    host: opts.host,
    port: opts.port,
    ...(opts.store ? { dir: resolve(opts.store) } : {}),
  });
  const stopped = waitForStop();
  try {
    await store.start();
    let round: Awaited<ReturnType<typeof uploadCommunityFolder>>;
    try {
      round =
        kind === 'community' ? await uploadCommunityFolder(store, dir) : await uploadRoundFolder(store, dir);
    } catch (err) {
      if (err instanceof ArchiveFormatError) throw new UserError(`${folder}: ${err.message}`);
      throw err;
    }
    writeJson({
      indexCid: round.indexCid,
      archives: round.archives,
      bytes: round.bytes,
      multiaddrs: store.multiaddrs(),
    });
    await stopped;
  } finally {
    await store.stop();
  }
}

export interface CidFetchResult {
  ok: boolean;
  indexCid: string;
  dir?: string;
  archives?: number;
  /** Stored bytes of the archives fetched. */
  bytes?: number;
  bytesDown: number;
  /** From start to the last archive verified (the figure the benchmark compares). */
  downloadSeconds?: number;
  seconds: number;
  error?: string;
}

export async function fetchCidCommand(
  indexCid: string,
  opts: { peer: string[]; out: string; indexOnly?: boolean; timeout: number; host: string },
): Promise<CidFetchResult> {
  if (parseContentId(indexCid) === undefined)
    throw new UserError(`index cid: ${indexCid} is not a content id`);
  const peers = opts.peer.map(parseMultiaddrPeer);
  const store = new HeliaContentStore({ host: opts.host, peers });
  const started = performance.now();
  const result: CidFetchResult = { ok: false, indexCid, bytesDown: 0, seconds: 0 };
  try {
    await store.start();
    const signal = AbortSignal.timeout(opts.timeout * 1000);
    const timedOut = (what: string) => (err: unknown) => {
      if (signal.aborted) throw new Error(`no ${what} from ${peers.join(', ')} within ${opts.timeout} s`);
      throw err;
    };
    const indexBytes = await store.fetch(indexCid, { signal }).catch(timedOut('index'));
    const index = decodeStoredCidIndex(indexBytes);
    const problems = verifyCidIndex(index);
    if (problems.length > 0) throw new ArchiveFormatError(`index ${indexCid}: ${problems.join('; ')}`);
    const archives = new Map<string, Uint8Array>();
    if (!opts.indexOnly) {
      // Newest first and all at once, as the reference's downloader starts them.
      const entries = cidEntriesNewestFirst(index);
      const fetched = await Promise.all(
        entries.map(([, entry]) =>
          store.fetch(entry.cid, { signal }).catch(timedOut(`archive ${entry.cid}`)),
        ),
      );
      entries.forEach(([id, entry], i) => {
        decodeCidArchive(id, entry, fetched[i]!);
        archives.set(id, fetched[i]!);
      });
    }
    result.downloadSeconds = (performance.now() - started) / 1000;
    result.dir = writeRoundFolder(resolve(opts.out), indexCid, indexBytes, archives);
    result.archives = index.archives.size;
    result.bytes = [...archives.values()].reduce((n, b) => n + b.length, 0);
    result.ok = true;
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    result.bytesDown = store.stats().bytesDown;
    result.seconds = (performance.now() - started) / 1000;
    await store.stop();
  }
  return result;
}

/** Where `fetch --backend cid` writes a round (for tests and the benchmark). */
export function roundFolderOf(out: string, indexCid: string): string {
  return join(resolve(out), indexCid);
}
