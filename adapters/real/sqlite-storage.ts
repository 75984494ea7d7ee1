// Storage port on node:sqlite (DatabaseSync). Crash safety comes from SQLite itself: the
// database runs in WAL mode with synchronous=FULL, and every port method is one explicit
// transaction (BEGIN IMMEDIATE ... COMMIT), so a process killed mid-method leaves either
// the whole effect or none of it. The schema is versioned with PRAGMA user_version and
// migrated forward on open, each migration in its own transaction.

import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { DatabaseSync, type SQLInputValue, type StatementSync } from 'node:sqlite';
import type { CommunityDescriptions } from '../../ports/community-descriptions.ts';
import {
  ARCHIVE_STATE_KEYS,
  type ArchiveRecord,
  type CommunityArchiveState,
  type Storage,
} from '../../ports/storage.ts';
import type { WakuMessage } from '../../proto/types.ts';

/** Each entry moves the schema from version i to i + 1. Never edit a shipped entry; append. */
const MIGRATIONS: readonly string[] = [
  // 0 -> 1: messages, per-community archive state, downloaded archives.
  `CREATE TABLE messages (
     hash BLOB PRIMARY KEY,
     topic BLOB NOT NULL,
     timestamp INTEGER NOT NULL,
     sig BLOB NOT NULL,
     payload BLOB NOT NULL,
     padding BLOB NOT NULL,
     third_party_id TEXT NOT NULL
   ) WITHOUT ROWID;
   CREATE INDEX messages_by_topic_time ON messages (topic, timestamp, hash);
   CREATE TABLE archive_state (
     community_id TEXT PRIMARY KEY,
     last_archive_end_date INTEGER,
     magnetlink_clock INTEGER,
     last_seen_magnetlink TEXT
   ) WITHOUT ROWID;
   CREATE TABLE archives (
     community_id TEXT NOT NULL,
     id TEXT NOT NULL,
     from_s INTEGER NOT NULL,
     to_s INTEGER NOT NULL,
     imported INTEGER NOT NULL DEFAULT 0,
     PRIMARY KEY (community_id, id)
   ) WITHOUT ROWID;`,
  // 1 -> 2: the communities' encoded descriptions (archive_magnetlink_clock, protocol.md §12).
  `CREATE TABLE community_descriptions (
     community_id TEXT PRIMARY KEY,
     description BLOB NOT NULL
   ) WITHOUT ROWID;`,
  // 2 -> 3: the content-addressed backend's index cid, its link clock and the last one seen.
  `ALTER TABLE archive_state ADD COLUMN index_cid TEXT;
   ALTER TABLE archive_state ADD COLUMN index_cid_clock INTEGER;
   ALTER TABLE archive_state ADD COLUMN last_seen_index_cid TEXT;`,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * A database file that cannot be used as it is: not SQLite, truncated, corrupt, or written by
 * a newer archivist. Raised on open, before anything is written to the file; the message
 * starts with the path.
 */
export class StorageFileError extends Error {
  readonly path: string;
  constructor(path: string, problem: string) {
    super(`${path}: ${problem}`);
    this.name = 'StorageFileError';
    this.path = path;
  }
}

/** A database whose schema version is newer than this archivist's. */
export class StorageSchemaError extends StorageFileError {
  constructor(path: string, problem: string) {
    super(path, problem);
    this.name = 'StorageSchemaError';
  }
}

const SQLITE_MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
const SQLITE_HEADER = 100;

/**
 * What the 100-byte header of an existing database file says is wrong with it, read with
 * plain file reads (SQLite is not asked, so nothing is written): not SQLite, truncated, or
 * a schema version (`user_version`, offset 60) newer than ours. A file beside a `-wal`
 * journal is only checked for its magic and version: after a crash mid-checkpoint its size
 * may lag its header until SQLite recovers the journal.
 */
function checkHeader(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch {
    return; // a new database
  }
  if (size === 0) return; // SQLite treats an empty file as a new database
  const header = Buffer.alloc(Math.min(size, SQLITE_HEADER));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  const magic = SQLITE_MAGIC.subarray(0, Math.min(header.length, SQLITE_MAGIC.length));
  if (!header.subarray(0, magic.length).equals(magic))
    throw new StorageFileError(path, 'not an SQLite database (its first bytes are not "SQLite format 3")');
  if (header.length < SQLITE_HEADER)
    throw new StorageFileError(path, `truncated: ${size} bytes, shorter than an SQLite header`);
  const version = header.readUInt32BE(60);
  if (version > SCHEMA_VERSION) throw newerSchema(path, version);
  const raw = header.readUInt16BE(16);
  const pageSize = raw === 1 ? 65_536 : raw;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0)
    throw new StorageFileError(path, `corrupt: page size ${raw} in the header`);
  if (existsSync(`${path}-wal`)) return;
  // The page count at offset 28 is valid when the change counter (24) matches offset 92.
  const pages = header.readUInt32BE(28);
  if (header.readUInt32BE(24) === header.readUInt32BE(92) && size < pages * pageSize)
    throw new StorageFileError(path, `truncated: ${size} bytes, the header describes ${pages * pageSize}`);
}

