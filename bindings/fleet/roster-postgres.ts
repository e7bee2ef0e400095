// The roster in PostgreSQL, beside PostgresStorage's tables (same `table` and
// `schema`): <table>_roster (the wanted sessions and their open options),
// <table>_workers (heartbeats), and the storage's own <table>_leases, which the
// claims write. A tick is one statement: the heartbeat upserted, unowned sessions
// picked with FOR UPDATE SKIP LOCKED (two workers never wait on, nor take, the same
// rows) and their leases inserted, or taken over where expired (re-checked in the
// ON CONFLICT clause), the live workers and the roster's size read back. Times are
// the server's clock, as the leases' are.

import type { PgPool } from '../storage/postgres';
import { identifier } from '../storage/sql';
import type { SessionStorage } from '../storage/types';
import {
  type ClaimedSession,
  type ClaimRequest,
  checkEntry,
  decodeEntry,
  encodeOptions,
  type Roster,
  type TickResult,
  type WorkerBeat,
  workerInfoOf,
} from './roster';
import { type RosterEntry, type SessionPlacement, type WorkerInfo, workerOfOwner } from './types';

export interface PostgresRosterOptions {
  /** The pool the PostgresStorage uses (or any pg.Pool on the same database). */
  pool: PgPool;
  /** PostgresStorage's `table` (default tmt_sessions) and `schema`. */
  table?: string;
  schema?: string;
  /** The session storage on these tables: its tables are made first (the claims write its leases). */
  storage: SessionStorage;
}

const MS = (col: string) => `round(extract(epoch from ${col}) * 1000)::float8`;

export class PostgresRoster implements Roster {
  private readonly pool: PgPool;
  private readonly r: string;
  private readonly w: string;
  private readonly l: string;
  private migrated: Promise<void> | undefined;

  constructor(private readonly options: PostgresRosterOptions) {
    this.pool = options.pool;
    const base = options.table ?? 'tmt_sessions';
    const q = (n: string) =>
      options.schema ? `${identifier(options.schema)}.${identifier(n)}` : identifier(n);
    this.r = q(`${base}_roster`);
    this.w = q(`${base}_workers`);
    this.l = q(`${base}_leases`);
  }

