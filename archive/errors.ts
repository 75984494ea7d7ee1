// Typed errors of the archive format. Everything read from disk or from the network that
// does not fit the format raises one of these, so callers (CLI, machines) can tell bad
// input from bugs.

/** A community folder, index, archive or torrent that does not follow the format. */
export class ArchiveFormatError extends Error {
  /** The file concerned, when there is one. */
  readonly path: string | undefined;
  constructor(message: string, path?: string) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ArchiveFormatError';
    this.path = path;
  }
}

/** A `.torrent` file (or info dictionary, or magnet link) that cannot be used. */
export class TorrentFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TorrentFormatError';
  }
}

/** An archive id that is not in the index. */
export class UnknownArchiveError extends Error {
  readonly id: string;
  constructor(id: string, path?: string) {
    super(`${path ? `${path}: ` : ''}no archive ${id} in the index`);
    this.name = 'UnknownArchiveError';
    this.id = id;
  }
}

/** The codec of an encrypted community cannot decode yet (the key has not arrived). */
export class MissingKeyError extends Error {
  constructor(message = 'the decryption key is missing') {
    super(message);
    this.name = 'MissingKeyError';
  }
}
