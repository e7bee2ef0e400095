// The roster in a SQLite file, for workers on one machine, beside SqliteStorage's
// tables (same `path` and `table`): <table>_roster and <table>_workers. A tick is one
// BEGIN IMMEDIATE transaction, SQLite's one writer at a time standing in for SKIP
// LOCKED: the heartbeat, the live workers, and claims written into the storage's
// <table>_leases (ms on this host's clock, as SqliteStorage keeps them). The file's
// write lock is held only inside one synchronous call, never across an await.

import { loadDriver } from '../storage/drivers';
import { identifier } from '../storage/sql';
import type { SqliteDatabase, SqliteDriver } from '../storage/sqlite';
import type { SessionStorage } from '../storage/types';
import {
  type ClaimedSession,
  type ClaimRequest,
  checkEntry,
  decodeEntry,
  encodeOptions,
  parseWorker,
  type Roster,
  type TickResult,
  type WorkerBeat,
  workerInfoOf,
} from './roster';
import { type RosterEntry, type SessionPlacement, type WorkerInfo, workerOfOwner } from './types';

export interface SqliteRosterOptions {
  /** SqliteStorage's file. */
  path: string;
  table?: string;
  /** The SqliteStorage on this file: made first, it creates the leases table. */
  storage: SessionStorage;
  busyTimeoutMs?: number;
  driver?: SqliteDriver;
}

interface Row {
  name: string;
  options: string;
}

export class SqliteRoster implements Roster {
  private readonly db: SqliteDatabase;
  private readonly r: string;
  private readonly w: string;
  private readonly l: string;

  constructor(options: SqliteRosterOptions) {
    void options.storage;
    const Driver = options.driver ?? loadDriver<SqliteDriver>('better-sqlite3');
    this.db = new Driver(options.path, { timeout: options.busyTimeoutMs ?? 5000 });
    this.db.pragma('journal_mode = WAL');
    const base = options.table ?? 'tmt_sessions';
    this.r = identifier(`${base}_roster`);
    this.w = identifier(`${base}_workers`);
    this.l = identifier(`${base}_leases`);
    this.db
      .transaction(() => {
        this.db.exec(`CREATE TABLE IF NOT EXISTS ${this.r} (name TEXT PRIMARY KEY, dc_id INTEGER NOT NULL,
          options TEXT NOT NULL, not_before INTEGER, last_error TEXT)`);
        this.db.exec(`CREATE TABLE IF NOT EXISTS ${this.w} (id TEXT PRIMARY KEY, info TEXT NOT NULL,
          expires_at INTEGER NOT NULL)`);
      })
      .immediate();
  }

  async add(entries: readonly RosterEntry[]): Promise<void> {
    const put = this.db.prepare(
      `INSERT INTO ${this.r} (name, dc_id, options) VALUES (?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET dc_id = excluded.dc_id, options = excluded.options,
         not_before = NULL, last_error = NULL`,
    );
    this.db
      .transaction(() => {
        for (const e of entries) put.run(checkEntry(e).name, e.dcId, encodeOptions(e));
      })
      .immediate();
  }

  async remove(names: readonly string[]): Promise<number> {
    return this.db
      .prepare(`DELETE FROM ${this.r} WHERE name IN (SELECT value FROM json_each(?))`)
      .run(JSON.stringify(names)).changes;
  }

  async get(name: string): Promise<RosterEntry | undefined> {
    const row = this.db.prepare(`SELECT options FROM ${this.r} WHERE name = ?`).get(name) as Row | undefined;
    return row ? decodeEntry(name, row.options) : undefined;
  }

  async present(names: readonly string[]): Promise<Set<string>> {
    const rows = this.db
      .prepare(`SELECT name FROM ${this.r} WHERE name IN (SELECT value FROM json_each(?))`)
      .all(JSON.stringify(names)) as Row[];
    return new Set(rows.map((r) => r.name));
  }

