// The backend figures of runs (scenarios/run/backend-figures.ts) as rows of words, one
// column per run: the table `archivist compare` prints and the report shows.

import type { BackendFigures, Spread } from './result.ts';
import { formatDuration } from './units.ts';

/** "850 ms", "28 s", "2h30m" — a time to full history in words; "–" without one. */
export function timeText(ms: number | null): string {
  if (ms === null) return '–';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  return formatDuration(Math.round(ms / 1000) * 1000);
}

/** "0 B", "812 kB", "4.82 MB" (decimal units). */
export function bytesText(n: number): string {
  if (n < 1000) return `${n} B`;
  if (n < 1e6) return `${(n / 1e3).toFixed(1)} kB`;
  if (n < 1e9) return `${(n / 1e6).toFixed(2)} MB`;
  return `${(n / 1e9).toFixed(2)} GB`;
}

function detail(parts: Record<string, number>): string {
  const shown = Object.entries(parts).filter(([, v]) => v > 0);
  return shown.length === 0 ? '' : ` (${shown.map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

/** The rows of the comparison table: a label, then one cell per run. */
export function backendRows(figures: readonly BackendFigures[]): string[][] {
  const spread = (pick: (s: Spread) => number | null) =>
    figures.map((f) => timeText(pick(f.timeToFullHistory)));
  return [
    ['time to full history, median', ...spread((s) => s.median)],
    ['time to full history, p90', ...spread((s) => s.p90)],
    ['time to full history, max', ...spread((s) => s.max)],
    ['members complete', ...figures.map((f) => `${f.membersComplete}/${f.membersCounted}`)],
    ['archives imported', ...figures.map((f) => String(f.archivesImported))],
    ['torrent upload, owners', ...figures.map((f) => bytesText(f.uploaded.torrent.owners))],
    ['torrent upload, peers', ...figures.map((f) => bytesText(f.uploaded.torrent.peers))],
    ['content upload, owners', ...figures.map((f) => bytesText(f.uploaded.content.owners))],
    ['content upload, peers', ...figures.map((f) => bytesText(f.uploaded.content.peers))],
    [
      'failed fetches',
      ...figures.map((f) => {
        const { total, ...parts } = f.failedFetches;
        return `${total}${detail(parts)}`;
      }),
    ],
    [
      'retried fetches',
      ...figures.map((f) => {
        const { total, ...parts } = f.retriedFetches;
        return `${total}${detail(parts)}`;
      }),
    ],
  ];
}
