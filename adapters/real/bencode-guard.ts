// The bencode check of archive/bencode.ts, on every copy of the `bencode` package that the
// peer-wire packages load.
//
// Importing archive/bencode.ts guards the copy this project resolves. A host app's install
// may nest other copies under the peer-wire packages (npm does when versions differ), and
// those decode what peers send too: the extended handshake (bittorrent-protocol) and the
// metadata exchange (ut_metadata). Each is found the way Node resolves a bare import, from
// the package that imports it, and guarded in place.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { type BencodeModule, guardBencode } from '../../archive/bencode.ts';

/** The packages that decode peer bytes with bencode. */
const PEER_WIRE_PACKAGES = ['bittorrent-protocol', 'ut_metadata'];

/** `<dir>/node_modules/<name>` for `dir` and each of its parents, as Node looks it up. */
function findPackageDir(name: string, fromDir: string): string | undefined {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

function entryOf(packageDir: string): string {
  const pkg = JSON.parse(readFileSync(join(packageDir, 'package.json'), 'utf8')) as {
    exports?: string | { import?: string; default?: string; '.'?: unknown };
    main?: string;
  };
  const e = pkg.exports;
  const fromExports = typeof e === 'string' ? e : (e?.import ?? e?.default);
  return join(packageDir, typeof fromExports === 'string' ? fromExports : (pkg.main ?? 'index.js'));
}

/** Guards every bencode copy the peer-wire packages import; returns their paths. */
export async function guardPeerWireBencode(): Promise<string[]> {
  const here = dirname(fileURLToPath(import.meta.url));
  const copies = new Set<string>();
  for (const name of PEER_WIRE_PACKAGES) {
    const consumer = findPackageDir(name, here);
    if (consumer === undefined) continue;
    const copy = findPackageDir('bencode', consumer);
    if (copy !== undefined) copies.add(copy);
  }
  const guarded: string[] = [];
  for (const dir of [...copies].sort()) {
    const mod = (await import(pathToFileURL(entryOf(dir)).href)) as { default?: BencodeModule };
    if (typeof mod.default?.decode !== 'function') continue;
    guardBencode(mod.default);
    guarded.push(dir);
  }
  return guarded;
}