  async size(): Promise<number> {
    return (this.db.prepare(`SELECT count(*) AS n FROM ${this.r}`).get() as { n: number }).n;
  }

  async tick(beat: WorkerBeat, claim: ClaimRequest): Promise<TickResult> {
    return this.db
      .transaction((): TickResult => {
        const now = Date.now();
        const info = workerInfoOf(beat, claim.ttlMs, now);
        this.db
          .prepare(
            `INSERT INTO ${this.w} (id, info, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET info = excluded.info, expires_at = excluded.expires_at`,
          )
          .run(beat.id, JSON.stringify(info), info.expiresAt);
        this.db.prepare(`DELETE FROM ${this.w} WHERE expires_at <= ?`).run(now);
        const workers = (this.db.prepare(`SELECT info FROM ${this.w}`).all() as Array<{ info: string }>)
          .map((r) => parseWorker(r.info))
          .filter((w): w is WorkerInfo => !!w);
        const claimed: ClaimedSession[] = [];
        if (claim.limit > 0) {
          const rows = this.db
            .prepare(
              `SELECT r.name, r.options FROM ${this.r} r LEFT JOIN ${this.l} l ON l.name = r.name
               WHERE (l.name IS NULL OR l.expires_at <= ?) AND (r.not_before IS NULL OR r.not_before <= ?)
                 AND r.name NOT IN (SELECT value FROM json_each(?))
               LIMIT ?`,
            )
            .all(now, now, JSON.stringify(claim.skip), claim.limit) as Row[];
          const take = this.db.prepare(
            `INSERT INTO ${this.l} (name, owner, expires_at) VALUES (?, ?, ?)
             ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at`,
          );
          rows.forEach((row, i) => {
            const owner = `${claim.ownerPrefix}.${i + 1}`;
            take.run(row.name, owner, now + claim.ttlMs);
            claimed.push({ name: row.name, owner, entry: decodeEntry(row.name, row.options) });
          });
        }
        const rosterSize = (this.db.prepare(`SELECT count(*) AS n FROM ${this.r}`).get() as { n: number }).n;
        return { claimed, workers, rosterSize };
      })
      .immediate();
  }

  async defer(name: string, untilMs: number, error: string): Promise<void> {
    this.db
      .prepare(`UPDATE ${this.r} SET not_before = ?, last_error = ? WHERE name = ?`)
      .run(Math.floor(untilMs), error.slice(0, 500), name);
  }

  async leave(workerId: string): Promise<void> {
    this.db.prepare(`DELETE FROM ${this.w} WHERE id = ?`).run(workerId);
  }

  async workers(): Promise<WorkerInfo[]> {
    const rows = this.db
      .prepare(`SELECT info FROM ${this.w} WHERE expires_at > ? ORDER BY id`)
      .all(Date.now()) as Array<{ info: string }>;
    return rows.map((r) => parseWorker(r.info)).filter((w): w is WorkerInfo => !!w);
  }

  async placements(): Promise<SessionPlacement[]> {
    const now = Date.now();
    const rows = this.db
      .prepare(
        `SELECT r.name, l.owner, l.expires_at AS exp, r.last_error AS err, r.not_before AS nb
         FROM ${this.r} r LEFT JOIN ${this.l} l ON l.name = r.name ORDER BY r.name`,
      )
      .all() as Array<{
      name: string;
      owner: string | null;
      exp: number | null;
      err: string | null;
      nb: number | null;
    }>;
    return rows.map((row) => {
      const p: SessionPlacement = { name: row.name };
      if (row.owner !== null && row.exp !== null && row.exp > now) {
        p.owner = row.owner;
        p.worker = workerOfOwner(row.owner);
        p.leaseLeftMs = row.exp - now;
      }
      if (row.err !== null) p.lastError = row.err;
      if (row.nb !== null) p.notBefore = row.nb;
      return p;
    });
  }

  async close(): Promise<void> {
    this.db.close();
  }
}
