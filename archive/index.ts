// The archive format of protocol.md §4–§5.1: a pure core (layout.ts, torrent.ts) and a
// thin layer over the FileSystem port (folder.ts).

export { type ArchiveCodec, decodeStoredArchive, decodeStoredIndex, plainCodec } from './codec.ts';
export {
  type CidIndex,
  type CidIndexEntry,
  type CidPlanInput,
  type CidRoundParams,
  type CidRoundResult,
  type ContentReader,
  type ContentUploader,
  type CreatedCidArchive,
  cidArchiveIdOf,
  cidEntriesByFrom,
  cidEntriesNewestFirst,
  cidIndexesToUnseed,
  cidIndexHasNew,
  createCidRound,
  decodeCidArchive,
  decodeStoredCidIndex,
  encodeStoredCidIndex,
  loadPreviousCidIndex,
  type PlannedCidArchive,
  planCidArchives,
  readCidArchive,
  verifyCidIndex,
} from './content-round.ts';
export { ArchiveFormatError, MissingKeyError, TorrentFormatError, UnknownArchiveError } from './errors.ts';
export {
  type CreatedArchive,
  communityFolder,
  createArchiveRound,
  dataPath,
  extractArchive,
  indexDataLength,
  indexEntriesByFrom,
  indexPath,
  type RoundParams,
  type RoundResult,
  readArchiveMessages,
  readIndex,
  torrentPath,
  type Verdict,
  type VerifyReport,
  verifyCommunityFolder,
} from './folder.ts';
export {
  archiveIdOf,
  type BuildInput,
  type BuiltArchive,
  buildArchives,
  chunkMessages,
  chunkWeight,
  compareMessages,
  paddingFor,
  partitionRanges,
  selectMessages,
} from './layout.ts';
export { infoHashFromMagnet, type Magnet, magnetLink, parseMagnet } from './magnet.ts';
export {
  type ArchiveOptions,
  type ArchiveOptionsInput,
  defaultArchiveOptions,
  resolveArchiveOptions,
} from './options.ts';
export {
  buildTorrentFile,
  checkPathComponent,
  encodeInfoDict,
  magnetFromTorrent,
  type ParsedTorrent,
  parseTorrentFile,
  REFERENCE_TRACKERS,
  sha1Hex,
  type TorrentFile,
  type TorrentInput,
} from './torrent.ts';
