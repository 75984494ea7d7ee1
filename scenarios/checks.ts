// Checks of a run beyond the §10 monitors, judged from the node signals as they are
// emitted (the harness's `onSignal`):
// - noNodeFailure: no node actor fails (`archive.nodeFailed`, e.g. the §5.5 crash);
// - noMissedArchives: a member that ends a task with "no new archives" (§6.2 step 4) holds
//   every archive of the index it read (judged with `download: all` only). This is §10.9
//   for the index the member acted on, and still means something with several control
//   nodes, whose indices diverge (§9);
// - noStuckImport: within one task, a member's import does not fail on the same archive
//   again and again (liveness of §6.3: the reference's retry loop never ends).
// The runner reports them with every run; a scenario file can expect them (`check:`), and
// the explorer judges them after the §10 invariants.

import type { NodeSignal } from '../machines/signals.ts';
import type { HarnessNode } from './harness.ts';

export const CHECKS = ['noNodeFailure', 'noMissedArchives', 'noStuckImport'] as const;
export type CheckName = (typeof CHECKS)[number];

/**
 * Failures of one archive within one task beyond which the import is stuck. A correct member
 * gives an archive that does not decode up (§6.3 without the reference quirk): one failure
 * per task; a missing key is not counted (the import legitimately waits for the key).
 */
export const STUCK_IMPORT_FAILURES = 3;

export interface CheckWatch {
  /** Pass every node signal, in emission order. */
  onSignal(node: HarnessNode, signal: NodeSignal): void;
  /** "ok" or the first failure of each check (of `node` only, when given), node names as `nameOf` gives them. */
  verdicts(options: {
    download: 'all' | 'latest' | 'range';
    nameOf?: (id: string) => string;
    node?: string;
  }): Record<CheckName, string>;
}

interface Found {
  node: string;
  t: number;
  text: string;
}

/** An archive as the run's catalog knows it: its range, and its cid when content-addressed. */
export type CatalogLookup = (id: string) => { from: number; to: number; cid?: string } | undefined;

/**
 * `archiveOf`: the run's catalog, so that an archive of the index a member holds under the
 * other backend's id (a member on both backends) counts as held: same range, other backend.
 */
export function watchChecks(archiveOf: CatalogLookup = () => undefined): CheckWatch {
  const failures: Found[] = [];
  const missed: Found[] = [];
  const stuck: Found[] = [];
  const lastIndex = new Map<string, string[]>();
  const failuresInTask = new Map<string, Map<string, number>>();
  const key = (node: string, communityId: string) => `${node}\u0000${communityId}`;

  const onSignal = (n: HarnessNode, s: NodeSignal): void => {
    switch (s.type) {
      case 'archive.nodeFailed':
        failures.push({ node: s.node, t: s.t, text: s.error });
        break;
      case 'archive.indexRead':
        lastIndex.set(key(s.node, s.communityId), s.ids);
        break;
      case 'archive.taskStarted':
        failuresInTask.delete(key(s.node, s.communityId));
        break;
      case 'archive.taskEnded': {
        if (s.status !== 'noNewArchives') break;
        const ids = lastIndex.get(key(s.node, s.communityId)) ?? [];
        const records = n.adapters.storage.archives(s.communityId);
        const known = new Set(records.map((a) => a.id));
        const kind = (id: string) => (archiveOf(id)?.cid !== undefined ? 'cid' : 'torrent');
        const byRange = new Set(records.map((a) => `${a.from}-${a.to}-${kind(a.id)}`));
        const held = (id: string): boolean => {
          if (known.has(id)) return true;
          const a = archiveOf(id);
          const other = kind(id) === 'cid' ? 'torrent' : 'cid';
          return a !== undefined && byRange.has(`${a.from}-${a.to}-${other}`);
        };
        const missing = ids.filter((id) => !held(id)).length;
        if (missing > 0)
          missed.push({
            node: s.node,
            t: s.t,
            text: `"no new archives" at t=${s.t} while lacking ${missing} of the ${ids.length} archives of the index`,
          });
        break;
      }
      case 'archive.importFailed': {
        if (s.reason !== 'corrupt') break;
        const k = key(s.node, s.communityId);
        let counts = failuresInTask.get(k);
        if (!counts) {
          counts = new Map();
          failuresInTask.set(k, counts);
        }
        const count = (counts.get(s.id) ?? 0) + 1;
        counts.set(s.id, count);
        if (count === STUCK_IMPORT_FAILURES + 1)
          stuck.push({
            node: s.node,
            t: s.t,
            text: `the import of archive ${s.id} failed ${count} times in one task at t=${s.t} (${s.detail})`,
          });
        break;
      }
      default:
        break;
    }
  };

  const verdicts: CheckWatch['verdicts'] = ({ download, nameOf = (id) => id, node }) => {
    const first = (found: Found[]) => {
      const f = found.find((x) => node === undefined || nameOf(x.node) === node);
      return f ? `${nameOf(f.node)}: ${f.text}` : 'ok';
    };
    return {
      noNodeFailure: first(failures),
      noMissedArchives: download === 'all' ? first(missed) : 'not checked',
      noStuckImport: first(stuck),
    };
  };
  return { onSignal, verdicts };
}