function newerSchema(path: string, version: number): StorageSchemaError {
  return new StorageSchemaError(
    path,
    `schema version ${version} is newer than this archivist supports (${MIGRATIONS.length})`,
  );
}

export interface SqliteStorageOptions {
  /** Busy timeout in ms when another connection holds the write lock. */
  busyTimeoutMs?: number;
}

type Row = Record<string, SQLInputValue>;

function bytes(v: SQLInputValue | undefined): Uint8Array {
  if (v instanceof Uint8Array) return new Uint8Array(v);
  return new Uint8Array(0);
}

function num(v: SQLInputValue | undefined): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  throw new TypeError(`expected a number from the database, got ${typeof v}`);
}

function rowToMessage(row: Row): WakuMessage {
  return {
    sig: bytes(row.sig),
    timestamp: num(row.timestamp),
    topic: bytes(row.topic),
    payload: bytes(row.payload),
    padding: bytes(row.padding),
    hash: bytes(row.hash),
    thirdPartyId: typeof row.third_party_id === 'string' ? row.third_party_id : '',
  };
}

export class SqliteStorage implements Storage, CommunityDescriptions {
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #stmts = new Map<string, StatementSync>();
  #closed = false;

  /** Opens (creating when absent) and migrates the database at `path` (`:memory:` allowed). */
  constructor(path: string, options: SqliteStorageOptions = {}) {
    this.path = path;
    const file = path !== ':memory:' && path !== '';
    if (file) checkHeader(path);
    this.#db = new DatabaseSync(path, { timeout: options.busyTimeoutMs ?? 5000 });
    if (file) this.#checkReadable();
    this.#db.exec('PRAGMA journal_mode = WAL');
    this.#db.exec('PRAGMA synchronous = FULL');
    this.#db.exec('PRAGMA foreign_keys = ON');
    this.#migrate();
  }

  /** The schema version stored in the file (PRAGMA user_version). */
  schemaVersion(): number {
    const row = this.#db.prepare('PRAGMA user_version').get() as Row | undefined;
    return num(row?.user_version);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stmts.clear();
    this.#db.close();
  }