  private ready(): Promise<void> {
    this.migrated ??= (async () => {
      // The leases table is the storage's: let it make its tables (a read does).
      await this.options.storage.lease('');
      const c = await this.pool.connect();
      try {
        await c.query('BEGIN');
        await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`telegram-mt-fleet:${this.r}`]);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.r} (
          name text PRIMARY KEY, dc_id integer NOT NULL, options text NOT NULL,
          added_at timestamptz NOT NULL DEFAULT clock_timestamp(),
          not_before timestamptz, last_error text)`);
        await c.query(`CREATE TABLE IF NOT EXISTS ${this.w} (
          id text PRIMARY KEY, capacity integer NOT NULL, owned integer NOT NULL,
          started_at timestamptz NOT NULL, beat_at timestamptz NOT NULL,
          expires_at timestamptz NOT NULL, lag text)`);
        await c.query('COMMIT');
        c.release();
      } catch (e) {
        await c.query('ROLLBACK').catch(() => {});
        c.release(e as Error);
        throw e;
      }
    })().catch((e) => {
      this.migrated = undefined;
      throw e;
    });
    return this.migrated;
  }

  private async query(text: string, values?: unknown[]) {
    await this.ready();
    return this.pool.query(text, values);
  }

  async add(entries: readonly RosterEntry[]): Promise<void> {
    for (let i = 0; i < entries.length; i += 5000) {
      const part = entries.slice(i, i + 5000).map(checkEntry);
      await this.query(
        `INSERT INTO ${this.r} (name, dc_id, options)
         SELECT * FROM unnest($1::text[], $2::int[], $3::text[])
         ON CONFLICT (name) DO UPDATE SET dc_id = excluded.dc_id, options = excluded.options,
           not_before = NULL, last_error = NULL`,
        [part.map((e) => e.name), part.map((e) => e.dcId), part.map(encodeOptions)],
      );
    }
  }

  async remove(names: readonly string[]): Promise<number> {
    const res = await this.query(`DELETE FROM ${this.r} WHERE name = ANY($1::text[])`, [names]);
    return res.rowCount ?? 0;
  }

  async get(name: string): Promise<RosterEntry | undefined> {
    const { rows } = await this.query(`SELECT options FROM ${this.r} WHERE name = $1`, [name]);
    return rows.length ? decodeEntry(name, String(rows[0].options)) : undefined;
  }

  async present(names: readonly string[]): Promise<Set<string>> {
    const { rows } = await this.query(`SELECT name FROM ${this.r} WHERE name = ANY($1::text[])`, [names]);
    return new Set(rows.map((r) => String(r.name)));
  }

  async size(): Promise<number> {
    const { rows } = await this.query(`SELECT count(*)::int AS n FROM ${this.r}`);
    return Number(rows[0].n);
  }

  async tick(beat: WorkerBeat, claim: ClaimRequest): Promise<TickResult> {
    const { rows } = await this.query(
      `WITH beat AS (
         INSERT INTO ${this.w} (id, capacity, owned, started_at, beat_at, expires_at, lag)
         VALUES ($1, $2, $3, clock_timestamp(), clock_timestamp(),
                 clock_timestamp() + $4 * interval '1 millisecond', $5)
         ON CONFLICT (id) DO UPDATE SET capacity = excluded.capacity, owned = excluded.owned,
           beat_at = excluded.beat_at, expires_at = excluded.expires_at, lag = excluded.lag
         RETURNING id),
       cand AS (
         SELECT r.name FROM ${this.r} r LEFT JOIN ${this.l} l ON l.name = r.name
         WHERE (l.name IS NULL OR l.expires_at <= clock_timestamp())
           AND (r.not_before IS NULL OR r.not_before <= clock_timestamp())
           AND NOT (r.name = ANY($8::text[]))
         LIMIT $6
         FOR UPDATE OF r SKIP LOCKED),
       taken AS (
         INSERT INTO ${this.l} AS l (name, owner, expires_at)
         SELECT name, $7 || '.' || row_number() OVER (),
                clock_timestamp() + $4 * interval '1 millisecond' FROM cand
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
           WHERE l.expires_at <= clock_timestamp()
         RETURNING name, owner)
       SELECT 'c' AS k, t.name, t.owner, r.options AS v FROM taken t JOIN ${this.r} r ON r.name = t.name
       UNION ALL
       SELECT 'w', w.id, NULL, json_build_object('id', w.id, 'capacity', w.capacity, 'owned', w.owned,
         'startedAt', ${MS('w.started_at')}, 'beatAt', ${MS('w.beat_at')},
         'expiresAt', ${MS('w.expires_at')}, 'lag', w.lag)::text
       FROM ${this.w} w WHERE w.expires_at > clock_timestamp() AND w.id <> $1
       UNION ALL
       SELECT 'n', NULL, NULL, count(*)::text FROM ${this.r}`,
      [
        beat.id,
        beat.capacity,
        beat.owned,
        claim.ttlMs,
        beat.lag ? JSON.stringify(beat.lag) : null,
        Math.max(0, claim.limit),
        claim.ownerPrefix,
        claim.skip,
      ],
    );
    const claimed: ClaimedSession[] = [];
    const workers: WorkerInfo[] = [];
    let rosterSize = 0;
    const now = Date.now();
    for (const row of rows) {
      if (row.k === 'c') {
        const name = String(row.name);
        claimed.push({ name, owner: String(row.owner), entry: decodeEntry(name, String(row.v)) });
      } else if (row.k === 'w') workers.push(workerRow(JSON.parse(String(row.v))));
      else rosterSize = Number(row.v);
    }
    // The statement's snapshot predates its own heartbeat: this worker is alive.
    workers.push(workerInfoOf(beat, claim.ttlMs, now));
    return { claimed, workers, rosterSize };
  }

  async defer(name: string, untilMs: number, error: string): Promise<void> {
    await this.query(
      `UPDATE ${this.r} SET not_before = to_timestamp($2::float8 / 1000), last_error = $3 WHERE name = $1`,
      [name, untilMs, error.slice(0, 500)],
    );
  }

  async leave(workerId: string): Promise<void> {
    await this.query(`DELETE FROM ${this.w} WHERE id = $1`, [workerId]);
  }

  async workers(): Promise<WorkerInfo[]> {
    const { rows } = await this.query(
      `SELECT id, capacity, owned, ${MS('started_at')} AS "startedAt", ${MS('beat_at')} AS "beatAt",
         ${MS('expires_at')} AS "expiresAt", lag
       FROM ${this.w} WHERE expires_at > clock_timestamp() ORDER BY id`,
    );
    return rows.map(workerRow);
  }

  async placements(): Promise<SessionPlacement[]> {
    const { rows } = await this.query(
      `SELECT r.name, l.owner,
         CASE WHEN l.expires_at > clock_timestamp()
           THEN ${MS('l.expires_at')} - ${MS('clock_timestamp()')} END AS left_ms,
         r.last_error, ${MS('r.not_before')} AS not_before
       FROM ${this.r} r LEFT JOIN ${this.l} l ON l.name = r.name ORDER BY r.name`,
    );
    return rows.map((row) => {
      const p: SessionPlacement = { name: String(row.name) };
      if (row.left_ms !== null && row.owner !== null) {
        p.owner = String(row.owner);
        p.worker = workerOfOwner(p.owner);
        p.leaseLeftMs = Number(row.left_ms);
      }
      if (row.last_error !== null) p.lastError = String(row.last_error);
      if (row.not_before !== null) p.notBefore = Number(row.not_before);
      return p;
    });
  }

  async close(): Promise<void> {}
}

function workerRow(r: Record<string, unknown>): WorkerInfo {
  const lag = r.lag;
  return {
    id: String(r.id),
    capacity: Number(r.capacity),
    owned: Number(r.owned),
    startedAt: Number(r.startedAt),
    beatAt: Number(r.beatAt),
    expiresAt: Number(r.expiresAt),
    lag: typeof lag === 'string' ? JSON.parse(lag) : ((lag as WorkerInfo['lag']) ?? undefined),
  };
}
