// Units a scenario file may write in words: durations ("7d", "1h30m", "250ms"), sizes
// ("100KiB", "30MB") and rates ("100/d"). Pure parsing, shared by the schema and the docs.

const durationUnits: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
};

/** One or more `<number><unit>` groups, largest first by convention: `7d`, `1h30m`, `1.5s`. */
export const durationPattern = /^(\d+(\.\d+)?(ms|s|m|h|d|w))+$/;
const durationPart = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

/** Milliseconds of a duration string; undefined when it is not one. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (!durationPattern.test(trimmed)) return undefined;
  let total = 0;
  for (const match of trimmed.matchAll(durationPart)) {
    total += Number(match[1]) * (durationUnits[match[2] as string] as number);
  }
  return Math.round(total);
}

/** A duration in the shortest exact words: 604800000 -> "7d", 5400000 -> "1h30m". */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  const parts: string[] = [];
  let rest = Math.abs(ms);
  for (const unit of ['d', 'h', 'm', 's', 'ms']) {
    const size = durationUnits[unit] as number;
    const count = Math.floor(rest / size);
    if (count > 0) {
      parts.push(`${count}${unit}`);
      rest -= count * size;
    }
  }
  return (ms < 0 ? '-' : '') + parts.join('');
}

const sizeUnits: Record<string, number> = {
  b: 1,
  kb: 1000,
  mb: 1_000_000,
  gb: 1_000_000_000,
  kib: 1024,
  mib: 1024 * 1024,
  gib: 1024 * 1024 * 1024,
};

export const sizePattern = /^\d+(\.\d+)?\s*(B|kB|KB|MB|GB|KiB|MiB|GiB)$/;

/** Bytes of a size string like "100KiB" or "30MB"; undefined when it is not one. */
export function parseSize(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([A-Za-z]+)$/.exec(text.trim());
  if (!match || !sizePattern.test(text.trim())) return undefined;
  const unit = sizeUnits[(match[2] as string).toLowerCase()];
  if (unit === undefined) return undefined;
  return Math.round(Number(match[1]) * unit);
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
