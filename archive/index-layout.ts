// The layout a member can check before it downloads anything (protocol.md §4, §10 invariant
// 3), from the torrent's metadata and its `index` alone: the torrent holds exactly `data`
// then `index`; every archive's size is a positive multiple of the piece length and holds
// its padding; offsets are contiguous from 0; the last offset + size is the length of
// `data`. The reference trusts the index instead: an entry overlapping another, or whose
// padding exceeds its size, cannot be read at import and is retried for ever, and every
// archive after it waits behind it.

/** What the check needs of one index entry. */
export interface IndexLayoutEntry {
  id: string;
  offset: number;
  size: number;
  padding: number;
}

/** What the check needs of the torrent: its piece length and files, in torrent order. */
export interface TorrentLayout {
  pieceLength: number;
  files: ReadonlyArray<{ path: string; length: number; offset: number }>;
}

/** Problems of the torrent's file list against §4: exactly `data` at 0, then `index`. */
export function torrentLayoutProblems(torrent: TorrentLayout): string[] {
  const paths = torrent.files.map((f) => f.path);
  if (paths.length !== 2 || paths[0] !== 'data' || paths[1] !== 'index') {
    return [`the torrent holds ${JSON.stringify(paths)}, not exactly ["data","index"]`];
  }
  return [];
}

const isCount = (n: number): boolean => Number.isSafeInteger(n) && n >= 0;

/**
 * One line per way the index breaks §10 invariant 3 against a torrent whose `data` file is
 * `dataLength` bytes; [] when it keeps it. Entries in any order.
 */
export function indexLayoutProblems(
  entries: readonly IndexLayoutEntry[],
  pieceLength: number,
  dataLength: number,
): string[] {
  const problems: string[] = [];
  for (const e of entries) {
    if (!isCount(e.offset) || !isCount(e.size) || !isCount(e.padding)) {
      problems.push(
        `archive ${e.id}: offset ${e.offset}, size ${e.size}, padding ${e.padding} are not byte counts`,
      );
    } else if (e.size === 0 || e.size % pieceLength !== 0) {
      problems.push(
        `archive ${e.id}: size ${e.size} is not a positive multiple of the piece length ${pieceLength}`,
      );
    } else if (e.padding > e.size) {
      problems.push(`archive ${e.id}: padding ${e.padding} > size ${e.size}`);
    }
  }
  const byOffset = [...entries].sort(
    (a, b) => a.offset - b.offset || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
  let expected = 0;
  for (const e of byOffset) {
    if (e.offset !== expected) {
      problems.push(
        e.offset < expected
          ? `archive ${e.id} at offset ${e.offset} overlaps the archive before it (which ends at ${expected})`
          : `archive ${e.id} at offset ${e.offset} leaves a gap after ${expected}`,
      );
    }
    expected = Math.max(expected, e.offset + e.size);
  }
  if (expected !== dataLength) {
    problems.push(`the index describes ${expected} bytes of data, the torrent's data file has ${dataLength}`);
  }
  return problems;
}

/** Both checks for a downloaded index and its torrent; [] when the member may download. */
export function archiveLayoutProblems(
  entries: readonly IndexLayoutEntry[],
  torrent: TorrentLayout,
): string[] {
  const files = torrentLayoutProblems(torrent);
  if (files.length > 0) return files;
  const data = torrent.files[0]!;
  return indexLayoutProblems(entries, torrent.pieceLength, data.length);
}

/** One line for a task's end: what is wrong with the torrent's files; undefined when nothing. */
export function torrentLayoutVerdict(torrent: TorrentLayout): string | undefined {
  return torrentLayoutProblems(torrent)[0];
}

/** One line for a task's end: how the index breaks §10 invariant 3 (up to three ways); undefined when it keeps it. */
export function indexLayoutVerdict(
  entries: readonly IndexLayoutEntry[],
  torrent: TorrentLayout,
): string | undefined {
  const problems = archiveLayoutProblems(entries, torrent);
  if (problems.length === 0) return undefined;
  const more = problems.length > 3 ? `; ${problems.length - 3} more` : '';
  return `the index breaks §10 invariant 3: ${problems.slice(0, 3).join('; ')}${more}`;
}
