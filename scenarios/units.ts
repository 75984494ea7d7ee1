// Units a scenario file may write in words: durations ("7d", "1h30m", "250ms"), sizes
// ("100KiB", "30MB") and rates ("100/d"). The patterns are the grammar a scenario file may
// use (the JSON Schema gives them to editors); the arithmetic is parse-duration's,
// pretty-ms's and bytes-iec's (kB = 1000, KiB = 1024).

import bytes from 'bytes-iec';
import parseDurationText from 'parse-duration';
import prettyMs from 'pretty-ms';

/** One or more `<number><unit>` groups, largest first by convention: `7d`, `1h30m`, `1.5s`. */
export const durationPattern = /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/;

/** Milliseconds of a duration string; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!durationPattern.test(trimmed)) return undefined;
  const ms = parseDurationText(trimmed);
  return ms === null || ms === undefined ? undefined : Math.round(ms);
}

/** A duration in the shortest exact words: 604800000 -> "7d", 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  // Days rather than years: a scenario's durations are written in d, h, m, s, ms.
  return prettyMs(ms, { hideYear: true, separateMilliseconds: true }).replaceAll(' ', '');
}

export const sizePattern = /^\d+(\.\d+)?\s*(B|kB|KB|MB|GB|KiB|MiB|GiB)$/;

/** Bytes of a size string like "100KiB" or "30MB"; undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const trimmed = text.trim();
  if (!sizePattern.test(trimmed)) return undefined;
  const n = bytes.parse(trimmed);
  return n === null ? undefined : Math.round(n);
}

export const ratePattern = /^\d+(\.\d+)?\/(\d+(\.\d+)?)?(ms|s|m|h|d|w)$/;

/** A rate "100/d" or "3/1h" as {count, perMs}; undefined when it is not one. */
export function parseRate(text: string): { count: number; perMs: number } | undefined {
  const trimmed = text.trim();
  if (!ratePattern.test(trimmed)) return undefined;
  const [countText, perText] = trimmed.split('/') as [string, string];
  const per = parseDuration(/^\d/.test(perText) ? perText : `1${perText}`);
  if (per === undefined || per === 0) return undefined;
  return { count: Number(countText), perMs: per };
}