  /**
   * Reads before anything is written: the schema version (a journal may hold a newer one than
   * the header) and SQLite's quick check of every page. A failure closes the connection, which
   * leaves the file as it was, and raises StorageFileError.
   */
  #checkReadable(): void {
    let problem: string | undefined;
    let version = 0;
    try {
      version = this.schemaVersion();
      if (version <= MIGRATIONS.length) {
        const rows = this.#db.prepare('PRAGMA quick_check(5)').all() as Row[];
        const found = rows
          .map((r) => String(Object.values(r)[0]).replace(/\s+/g, ' ').trim())
          .filter((v) => v !== 'ok');
        if (found.length > 0) problem = `corrupt: ${found.join('; ')}`;
      }
    } catch (error) {
      const e = error as Error & { errcode?: number };
      problem = e.errcode === 26 ? `not an SQLite database (${e.message})` : `corrupt: ${e.message}`;
    }
    if (problem === undefined && version <= MIGRATIONS.length) return;
    this.#closed = true;
    this.#db.close();
    throw problem === undefined ? newerSchema(this.path, version) : new StorageFileError(this.path, problem);
  }

  #migrate(): void {
    const current = this.schemaVersion();
    if (current > MIGRATIONS.length) throw newerSchema(this.path, current);
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.#tx(() => {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
      });
    }
  }

  #stmt(sql: string): StatementSync {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  /** One atomic unit: BEGIN IMMEDIATE takes the write lock up front, so no upgrade deadlock. */
  #tx<T>(fn: () => T): T {
    if (this.#closed) throw new Error(`${this.path}: storage is closed`);
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      if (this.#db.isTransaction) this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  #topicClause(topics: Uint8Array[]): { sql: string; params: Uint8Array[] } {
    if (topics.length === 0) return { sql: '0', params: [] };
    return { sql: `topic IN (${topics.map(() => '?').join(',')})`, params: topics };
  }

  saveMessages(messages: WakuMessage[]): number {
    if (messages.length === 0) return 0;
    return this.#tx(() => {
      const insert = this.#stmt(
        `INSERT OR IGNORE INTO messages (hash, topic, timestamp, sig, payload, padding, third_party_id)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      let added = 0;
      for (const m of messages) {
        const r = insert.run(m.hash, m.topic, m.timestamp, m.sig, m.payload, m.padding, m.thirdPartyId);
        added += Number(r.changes);
      }
      return added;
    });
  }

  messagesInRange(topics: Uint8Array[], from: number, to: number): WakuMessage[] {
    const t = this.#topicClause(topics);
    // One SELECT reads one snapshot; no write lock needed.
    const rows = this.#db
      .prepare(
        `SELECT * FROM messages WHERE ${t.sql} AND timestamp >= ? AND timestamp < ?
         ORDER BY timestamp, hash`,
      )
      .all(...t.params, from, to) as Row[];
    return rows.map(rowToMessage);
  }

  oldestMessageTimestamp(topics: Uint8Array[]): number | undefined {
    return this.#extreme('MIN', topics);
  }

  newestMessageTimestamp(topics: Uint8Array[]): number | undefined {
    return this.#extreme('MAX', topics);
  }

  #extreme(fn: 'MIN' | 'MAX', topics: Uint8Array[]): number | undefined {
    const t = this.#topicClause(topics);
    const row = this.#db
      .prepare(`SELECT ${fn}(timestamp) AS v FROM messages WHERE ${t.sql}`)
      .get(...t.params) as Row | undefined;
    const v = row?.v;
    return v === null || v === undefined ? undefined : num(v);
  }

  deleteMessagesInRange(topics: Uint8Array[], from: number, to: number): number {
    const t = this.#topicClause(topics);
    return this.#tx(() => {
      const r = this.#db
        .prepare(`DELETE FROM messages WHERE ${t.sql} AND timestamp >= ? AND timestamp < ?`)
        .run(...t.params, from, to);
      return Number(r.changes);
    });
  }

  countMessages(topics?: Uint8Array[]): number {
    if (topics === undefined) {
      return num((this.#stmt('SELECT COUNT(*) AS n FROM messages').get() as Row).n);
    }
    const t = this.#topicClause(topics);
    return num(
      (this.#db.prepare(`SELECT COUNT(*) AS n FROM messages WHERE ${t.sql}`).get(...t.params) as Row).n,
    );
  }

  getArchiveState(communityId: string): CommunityArchiveState {
    const row = this.#stmt('SELECT * FROM archive_state WHERE community_id = ?').get(communityId) as
      | Row
      | undefined;
    const state: CommunityArchiveState = {};
    if (!row) return state;
    if (row.last_archive_end_date !== null) state.lastArchiveEndDate = num(row.last_archive_end_date);
    if (row.magnetlink_clock !== null) state.magnetlinkClock = num(row.magnetlink_clock);
    if (typeof row.last_seen_magnetlink === 'string') state.lastSeenMagnetlink = row.last_seen_magnetlink;
    if (typeof row.index_cid === 'string') state.indexCid = row.index_cid;
    if (row.index_cid_clock !== null && row.index_cid_clock !== undefined)
      state.indexCidClock = num(row.index_cid_clock);
    if (typeof row.last_seen_index_cid === 'string') state.lastSeenIndexCid = row.last_seen_index_cid;
    return state;
  }

  updateArchiveState(communityId: string, patch: Partial<CommunityArchiveState>): void {
    this.#tx(() => {
      const merged: CommunityArchiveState = { ...this.getArchiveState(communityId) };
      // A key present with `undefined` clears the field; an absent key keeps it.
      for (const key of ARCHIVE_STATE_KEYS) {
        if (Object.hasOwn(patch, key)) {
          if (patch[key] === undefined) delete merged[key];
          else (merged as Record<string, unknown>)[key] = patch[key];
        }
      }
      this.#stmt(
        `INSERT INTO archive_state (community_id, last_archive_end_date, magnetlink_clock, last_seen_magnetlink,
           index_cid, index_cid_clock, last_seen_index_cid)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (community_id) DO UPDATE SET
           last_archive_end_date = excluded.last_archive_end_date,
           magnetlink_clock = excluded.magnetlink_clock,
           last_seen_magnetlink = excluded.last_seen_magnetlink,
           index_cid = excluded.index_cid,
           index_cid_clock = excluded.index_cid_clock,
           last_seen_index_cid = excluded.last_seen_index_cid`,
      ).run(
        communityId,
        merged.lastArchiveEndDate ?? null,
        merged.magnetlinkClock ?? null,
        merged.lastSeenMagnetlink ?? null,
        merged.indexCid ?? null,
        merged.indexCidClock ?? null,
        merged.lastSeenIndexCid ?? null,
      );
    });
  }

  archives(communityId: string): ArchiveRecord[] {
    const rows = this.#stmt(
      'SELECT id, from_s, to_s, imported FROM archives WHERE community_id = ? ORDER BY from_s, to_s, id',
    ).all(communityId) as Row[];
    return rows.map((r) => ({
      id: String(r.id),
      from: num(r.from_s),
      to: num(r.to_s),
      imported: num(r.imported) !== 0,
    }));
  }

  markArchiveDownloaded(communityId: string, record: Omit<ArchiveRecord, 'imported'>): void {
    this.#tx(() => {
      // Recording an archive twice keeps its imported flag: nothing is ever imported twice.
      this.#stmt(
        `INSERT INTO archives (community_id, id, from_s, to_s, imported) VALUES (?, ?, ?, ?, 0)
         ON CONFLICT (community_id, id) DO UPDATE SET from_s = excluded.from_s, to_s = excluded.to_s`,
      ).run(communityId, record.id, record.from, record.to);
    });
  }

  markArchiveImported(communityId: string, id: string): void {
    this.#tx(() => {
      const r = this.#stmt('UPDATE archives SET imported = 1 WHERE community_id = ? AND id = ?').run(
        communityId,
        id,
      );
      if (Number(r.changes) === 0) {
        throw new Error(`archive ${id} of community ${communityId} was never recorded as downloaded`);
      }
    });
  }

  forgetCommunity(communityId: string): void {
    this.#tx(() => {
      this.#stmt('DELETE FROM archives WHERE community_id = ?').run(communityId);
      this.#stmt('DELETE FROM archive_state WHERE community_id = ?').run(communityId);
    });
  }

  // --- CommunityDescriptions ---

  readDescription(communityId: string): Uint8Array | undefined {
    const row = this.#stmt('SELECT description FROM community_descriptions WHERE community_id = ?').get(
      communityId,
    ) as { description: Uint8Array } | undefined;
    return row ? new Uint8Array(row.description) : undefined;
  }

  writeDescription(communityId: string, description: Uint8Array): void {
    this.#tx(() => {
      this.#stmt(
        'INSERT INTO community_descriptions (community_id, description) VALUES (?, ?) ON CONFLICT (community_id) DO UPDATE SET description = excluded.description',
      ).run(communityId, description);
    });
  }
}

/** Opens a SqliteStorage; a convenience for callers that prefer a function. */
export function openSqliteStorage(path: string, options?: SqliteStorageOptions): SqliteStorage {
  return new SqliteStorage(path, options);
}
