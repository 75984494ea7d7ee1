// Which shard of an exploration this process runs, when `--shard` is not given: from the
// environment of the engine that started it, so a fleet needs no scheduler of its own.
//   ARCHIVIST_SHARD=i/n                         any engine (1-based, as --shard)
//   JOB_COMPLETION_INDEX + ARCHIVIST_SHARDS     a Kubernetes Indexed Job (0-based index; the
//                                               Job's `completions` set as ARCHIVIST_SHARDS)
//   ARCHIVIST_SHARD_INDEX + ARCHIVIST_SHARDS    a CI matrix (0-based, e.g. GitHub Actions'
//                                               strategy.job-index and strategy.job-total)
//   CI_NODE_INDEX + CI_NODE_TOTAL               GitLab CI `parallel:` (1-based)
//   CIRCLE_NODE_INDEX + CIRCLE_NODE_TOTAL       CircleCI `parallelism:` (0-based)
//   BUILDKITE_PARALLEL_JOB + BUILDKITE_PARALLEL_JOB_COUNT  Buildkite `parallelism:` (0-based)
// The first that is set wins, in this order; none: the whole exploration (1/1).

import { parseShard, type Shard } from './shards.ts';

interface Source {
  index: string;
  count: string;
  /** 0 when the engine counts from 0. */
  base: 0 | 1;
  /** What to set when the count is missing. */
  hint: string;
}

const SOURCES: Source[] = [
  { index: 'JOB_COMPLETION_INDEX', count: 'ARCHIVIST_SHARDS', base: 0, hint: "the Job's completions" },
  { index: 'ARCHIVIST_SHARD_INDEX', count: 'ARCHIVIST_SHARDS', base: 0, hint: 'the number of shards' },
  { index: 'CI_NODE_INDEX', count: 'CI_NODE_TOTAL', base: 1, hint: 'the number of parallel jobs' },
  { index: 'CIRCLE_NODE_INDEX', count: 'CIRCLE_NODE_TOTAL', base: 0, hint: 'the parallelism' },
  {
    index: 'BUILDKITE_PARALLEL_JOB',
    count: 'BUILDKITE_PARALLEL_JOB_COUNT',
    base: 0,
    hint: 'the parallelism',
  },
];

export interface ShardChoice {
  shard: Shard;
  /** Where it came from: "--shard", an environment variable's name, or "default". */
  from: string;
}

/** The shard of `--shard`, else of the environment, else 1/1; a RangeError names what is wrong. */
export function resolveShard(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): ShardChoice {
  if (flag !== undefined) return { shard: parseShard(flag), from: '--shard' };
  const whole = env.ARCHIVIST_SHARD;
  if (whole !== undefined && whole !== '') {
    try {
      return { shard: parseShard(whole), from: 'ARCHIVIST_SHARD' };
    } catch (error) {
      throw new RangeError(`ARCHIVIST_SHARD: ${(error as Error).message}`);
    }
  }
  for (const s of SOURCES) {
    const index = env[s.index];
    if (index === undefined || index === '') continue;
    const count = env[s.count];
    if (count === undefined || count === '')
      throw new RangeError(`${s.index}=${index} is set but ${s.count} is not: set it to ${s.hint}`);
    if (!/^\d+$/.test(index)) throw new RangeError(`${s.index}: expected a whole number, got "${index}"`);
    if (!/^\d+$/.test(count)) throw new RangeError(`${s.count}: expected a whole number, got "${count}"`);
    const i = Number(index) + (1 - s.base);
    const n = Number(count);
    if (n < 1 || i < 1 || i > n)
      throw new RangeError(
        `${s.index}=${index} is outside the ${n} shards of ${s.count} (${s.base === 0 ? `0..${n - 1}` : `1..${n}`})`,
      );
    return { shard: { index: i, count: n }, from: s.index };
  }
  return { shard: { index: 1, count: 1 }, from: 'default' };
}
