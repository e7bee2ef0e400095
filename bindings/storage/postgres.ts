// Sessions in PostgreSQL (`pg`, an optional peer), shared by many processes.
//
// Tables are created on first use by numbered migrations under an advisory
// lock (two processes starting together do not race). Saves are single-
// statement upserts. Leases are rows whose expiry is compared with the
// server's clock inside the statement that takes them, so the database alone
// decides who owns a session: INSERT ... ON CONFLICT DO UPDATE ... WHERE
// owner = me OR expires_at <= now. A fenced save locks the lease row (FOR
// SHARE) in the same statement, so a take-over waits for it or wins before it.
import { loadDriver } from './drivers';
import { SessionLeaseLostError, SessionLockedError } from './errors';
import { checkClaims, checkOwner, checkTtl, notRenewed } from './lease';
import { applyPatch } from './merge';
import { checkPeer, peerKey } from './peer-codec';
import { type CodecOptions, decodeRecord, encodeRecord } from './record-codec';
import { identifier } from './sql';
import type {
  Lease,
  LeaseClaim,
  RenewResult,
  SaveOptions,
  SessionPatch,
  SessionRecord,
  SessionStorage,
  StoredPeer,
} from './types';

/** The part of node-postgres used here (a pg.Pool fits). */
export interface PgResult {
  rows: Array<Record<string, unknown>>;
  rowCount: number | null;
}
export interface PgClient {
  query(text: string, values?: unknown[]): Promise<PgResult>;
  release(err?: Error | boolean): void;
}
export interface PgPool {
  query(text: string, values?: unknown[]): Promise<PgResult>;
  connect(): Promise<PgClient>;
  end(): Promise<void>;
  on?(event: 'error', listener: (err: Error) => void): unknown;
}

export interface PostgresStorageOptions extends CodecOptions {
  /** postgres://user:password@host:port/db (ignored when `pool` is given). */
  connectionString?: string;
  /** An existing pg.Pool; it stays open on close(). */
  pool?: PgPool;
  /** Connections in the pool this storage creates (default 10). */
  poolSize?: number;
  /** Table name (default tmt_sessions; also <table>_leases and <table>_schema). */
  table?: string;
  /** Schema for the tables (default: the connection's search_path). */
  schema?: string;
}

const MS = `round(extract(epoch from expires_at) * 1000)::float8`;

/** Schema steps, applied in order once each under an advisory lock. */
const MIGRATIONS: ReadonlyArray<(t: string, l: string, p: string) => string> = [
  (t, l) => `
    CREATE TABLE ${t} (
      name text PRIMARY KEY,
      dc_id integer NOT NULL,
      user_id bigint,
      is_bot boolean,
      updated_at timestamptz NOT NULL,
      data bytea NOT NULL
    );
    CREATE TABLE ${l} (name text PRIMARY KEY, owner text NOT NULL, expires_at timestamptz NOT NULL);`,
  // Peers (issue #14): one row per (session, marked id); usernames indexed per session.
  (_t, _l, p) => `
    CREATE TABLE ${p} (
      name text NOT NULL,
      key bigint NOT NULL,
      kind smallint NOT NULL,
      id bigint NOT NULL,
      access_hash bigint,
      min boolean NOT NULL,
      username text,
      phone text,
      bot boolean,
      seen_key bigint,
      seen_msg integer,
      updated_at bigint NOT NULL,
      PRIMARY KEY (name, key)
    );
    CREATE INDEX ON ${p} (name, username) WHERE username IS NOT NULL;`,
];

const KINDS = ['user', 'chat', 'channel'] as const;
const PEER_COLS = 'kind, id, access_hash, min, username, phone, bot, seen_key, seen_msg, updated_at';

function peerOfRow(r: Record<string, unknown>): StoredPeer {
  const p: StoredPeer = {
    kind: KINDS[Number(r.kind)],
    id: BigInt(r.id as string),
    min: r.min === true,
    updatedAt: Number(r.updated_at),
  };
  if (r.access_hash !== null) p.accessHash = BigInt(r.access_hash as string);
  if (r.username !== null) p.username = String(r.username);
  if (r.phone !== null) p.phone = String(r.phone);
  if (r.bot !== null) p.bot = r.bot === true;
  if (r.seen_key !== null && r.seen_msg !== null)
    p.seenIn = { key: BigInt(r.seen_key as string), msgId: Number(r.seen_msg) };
  return p;
}

export class PostgresStorage implements SessionStorage {
  private readonly pool: PgPool;
  private readonly ownPool: boolean;
  private readonly t: string;
  private readonly l: string;
  private readonly v: string;
  private readonly p: string;
  private readonly lockKey: string;
  private migrated: Promise<void> | undefined;

