// `archivist/explore`: random faulted scenarios checked against the §10 invariants and
// liveness, with failures shrunk to a replayable scenario and trace (docs/explore.md).

export { type ExploreConfig, explore, type RunOutcome } from '../explore/explorer.ts';
export { defaultJobs, exploreInWorkers } from '../explore/parallel.ts';
export {
  type ExploreFailure,
  type ExploreSummary,
  mergeSummaries,
  parseShard,
  type Shard,
  shardRuns,
} from '../explore/shards.ts';