  /** Connects and migrates before resolving (the constructor defers both to the first call). */
  static async open(options: PostgresStorageOptions): Promise<PostgresStorage> {
    const storage = new PostgresStorage(options);
    await storage.ready();
    return storage;
  }

  constructor(private readonly options: PostgresStorageOptions) {
    const base = options.table ?? 'tmt_sessions';
    const q = (n: string) =>
      options.schema ? `${identifier(options.schema)}.${identifier(n)}` : identifier(n);
    this.t = q(base);
    this.l = q(`${base}_leases`);
    this.v = q(`${base}_schema`);
    this.p = q(`${base}_peers`);
    this.lockKey = `telegram-mt:${options.schema ?? ''}.${base}`;
    if (options.pool) {
      this.pool = options.pool;
      this.ownPool = false;
    } else {
      const pg = loadDriver<{ Pool: new (config: object) => PgPool }>('pg');
      this.pool = new pg.Pool({ connectionString: options.connectionString, max: options.poolSize ?? 10 });
      // An idle connection dropped by the server must not crash the process: the
      // pool replaces it, and a query in flight rejects on its own.
      this.pool.on?.('error', () => {});
      this.ownPool = true;
    }
  }

  private ready(): Promise<void> {
    this.migrated ??= this.migrate().catch((err) => {
      this.migrated = undefined;
      throw err;
    });
    return this.migrated;
  }

  private async migrate(): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('SELECT pg_advisory_xact_lock(hashtext($1))', [this.lockKey]);
      await c.query(`CREATE TABLE IF NOT EXISTS ${this.v} (version integer NOT NULL)`);
      const { rows } = await c.query(`SELECT version FROM ${this.v}`);
      const from = rows.length ? Number(rows[0].version) : 0;
      if (!rows.length) await c.query(`INSERT INTO ${this.v} (version) VALUES (0)`);
      for (let i = from; i < MIGRATIONS.length; i++) await c.query(MIGRATIONS[i](this.t, this.l, this.p));
      if (from < MIGRATIONS.length) await c.query(`UPDATE ${this.v} SET version = $1`, [MIGRATIONS.length]);
    });
  }

  private async transaction<T>(fn: (c: PgClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      c.release();
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      c.release(err as Error);
      throw err;
    }
  }

  private async query(text: string, values?: unknown[]): Promise<PgResult> {
    await this.ready();
    return this.pool.query(text, values);
  }

  /** Why a fenced write or a renew found no lease of `owner`. */
  private async leaseError(c: Pick<PgClient, 'query'>, name: string, owner: string): Promise<Error> {
    const { rows } = await c.query(`SELECT owner, ${MS} AS ms FROM ${this.l} WHERE name = $1`, [name]);
    if (!rows.length) return new SessionLeaseLostError(name, owner);
    return new SessionLockedError(name, String(rows[0].owner), Number(rows[0].ms));
  }

  private params(record: SessionRecord, data: Buffer): unknown[] {
    return [
      record.name,
      record.dcId,
      record.userId === undefined ? null : record.userId.toString(),
      record.isBot ?? null,
      record.updatedAt,
      data,
    ];
  }

  private upsertSql(fenced: boolean): string {
    const values = `$1, $2, $3::bigint, $4::boolean, to_timestamp($5::float8 / 1000), $6::bytea`;
    const source = fenced
      ? `SELECT ${values} FROM ${this.l} WHERE name = $1 AND owner = $7 FOR SHARE`
      : `VALUES (${values})`;
    return `INSERT INTO ${this.t} (name, dc_id, user_id, is_bot, updated_at, data) ${source}
      ON CONFLICT (name) DO UPDATE SET dc_id = excluded.dc_id, user_id = excluded.user_id,
        is_bot = excluded.is_bot, updated_at = excluded.updated_at, data = excluded.data`;
  }

  async load(name: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.query(`SELECT data FROM ${this.t} WHERE name = $1`, [name]);
    return rows.length ? decodeRecord(name, rows[0].data as Buffer, this.options) : undefined;
  }

  async loadMany(names: readonly string[]): Promise<Map<string, SessionRecord>> {
    const { rows } = await this.query(`SELECT name, data FROM ${this.t} WHERE name = ANY($1::text[])`, [
      names,
    ]);
    const out = new Map<string, SessionRecord>();
    for (const r of rows)
      out.set(String(r.name), decodeRecord(String(r.name), r.data as Buffer, this.options));
    return out;
  }

  async save(record: SessionRecord, options: SaveOptions = {}): Promise<void> {
    if (options.owner !== undefined) checkOwner(options.owner);
    const full = Number.isFinite(record.updatedAt) ? record : { ...record, updatedAt: Date.now() };
    const params = this.params(full, encodeRecord(full, this.options));
    if (options.owner === undefined) {
      await this.query(this.upsertSql(false), params);
      return;
    }
    const res = await this.query(this.upsertSql(true), [...params, options.owner]);
    if (!res.rowCount) throw await this.leaseError(this.pool, record.name, options.owner);
  }

  async update(
    name: string,
    patch: SessionPatch,
    options: SaveOptions = {},
  ): Promise<SessionRecord | undefined> {
    if (options.owner !== undefined) checkOwner(options.owner);
    await this.ready();
    return this.transaction(async (c) => {
      const { rows } = await c.query(`SELECT data FROM ${this.t} WHERE name = $1 FOR UPDATE`, [name]);
      if (!rows.length) return undefined;
      const next = applyPatch(decodeRecord(name, rows[0].data as Buffer, this.options), patch);
      const params = this.params(next, encodeRecord(next, this.options));
      if (options.owner === undefined) {
        await c.query(this.upsertSql(false), params);
      } else {
        const res = await c.query(this.upsertSql(true), [...params, options.owner]);
        if (!res.rowCount) throw await this.leaseError(c, name, options.owner);
      }
      return next;
    });
  }

  async delete(name: string): Promise<boolean> {
    const res = await this.query(`DELETE FROM ${this.t} WHERE name = $1`, [name]);
    return (res.rowCount ?? 0) > 0;
  }

  async list(prefix = ''): Promise<string[]> {
    const { rows } = await this.query(`SELECT name FROM ${this.t} WHERE starts_with(name, $1)`, [prefix]);
    return rows.map((r) => String(r.name)).sort();
  }

  async acquire(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    const ttl = checkTtl(ttlMs);
    // A lease released between the two statements: take it on the next pass.
    for (;;) {
      const { rows } = await this.query(
        `INSERT INTO ${this.l} AS l (name, owner, expires_at)
           VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
         ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
           WHERE l.owner = excluded.owner OR l.expires_at <= clock_timestamp()
         RETURNING ${MS} AS ms`,
        [name, owner, ttl],
      );
      if (rows.length) return { name, owner, expiresAt: Number(rows[0].ms) };
      const err = await this.leaseError(this.pool, name, owner);
      if (err instanceof SessionLockedError) throw err;
    }
  }

  async renew(name: string, owner: string, ttlMs: number): Promise<Lease> {
    checkOwner(owner);
    const ttl = checkTtl(ttlMs);
    const { rows } = await this.query(
      `UPDATE ${this.l} SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
       WHERE name = $1 AND owner = $2 RETURNING ${MS} AS ms`,
      [name, owner, ttl],
    );
    if (rows.length) return { name, owner, expiresAt: Number(rows[0].ms) };
    throw await this.leaseError(this.pool, name, owner);
  }

  /**
   * One statement: the UPDATE renews the rows still held by their claimed owner
   * (a row taken over meanwhile is re-checked by PostgreSQL and left alone), and
   * the same round trip reads the rows it did not renew, for the errors.
   */
  async renewMany(claims: readonly LeaseClaim[], ttlMs: number): Promise<RenewResult[]> {
    checkClaims(claims);
    const ttl = checkTtl(ttlMs);
    if (claims.length === 0) return [];
    const { rows } = await this.query(
      `WITH c AS (SELECT * FROM unnest($1::text[], $2::text[]) AS c(name, owner)),
       u AS (
         UPDATE ${this.l} AS l SET expires_at = clock_timestamp() + $3 * interval '1 millisecond'
         FROM c WHERE l.name = c.name AND l.owner = c.owner
         RETURNING l.name, l.owner, ${MS} AS ms)
       SELECT true AS renewed, name, owner, ms FROM u
       UNION ALL
       SELECT false, name, owner, ${MS} FROM ${this.l} AS l
       WHERE name IN (SELECT c.name FROM c
         WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.name = c.name AND u.owner = c.owner))`,
      [claims.map((c) => c.name), claims.map((c) => c.owner), ttl],
    );
    const renewed = new Map<string, number>();
    const current = new Map<string, { owner: string; expiresAt: number }>();
    for (const r of rows) {
      const owner = String(r.owner);
      if (r.renewed) renewed.set(JSON.stringify([r.name, owner]), Number(r.ms));
      else current.set(String(r.name), { owner, expiresAt: Number(r.ms) });
    }
    return claims.map((c): RenewResult => {
      const ms = renewed.get(JSON.stringify([c.name, c.owner]));
      if (ms !== undefined)
        return { kind: 'renewed', lease: { name: c.name, owner: c.owner, expiresAt: ms } };
      return notRenewed(c, current.get(c.name));
    });
  }

  async release(name: string, owner: string): Promise<boolean> {
    checkOwner(owner);
    const res = await this.query(`DELETE FROM ${this.l} WHERE name = $1 AND owner = $2`, [name, owner]);
    return (res.rowCount ?? 0) > 0;
  }

  async lease(name: string): Promise<Lease | undefined> {
    const { rows } = await this.query(
      `SELECT owner, ${MS} AS ms FROM ${this.l} WHERE name = $1 AND expires_at > clock_timestamp()`,
      [name],
    );
    return rows.length ? { name, owner: String(rows[0].owner), expiresAt: Number(rows[0].ms) } : undefined;
  }

  /** One statement per batch: the columns go as arrays through unnest. */
  async savePeers(name: string, peers: readonly StoredPeer[], options: SaveOptions = {}): Promise<void> {
    for (const peer of peers) checkPeer(peer);
    const owner = options.owner;
    if (owner !== undefined) checkOwner(owner);
    if (peers.length === 0) return;
    // The last of two entries for one key wins (ON CONFLICT cannot touch a row twice).
    const last = new Map<bigint, StoredPeer>();
    for (const x of peers) last.set(peerKey(x.kind, x.id), x);
    const rows = [...last];
    const col = <T>(f: (x: StoredPeer) => T) => rows.map(([, x]) => f(x));
    // Fenced: the rows come only if the lease row is this owner's, locked against a
    // takeover until the insert commits (as save() does).
    const held =
      owner === undefined
        ? ''
        : `WITH held AS (SELECT 1 FROM ${this.l} WHERE name = $1 AND owner = $13 FOR SHARE) `;
    const res = await this.query(
      `${held}INSERT INTO ${this.p} (name, key, ${PEER_COLS})
       SELECT $1, u.* FROM unnest($2::bigint[], $3::smallint[], $4::bigint[], $5::bigint[], $6::boolean[],
         $7::text[], $8::text[], $9::boolean[], $10::bigint[], $11::integer[], $12::bigint[]) AS u${owner === undefined ? '' : ', held'}
       ON CONFLICT (name, key) DO UPDATE SET kind = excluded.kind, id = excluded.id,
         access_hash = excluded.access_hash, min = excluded.min, username = excluded.username,
         phone = excluded.phone, bot = excluded.bot, seen_key = excluded.seen_key,
         seen_msg = excluded.seen_msg, updated_at = excluded.updated_at`,
      [
        name,
        rows.map(([k]) => k.toString()),
        col((x) => KINDS.indexOf(x.kind)),
        col((x) => x.id.toString()),
        col((x) => x.accessHash?.toString() ?? null),
        col((x) => x.min),
        col((x) => x.username ?? null),
        col((x) => x.phone ?? null),
        col((x) => x.bot ?? null),
        col((x) => x.seenIn?.key.toString() ?? null),
        col((x) => x.seenIn?.msgId ?? null),
        col((x) => Math.trunc(x.updatedAt)),
        ...(owner === undefined ? [] : [owner]),
      ],
    );
    if (owner !== undefined && !res.rowCount) throw await this.leaseError(this.pool, name, owner);
  }

  async loadPeers(name: string, keys: readonly bigint[]): Promise<Map<bigint, StoredPeer>> {
    const out = new Map<bigint, StoredPeer>();
    if (keys.length === 0) return out;
    const { rows } = await this.query(
      `SELECT ${PEER_COLS} FROM ${this.p} WHERE name = $1 AND key = ANY($2::bigint[])`,
      [name, keys.map(String)],
    );
    for (const r of rows) {
      const peer = peerOfRow(r);
      out.set(peerKey(peer.kind, peer.id), peer);
    }
    return out;
  }

  async peerByUsername(name: string, username: string): Promise<StoredPeer | undefined> {
    const { rows } = await this.query(
      `SELECT ${PEER_COLS} FROM ${this.p} WHERE name = $1 AND username = $2 LIMIT 1`,
      [name, username],
    );
    return rows.length ? peerOfRow(rows[0]) : undefined;
  }

  async countPeers(name: string): Promise<number> {
    const { rows } = await this.query(`SELECT count(*)::int AS n FROM ${this.p} WHERE name = $1`, [name]);
    return Number(rows[0].n);
  }

  async deletePeers(name: string): Promise<number> {
    const res = await this.query(`DELETE FROM ${this.p} WHERE name = $1`, [name]);
    return res.rowCount ?? 0;
  }

  async close(): Promise<void> {
    if (this.ownPool) await this.pool.end();
  }
}
